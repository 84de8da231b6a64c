import datetime as dt
from pathlib import Path

import pytest

from custseg.cleaning import RULES
from custseg.config import CleaningConfig, Settings
from custseg.errors import UserError
from custseg.session import Session


def _clean(
    path: Path, switches: CleaningConfig | None = None, as_of: dt.datetime | None = None
) -> tuple[Session, object]:
    session = Session(path, Settings(cleaning=switches or CleaningConfig(), as_of=as_of))
    return session, session.cleaning()


def test_counts_by_first_rule(tiny_csv: Path) -> None:
    _, result = _clean(tiny_csv)
    assert result.rows_read == 12
    assert result.rows_kept == 6
    assert result.dropped == {
        "missing_customer_id": 2,
        "suppressed": 0,
        "cancelled_invoice": 1,
        "cancelled_order": 0,
        "other_currency": 0,
        "non_product": 0,
        "non_positive_quantity": 2,
        "non_positive_price": 1,
        "invalid_date": 0,
        "invalid_quantity": 0,
        "invalid_price": 0,
        "invalid_amount": 0,
        "after_as_of": 0,
        "duplicate_row": 0,
        "net_non_positive_customer": 0,
    }
    assert result.rows_kept + sum(result.dropped.values()) == result.rows_read
    assert result.as_of == dt.datetime(2011, 1, 11, 9, 0)
    assert result.as_of_source == "last kept purchase + 1 day"
    assert [r["reason"] for r in result.rules] == [r.reason for r in RULES]
    applied = {r["reason"]: r["applied"] for r in result.rules}
    assert applied["duplicate_row"] is False and applied["cancelled_invoice"] is True
    assert applied["net_non_positive_customer"] is False
    # C1003 (5.0) and 1009 (2 x 4.0) are returns of customers 1 and 4; 1006 (quantity 0) is not.
    assert result.returns["mode"] == "drop"
    assert result.returns["return_lines"] == 2
    assert result.returns["return_value"] == 13.0
    assert result.returns["customers_with_returns"] == 2
    assert result.returns["purchases"] == result.revenue == 41.5
    assert result.examples == {}


def test_returns_after_the_as_of_date_are_not_weighed_against_earlier_purchases(
    tiny_csv: Path,
) -> None:
    # C1003 (01-11 09:00) comes after the as-of date: only 1009 (2 x 4.0, customer 4) is a
    # return of the snapshot. C1003 was counted against purchases kept before it (on the
    # real data as of 2011-06-01: 8,905 lines, 18.3% of the purchases; now 3,590, 6.4%).
    _, result = _clean(tiny_csv, as_of=dt.datetime(2011, 1, 11))
    assert result.dropped["cancelled_invoice"] == 1  # still dropped by its rule
    assert result.returns["return_lines"] == 1
    assert result.returns["return_value"] == 8.0
    assert result.returns["customers_with_returns"] == 1
    assert result.returns["purchases"] == result.revenue == 41.5
    assert str(result.returns["effect"]).startswith("1 return lines worth 8.00 (19.3% of")


def test_returns_netted_against_purchases(tiny_csv: Path) -> None:
    session, result = _clean(tiny_csv, switches=CleaningConfig(returns="net"))
    # C1003 is kept as a return of customer 1; customer 4 only returned (1009): left out.
    assert result.dropped["cancelled_invoice"] == 0
    assert result.dropped["non_positive_quantity"] == 1  # 1006, quantity 0
    assert result.dropped["net_non_positive_customer"] == 1
    assert result.rows_kept == 7
    assert result.rows_kept + sum(result.dropped.values()) == result.rows_read == 12
    assert result.returns["return_lines"] == 1
    assert result.returns["return_value"] == 5.0
    assert result.returns["purchases"] == 41.5
    assert result.returns["net_revenue"] == result.revenue == 36.5
    assert result.returns["customers_dropped"] == 1
    assert "subtracted from the spend of 1 customers" in str(result.returns["effect"])
    # The return is neither an order nor the last purchase: as-of is 01-10 09:00 + 1 day.
    assert result.as_of == dt.datetime(2011, 1, 11, 9, 0)
    assert result.orders == 4
    rfm = session.rfm()
    first = rfm.set_index("customer_id").loc["1"]
    assert (first["recency_days"], first["frequency"], first["monetary"]) == (1, 2, 13.0)
    assert list(rfm["customer_id"]) == ["1", "2", "3"]


