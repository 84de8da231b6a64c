"""SQL in one place: quoting, exact money, the engines' differing spellings."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from custseg.errors import UserError
from custseg.sql import DUCKDB, SPARK, java_datetime_pattern, sql_ident, sql_literal, timestamp


def test_quoting() -> None:
    assert sql_literal("O'Brien") == "'O''Brien'"
    assert sql_ident('a "b"') == '"a ""b"""'
    assert timestamp(dt.datetime(2011, 12, 10, 12, 50)) == "TIMESTAMP '2011-12-10 12:50:00'"


def test_money_in_millionths_is_exact_in_duckdb() -> None:
    con = duckdb.connect()
    amounts = [0.1] * 10 + [0.2] * 5 + [1234.565, -0.3]
    con.execute("CREATE TABLE t AS SELECT unnest($1::DOUBLE[]) AS a", [amounts])
    micro = DUCKDB.micro("a")
    total = con.execute(f"SELECT {DUCKDB.money(DUCKDB.exact_sum(micro))} FROM t").fetchone()
    assert total == (1236.265,)  # summed in doubles: 1236.2649999999999
    assert con.execute(f"SELECT {DUCKDB.micro('1e13')}").fetchone() == (None,)  # does not fit
    month = con.execute(f"SELECT {DUCKDB.month(timestamp(dt.datetime(2011, 3, 9, 12)))}")
    assert month.fetchone() == (dt.datetime(2011, 3, 1),)
    between = DUCKDB.months_between("DATE '2012-02-01'", "DATE '2011-11-01'")
    assert con.execute(f"SELECT {between}").fetchone() == (3,)


def test_the_spark_spellings() -> None:
    assert SPARK.exact_sum("m") == "sum(CAST(m AS DECIMAL(38, 0)))"
    assert SPARK.parse_time("d", "%d/%m/%Y %H:%M") == "try_to_timestamp(d, 'dd/MM/yyyy HH:mm')"
    assert SPARK.full_match("t", "[0-9]+") == "regexp_like(t, '^(?:[0-9]+)$')"
    # A user's pattern is a quoted literal: backslashes and quotes survive each parser.
    assert SPARK.full_match("t", r"R\d'") == r"regexp_like(t, '^(?:R\\d\')$')"
    assert DUCKDB.full_match("t", r"R\d'") == r"regexp_full_match(t, 'R\d''')"
    assert java_datetime_pattern("%Y-%m-%dT%H:%M:%S") == "yyyy-MM-dd'T'HH:mm:ss"
    with pytest.raises(UserError, match="%j is not supported with --engine spark"):
        java_datetime_pattern("%j")
