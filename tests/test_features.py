import datetime as dt
from pathlib import Path

import duckdb
import pytest

from custseg.config import CleaningConfig, ColumnsConfig, Settings
from custseg.errors import UserError
from custseg.features import rfm_sql
from custseg.session import Session


def _rfm(path: Path, columns: ColumnsConfig | None = None, switches: CleaningConfig | None = None):
    settings = Settings(columns=columns or ColumnsConfig(), cleaning=switches or CleaningConfig())
    with Session(path, settings) as session:
        return session.rfm()


def test_rfm_hand_computed(tiny_csv: Path) -> None:
    table = _rfm(tiny_csv)
    # as_of 2011-01-11 09:00. Customer 3's last purchase, 01-09 12:00, is 1 day 21 hours
    # earlier: 1 whole day (a calendar-day count would say 2).
    assert table.to_dict("records") == [
        {"customer_id": "1", "recency_days": 1, "frequency": 2, "monetary": 18.0},
        {"customer_id": "2", "recency_days": 5, "frequency": 1, "monetary": 7.5},
        {"customer_id": "3", "recency_days": 1, "frequency": 1, "monetary": 16.0},
    ]


def test_rfm_without_duplicates(tiny_csv: Path) -> None:
    table = _rfm(tiny_csv, switches=CleaningConfig(drop_duplicates=True))
    assert table.set_index("customer_id")["monetary"].to_dict() == {"1": 18.0, "2": 7.5, "3": 8.0}


def test_amount_column_and_no_invoice(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer,date,amount\n"
        "a,2020-03-01 10:00:00,10.5\n"
        "a,2020-03-01 10:00:00,4.5\n"
        "a,2020-03-05 10:00:00,1\n"
        "b,2020-03-02 23:59:00,7\n"
        "b,2020-03-03 00:00:00,-2\n",
        encoding="utf-8",
    )
    table = _rfm(path)
    # No invoice column: each distinct (customer, timestamp) is one order. The negative
    # amount is dropped as non-positive. as_of = 2020-03-06 10:00.
    assert table.to_dict("records") == [
        {"customer_id": "a", "recency_days": 1, "frequency": 2, "monetary": 16.0},
        {"customer_id": "b", "recency_days": 3, "frequency": 1, "monetary": 7.0},
    ]


def test_numeric_ids_sort_numerically(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    rows = [f"{i},{cid},2020-01-0{i} 10:00:00,1,2" for i, cid in enumerate(["100", "9", "20"], 1)]
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + "\n".join(rows) + "\n"
    )
    assert list(_rfm(path)["customer_id"]) == ["9", "20", "100"]


def test_rfm_sql_is_portable_text() -> None:
    sql = rfm_sql("kept", dt.datetime(2011, 12, 10, 12, 50), has_invoice=True)
    assert "extract(DAY FROM (TIMESTAMP '2011-12-10 12:50:00' - max(last)))" in sql
    assert "date_diff" not in sql and "epoch" not in sql
    assert "DISTINCT" not in sql  # orders are counted per customer after a GROUP BY order


def test_day_first_dates_decimal_comma_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text(
        "Invoice;Customer ID;InvoiceDate;Quantity;Price\n"
        "1;7;03/02/2011 10:00;2;1,25\n"
        "2;7;12/02/2011 09:30;1;10,5\n"
        "3;8;13/01/2011 10:00;4;0,5\n"
        "4;9;01/01/2011 10:00;1;1000\n",
        encoding="utf-8",
    )
    from custseg.commands.run import segment
    from custseg.config import load_settings

    settings = load_settings(
        None,
        {"csv": {"date_format": "%d/%m/%Y %H:%M", "decimal": ","}, "model": {"k": 2, "k_max": 2}},
    )
    result = segment(path, settings)
    # as_of = 13 Feb 2011 09:30; customer 8's last purchase was 13 Jan 10:00: 30 days 23.5 h.
    assert result.quality["as_of"] == "2011-02-13T09:30:00"
    assert result.customers[["customer_id", "recency_days", "frequency", "monetary"]].to_dict(
        "records"
    ) == [
        {"customer_id": "7", "recency_days": 1, "frequency": 2, "monetary": 13.0},
        {"customer_id": "8", "recency_days": 30, "frequency": 1, "monetary": 2.0},
        {"customer_id": "9", "recency_days": 42, "frequency": 1, "monetary": 1000.0},
    ]