def test_drop_duplicates_counts_one_row(tiny_csv: Path) -> None:
    _, result = _clean(tiny_csv, switches=CleaningConfig(drop_duplicates=True))
    assert result.rows_kept == 5
    assert result.dropped["duplicate_row"] == 1


def test_as_of_option_drops_later_rows(tiny_csv: Path) -> None:
    session, result = _clean(tiny_csv, as_of=dt.datetime(2011, 1, 9, 12, 0))
    # 1002 (01-10 09:00) and both 1008 lines (at exactly 01-09 12:00) are at or after it.
    assert result.dropped["after_as_of"] == 3
    assert result.rows_kept == 3
    assert result.as_of_source == "option"
    assert result.last_purchase == dt.datetime(2011, 1, 5, 12, 0)
    # Customer 2's one order (01-05 12:00) is 4 days before the as-of date.
    assert session.rfm().to_dict("records")[1] == {
        "customer_id": "2",
        "recency_days": 4,
        "frequency": 1,
        "monetary": 7.5,
    }
    assert session.scans == 1


def test_no_rows_left_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
        "C1,1,2011-01-01 10:00:00,1.0,5\n"
        "C2,1,2011-01-01 10:00:00,1.0,5\n"
        "3,1,2011-01-01 10:00:00,1.0,\n",
        encoding="utf-8",
    )
    with pytest.raises(
        UserError,
        match=r"0 valid purchases .* 3 rows \(1 missing customer id, 2 cancelled invoice\)",
    ):
        _clean(path)


