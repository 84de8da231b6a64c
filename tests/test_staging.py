"""Staging: the canonical columns from typed and text columns alike, on DuckDB."""

from __future__ import annotations

import datetime as dt

import duckdb

from custseg.io.columns import ColumnMapping
from custseg.staging import staging_sql

MAPPING = ColumnMapping(customer="c", date="d", invoice="i", quantity="q", price="p", amount=None)


def _staged(rows: str, types: dict[str, str], **options: object) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE raw AS SELECT * FROM (VALUES {rows}) AS t(c, i, d, q, p)")
    query = staging_sql(MAPPING, types, relation="raw", **options)  # type: ignore[arg-type]
    return con.execute(
        f"SELECT cs_customer, cs_invoice, cs_cancelled, cs_ts, cs_quantity, cs_price, "
        f"cs_amount FROM ({query})"
    ).fetchall()


def test_text_columns() -> None:
    text = dict.fromkeys("cidqp", "VARCHAR")
    rows = _staged(
        "(' 12 ', 'C7', '40513.5', '2', '1,5'), ('', '', '2011-01-02 10:00:00', 'x', '3')",
        text,
        decimal_comma=True,
    )
    assert rows[0] == ("12", "C7", True, dt.datetime(2010, 12, 1, 12, 0), 2.0, 1.5, 3.0)
    # An empty id is no id; 'x' is no quantity; '3' (no comma) is still a number.
    assert rows[1] == (None, None, False, dt.datetime(2011, 1, 2, 10, 0), None, 3.0, None)


def test_whole_number_ids_written_with_a_decimal_comma_are_the_same_customers() -> None:
    # A customer id column written by a spreadsheet with decimal commas: 17850.0 as
    # "17850,0". It is the customer "17850", as a file with decimal points says.
    text = dict.fromkeys("cidqp", "VARCHAR")
    rows = "('17850,0', 'A', '2011-01-02', '1', '1'), (' 17850 ', 'B', '2011-01-02', '1', '1')"
    rows += ", ('12,5', 'C', '2011-01-02', '1', '1'), ('AB,0', 'D', '2011-01-02', '1', '1')"
    ids = [row[0] for row in _staged(rows, text, decimal_comma=True)]
    assert ids == ["17850", "17850", "12,5", "AB,0"]  # only whole numbers lose ",0"
    # Without decimal commas a comma in an id is part of it.
    assert _staged(rows, text)[0][0] == "17850,0"


def test_typed_columns_and_day_first_text_dates() -> None:
    types = {"c": "DOUBLE", "i": "BIGINT", "d": "VARCHAR", "q": "BIGINT", "p": "DOUBLE"}
    rows = _staged(
        "(13085.0, 5, '13/01/2011 10:00', 3, 2.5), ('NaN'::DOUBLE, 6, '12/31/2011', 1, 1.0)",
        types,
        date_format="%d/%m/%Y %H:%M",
    )
    assert rows[0] == (13085.0, 5, False, dt.datetime(2011, 1, 13, 10, 0), 3.0, 2.5, 7.5)
    # NaN ids are missing; a date in the wrong layout is no date; numeric invoices are
    # never cancellations.
    assert rows[1][:4] == (None, 6, False, None)


def test_cancelled_sql_tests_the_pattern_only_behind_its_prefix() -> None:
    from custseg.staging import cancelled_sql

    sql = cancelled_sql("i", "C[0-9]+")
    assert sql.startswith("CASE WHEN i LIKE 'C%' THEN regexp_full_match(i, 'C[0-9]+')")
    con = duckdb.connect()
    got = {
        text: con.execute(f"SELECT {sql} FROM (SELECT CAST(? AS VARCHAR) AS i)", [text]).fetchone()
        for text in ("C536379", "C", "CX1", "536365", "c536379", None)
    }
    assert got == {
        "C536379": (True,),
        "C": (False,),
        "CX1": (False,),
        "536365": (False,),
        "c536379": (False,),
        None: (False,),
    }