def test_workbook_sheet_and_online_retail_ii_names(tmp_path: Path) -> None:
    import datetime as dt

    from custseg.commands.run import segment
    from custseg.config import load_settings
    from tests.io import ONLINE_RETAIL_II
    from tests.xlsx import write_xlsx

    header = ONLINE_RETAIL_II
    rows = [
        ["489434", "85048", "x", 12, dt.datetime(2010, 1, 1, 7, 45), 6.95, 13085.0, "UK"],
        ["489435", "22350", "y", 6, dt.datetime(2010, 1, 3, 8, 0), 2.55, 13085.0, "UK"],
        ["C489449", "22087", "z", -12, dt.datetime(2010, 1, 3, 9, 0), 2.55, 16321.0, "UK"],
        ["489450", "22087", "z", 3, dt.datetime(2010, 1, 2, 9, 0), 2.0, 16321.0, "UK"],
        ["489451", "22087", "z", 1, dt.datetime(2009, 12, 25, 9, 0), 4.0, 12000.0, "UK"],
    ]
    path = tmp_path / "ii.xlsx"
    write_xlsx(path, {"Notes": [["hello"]], "Year 2009-2010": [header, *rows]})
    result = segment(
        path,
        load_settings(
            None, {"columns": {"sheet": "Year 2009-2010"}, "model": {"k": 2, "k_max": 2}}
        ),
    )
    assert result.quality["input"]["reader_options"] == {"sheet": "Year 2009-2010"}
    assert result.quality["dropped"]["cancelled_invoice"] == 1
    # Float ids from Excel become "13085"; as_of = 2010-01-04 08:00.
    assert result.customers[["customer_id", "recency_days", "frequency", "monetary"]].to_dict(
        "records"
    ) == [
        {"customer_id": "12000", "recency_days": 9, "frequency": 1, "monetary": 4.0},
        {
            "customer_id": "13085",
            "recency_days": 1,
            "frequency": 2,
            "monetary": 12 * 6.95 + 6 * 2.55,
        },
        {"customer_id": "16321", "recency_days": 1, "frequency": 1, "monetary": 6.0},
    ]
    with pytest.raises(
        UserError,
        match=r"no sheet named 'Sheet9' \(--sheet\); the sheets are 'Notes', 'Year 2009-2010'",
    ):
        segment(path, load_settings(None, {"columns": {"sheet": "Sheet9"}}))


def test_excel_serial_dates(tmp_path: Path) -> None:
    path = tmp_path / "serial.csv"
    # 40513.3513888889 is 2010-12-01 08:26; 40521.5 is 2010-12-09 12:00; -5 is not a date.
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,7,40513.3513888889,1,2\n2,8,40521.5,1,3\n3,9,-5,1,4\n",
        encoding="utf-8",
    )
    with Session(path, Settings()) as session:
        result = session.cleaning()
    assert result.dropped["invalid_date"] == 1
    assert result.first_purchase == dt.datetime(2010, 12, 1, 8, 26)
    assert result.last_purchase == dt.datetime(2010, 12, 9, 12, 0)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["13/01/2011 10:00", "03/02/2011 09:30"], "%d/%m/%Y %H:%M"),
        (["01/13/2011 10:00", "02/03/2011 09:30"], "%m/%d/%Y %H:%M"),
        (["2011-01-13 10:00:00", "2011-02-03 09:30:00"], None),
    ],
)
def test_unambiguous_text_dates_are_detected(
    tmp_path: Path, dates: list[str], expected: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    from custseg.commands.run import segment
    from custseg.config import load_settings

    path = tmp_path / "d.csv"
    lines = [
        f"{i},{c},{d},1,{p}"
        for i, (c, d, p) in enumerate(zip("abc", [*dates, dates[0]], [1, 2, 50], strict=True))
    ]
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + "\n".join(lines) + "\n"
    )
    result = segment(path, load_settings(None, {"model": {"k": 2, "k_max": 2}}))
    options = result.quality["input"]["reader_options"]
    assert options.get("date_format") == (f"{expected} (detected)" if expected else None)
    # The log says it too (a day-first file read month-first would be a silent disaster).
    said = f"dates in 'InvoiceDate' read as {expected} (--date-format chooses another)"
    assert (said in caplog.text) == (expected is not None)
    assert result.quality["dropped"]["invalid_date"] == 0
    assert result.quality["last_purchase"] == "2011-02-03T09:30:00"