def test_unparseable_values_are_counted_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "messy.csv"
    path.write_text(
        "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
        "1,2,2011-01-01 10:00:00,1.5,7\n"
        "2,N/A,2011-01-01 10:00:00,1.5,7\n"
        "3,1,not a date,1.5,7\n"
        "4,1,2011-01-02 10:00:00,£6.95,7\n"
        "5,1,2011-01-02 10:00:00,inf,7\n"
        "6,1,2011-01-02 10:00:00,1e308,7\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError) as stopped:
        _clean(path)
    # 3 of the 4 rows that reach invalid_price break it: the run stops, naming two values.
    assert str(stopped.value) == (
        f"{path}: the rule invalid_price drops 3 of the 4 rows that reach it (75%); e.g. "
        "UnitPrice '£6.95' and 'inf'. The data may be read wrong: --decimal reads another "
        "separator, --price-col names the column; --allow-large-drops goes on as it is."
    )
    session, result = _clean(path, CleaningConfig(allow_large_drops=True))
    # Each under its own reason; 1e308 is finite but far beyond any purchase: invalid too.
    assert result.dropped["invalid_quantity"] == 1
    assert result.dropped["invalid_date"] == 1
    assert result.dropped["invalid_price"] == 3
    assert result.rows_kept == 1
    assert result.examples["invalid_quantity"] == [
        {
            "CustomerID": "7",
            "InvoiceNo": "2",
            "InvoiceDate": "2011-01-01 10:00:00",
            "Quantity": "N/A",
            "UnitPrice": "1.5",
        }
    ]
    assert [e["UnitPrice"] for e in result.examples["invalid_price"]] == ["£6.95", "inf", "1e308"]
    assert result.examples["invalid_date"][0]["InvoiceDate"] == "not a date"
    assert session.rfm()["monetary"].tolist() == [3.0]
    # The examples of invalid rows take a second pass over the lines (only when there are any).
    assert session.scans == 2


SUPERSTORE_LIKE = (
    "Order ID,Customer ID,Order Date,Quantity,Price\n"
    "CA-2016-152156,1,2016-11-08,2,10.0\n"  # an order, though its id starts with C
    "CA-2016-152156,1,2016-11-08,1,5.0\n"
    "US-2015-108966,2,2015-10-11,1,7.5\n"
    "C536379,2,2015-10-12,1,7.5\n"  # Online Retail's cancellation: C and digits
    "CANCEL-7,3,2017-01-02,3,1.0\n"  # C, but not C and digits: an order
    "X99,3,2017-01-02,1,4.0\n"
)


def test_cancellations_follow_the_convention_not_the_first_letter(tmp_path: Path) -> None:
    path = tmp_path / "superstore.csv"
    path.write_text(SUPERSTORE_LIKE)
    # A plain order table has no cancellation convention: every id is an order.
    session, result = _clean(path)
    assert session.input.mapping.layout == "orders"
    assert result.dropped["cancelled_invoice"] == 0
    assert {r["reason"]: r["applied"] for r in result.rules}["cancelled_invoice"] is False
    assert session.rfm().set_index("customer_id")["monetary"].to_dict() == {
        "1": 25.0,
        "2": 15.0,
        "3": 7.0,
    }
    # Online Retail's convention named: C and digits.
    session, result = _clean(path, CleaningConfig(cancelled_pattern="C[0-9]+"))
    assert result.dropped["cancelled_invoice"] == 1  # C536379 only
    assert result.rows_kept == 5
    rfm = session.rfm().set_index("customer_id")
    # customer 1: one order (2 x 10 + 5); 2: US-2015-108966; 3: CANCEL-7 and X99.
    assert rfm["frequency"].to_dict() == {"1": 1, "2": 1, "3": 2}
    assert rfm["monetary"].to_dict() == {"1": 25.0, "2": 7.5, "3": 7.0}
    # Another convention: ids of X and digits are the cancellations, C536379 an order.
    session, result = _clean(path, CleaningConfig(cancelled_pattern="X[0-9]+"))
    assert result.dropped["cancelled_invoice"] == 1
    assert session.rfm().set_index("customer_id")["monetary"].to_dict() == {
        "1": 25.0,
        "2": 15.0,
        "3": 3.0,
    }


def test_a_pattern_that_is_not_a_regular_expression_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "superstore.csv"
    path.write_text(SUPERSTORE_LIKE)
    with pytest.raises(UserError, match=r"--cancelled-pattern: 'C\[' is not a regular expression"):
        from custseg.config import load_settings

        load_settings(None, {"cleaning": {"cancelled_pattern": "C["}})
    # Python reads a lookahead; DuckDB's RE2 does not: refused before the scan.
    with pytest.raises(UserError, match=r"is not a regular expression duckdb reads \(.*perl"):
        _clean(path, CleaningConfig(cancelled_pattern="C(?=[0-9])[0-9]+"))


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [("C[0-9]+", "C"), ("CA-[0-9]+", "CA"), ("Cx?", "C"), ("AB*", "A"), ("A|B", ""), ("[C]1", "")],
)
def test_the_like_prefilter_keeps_every_match(pattern: str, prefix: str) -> None:
    from custseg.staging import _literal_prefix

    assert _literal_prefix(pattern) == prefix


def test_returns_share_says_what_it_is_of() -> None:
    from custseg.cleaning import returns_summary

    common = {"return_lines": 3, "customers_with_returns": 1, "customers_dropped": 0}
    small = returns_summary(CleaningConfig(), {}, return_value=5.0, purchases=100.0, **common)
    assert "(5.0% of the value of kept purchases)" in small["effect"]
    large = returns_summary(CleaningConfig(), {}, return_value=503.0, purchases=100.0, **common)
    assert "(5.0 times the value of kept purchases)" in large["effect"]
    assert "%" not in large["effect"]
