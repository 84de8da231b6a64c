"""Stock codes that are not products: counted by default, left out with --drop-non-product."""

from pathlib import Path

import duckdb
import pytest

from custseg.config import CleaningConfig, Settings
from custseg.products import NON_PRODUCT_CODES
from custseg.session import Session

LINES = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "1,85123A,HOLDER,2,2011-01-01 10:00,2.5,7,UK\n"
    "1,POST,POSTAGE,1,2011-01-01 10:00,18.0,7,UK\n"
    "2,22423,CAKESTAND,1,2011-01-02 10:00,12.75,8,UK\n"
    "2,gift_0001_20,VOUCHER,1,2011-01-02 10:00,16.7,8,UK\n"
    "3,dot,DOTCOM POSTAGE,1,2011-01-03 10:00,5.0,9,UK\n"
    "3,84029G,FLAG,3,2011-01-03 10:00,1.0,9,UK\n"
)


def test_counted_and_kept_by_default(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text(LINES)
    session = Session(path, Settings())
    cleaned = session.cleaning()
    assert cleaned.rows_kept == 6
    # POST 18.0 + voucher 16.7 + dot 5.0 (codes compared in upper case) of 60.45 kept.
    assert cleaned.non_product["lines"] == 3
    assert cleaned.non_product["spend"] == pytest.approx(39.7)
    assert cleaned.non_product["share_of_spend"] == pytest.approx(39.7 / 60.45, abs=1e-6)
    assert cleaned.non_product["left_out"] is False
    assert session.rfm().set_index("customer_id")["monetary"].to_dict() == {
        "7": 23.0,
        "8": pytest.approx(29.45),
        "9": 8.0,
    }


def test_left_out_with_the_option(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text(LINES)
    session = Session(path, Settings(cleaning=CleaningConfig(drop_non_product=True)))
    cleaned = session.cleaning()
    assert cleaned.dropped["non_product"] == 3 and cleaned.rows_kept == 3
    assert cleaned.non_product["left_out"] is True and cleaned.non_product["lines"] == 0
    assert session.rfm().set_index("customer_id")["monetary"].to_dict() == {
        "7": 5.0,
        "8": 12.75,
        "9": 3.0,
    }


def test_no_stock_codes_no_count(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("order_id,customer_id,order_date,amount\n1,a,2024-01-01,5\n2,b,2024-01-02,3\n")
    session = Session(path, Settings())
    assert session.input.mapping.product is None and session.cleaning().non_product == {}


@pytest.mark.realdata
def test_real_data_matches_an_independent_count(real_parquet: Path) -> None:
    cleaned = Session(real_parquet, Settings()).cleaning()
    listed = ", ".join(f"'{c}'" for c in NON_PRODUCT_CODES)
    ((lines, spend),) = duckdb.sql(
        f"SELECT count(*), sum(Quantity * UnitPrice) FROM '{real_parquet}' "
        "WHERE CustomerID IS NOT NULL AND NOT InvoiceNo LIKE 'C%' AND Quantity > 0 "
        f"AND UnitPrice > 0 AND (upper(StockCode) IN ({listed}) "
        "OR upper(StockCode) LIKE 'GIFT\\_0001\\_%' ESCAPE '\\')"
    ).fetchall()
    assert cleaned.non_product["lines"] == lines == 1544
    assert cleaned.non_product["spend"] == pytest.approx(spend, abs=0.01)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("85123A", False),  # starts with a digit: a product, without trimming
        ("1POST", False),
        (" post ", True),  # trimmed and upper-cased
        ("Gift_0001_40", True),
        ("BANK CHARGES", True),
        ("POSTAGE", False),
        ("", False),
        (None, False),
    ],
)
def test_non_product_sql_on_single_codes(code: str | None, expected: bool) -> None:
    from custseg.products import non_product_sql

    query = f"SELECT {non_product_sql('c')} FROM (SELECT CAST(? AS VARCHAR) AS c)"
    assert duckdb.connect().execute(query, [code]).fetchone() == (expected,)
