import datetime as dt
from pathlib import Path

import duckdb

from custseg.cleaning import clean_orders, staging_sql
from custseg.config import ColumnsConfig, CsvConfig
from custseg.features import rfm_sql, rfm_table
from custseg.io import load_orders


def _rfm(path: Path, columns: ColumnsConfig | None = None, **kwargs: object):
    con = duckdb.connect()
    loaded = load_orders(con, path, columns or ColumnsConfig(), CsvConfig())
    types = dict(
        con.execute("SELECT column_name, column_type FROM (DESCRIBE orders_raw)").fetchall()
    )
    con.execute("CREATE VIEW orders_staged AS " + staging_sql(loaded.mapping, types))
    result = clean_orders(con, loaded.mapping, loaded.columns, **kwargs)  # type: ignore[arg-type]
    return rfm_table(con, result.as_of, has_invoice=loaded.mapping.invoice is not None)


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
    table = _rfm(tiny_csv, drop_duplicates=True)
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
    sql = rfm_sql(dt.datetime(2011, 12, 10, 12, 50), has_invoice=True)
    assert "extract(DAY FROM (TIMESTAMP '2011-12-10 12:50:00' - max(cs_ts)))" in sql
    assert "date_diff" not in sql and "epoch" not in sql