def test_ambiguous_day_month_is_refused(tmp_path: Path) -> None:
    from custseg.commands.run import segment
    from custseg.config import load_settings

    path = tmp_path / "d.csv"
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,a,03/02/2011 10:00,1,2\n2,b,04/02/2011 10:00,1,2\n3,c,05/01/2011 10:00,1,2\n"
    )
    with pytest.raises(
        UserError,
        match=r"read both day-first and month-first; say which with "
        r"--date-format '%d/%m/%Y %H:%M' or '%m/%d/%Y %H:%M'",
    ):
        segment(path, load_settings(None, {}))


def test_ids_as_text() -> None:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from custseg.features import id_text

    ids = pd.Series([12346.0, 1.5, -3.0, 2.0**60, 0.0, np.nan])
    assert id_text(ids).tolist() == ["12346", "1.5", "-3", "1.152921504606847e+18", "0", "nan"]
    # One text type whatever the input's: number ids and text ids end as the same column
    # type in customers.parquet (object ids were written as Arrow string, text as large_string).
    text = pd.Series(["a", "b"])
    assert id_text(text).tolist() == ["a", "b"]
    whole = pd.Series([12346.0, 7.0], index=[4, 9])
    for made in (id_text(ids), id_text(whole), id_text(text)):
        assert made.dtype == text.astype(str).dtype
    assert id_text(whole).index.tolist() == [4, 9]
    assert str(pa.Table.from_pandas(id_text(whole).to_frame("id")).schema.field("id").type) == (
        str(pa.Table.from_pandas(id_text(text).to_frame("id")).schema.field("id").type)
    )


def _kept_facts(con: duckdb.DuckDBPyConnection, returns: bool) -> str:
    rows = [
        ("A", "1", "2011-01-01 10:00", False, 1_000_000, None),
        ("A", "1", "2011-01-01 10:01", False, 2_000_000, None),  # one order, two minutes
        ("A", "2", "2011-03-01 10:00", False, 5_000_000, None),
        ("A", None, "2011-03-05 10:00", False, 500_000, None),  # no invoice: no order
        ("B", "4", "2011-02-01 10:00", False, 3_000_000, None),
        ("B", "5", "2011-02-02 10:00", False, 1_000_000, "after_as_of"),
    ]
    if returns:
        rows += [
            ("A", "C3", "2011-03-10 10:00", True, -1_500_000, None),
            ("C", "C6", "2011-02-01 10:00", True, -2_000_000, None),  # returns only
        ]
    con.execute(
        "CREATE TABLE kept (customer VARCHAR, invoice VARCHAR, ts TIMESTAMP, ret BOOLEAN, "
        "micro BIGINT, fate VARCHAR)"
    )
    con.executemany("INSERT INTO kept VALUES (?, ?, ?, ?, ?, ?)", rows)
    return "SELECT * FROM kept"


def test_rfm_sql_orders_cutoff_and_net_returns_hand_computed() -> None:
    as_of, cut = dt.datetime(2011, 4, 1), dt.datetime(2011, 2, 15)
    con = duckdb.connect()
    sql = rfm_sql(_kept_facts(con, returns=False), as_of, has_invoice=True, cutoff=cut)
    # A: last purchase 5 Mar 10:00 (26 days 14 h before 1 Apr), orders 1 and 2 (the line
    # without an invoice is spend but no order), 1 + 2 + 5 + 0.5; before 15 Feb: order 1 only,
    # its last line 1 Jan 10:01 (44 days 13 h 59 min before). B's order 5 is after the as-of.
    assert con.execute(sql).fetchall() == [
        ("A", 26, 2, 8.5, 44, 1, 3.0),
        ("B", 58, 1, 3.0, 13, 1, 3.0),
    ]
    con = duckdb.connect()
    sql = rfm_sql(_kept_facts(con, returns=True), as_of, has_invoice=True, net_returns=True)
    # Returns lower the spend but are neither orders nor purchases for recency; C returned
    # only: no recency, no order, negative spend.
    assert con.execute(sql).fetchall() == [
        ("A", 26, 2, 7.0),
        ("B", 58, 1, 3.0),
        ("C", None, 0, -2.0),
    ]
