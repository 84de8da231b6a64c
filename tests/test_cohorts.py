"""Cohort and persona retention: the engine's counts, by hand and on the real data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from custseg.cohorts import (
    cohort_counts_sql,
    cohort_table,
    headline,
    last_complete_month,
    persona_counts_sql,
    persona_retention,
    starts_sql,
)
from custseg.config import load_settings
from custseg.pipeline import segment


def _monthly(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer", "month", "revenue"])
    frame["month"] = pd.to_datetime(frame["month"])
    frame["micro"] = (frame.pop("revenue") * 1_000_000).round().astype("int64")
    return frame


def _cohorts(
    monthly: pd.DataFrame, last: dt.datetime, personas: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The engine's counting (DuckDB here) and the finishing, as the session runs them."""
    import duckdb

    con = duckdb.connect()
    con.register("monthly", monthly)
    con.execute(f"CREATE TABLE starts AS {starts_sql('monthly')}")
    table = cohort_table(con.execute(cohort_counts_sql("monthly", "starts")).df(), last)
    curves = pd.DataFrame()
    if personas is not None:
        con.register("personas", personas)
        through = last_complete_month(last)
        query = persona_counts_sql("monthly", "starts", "personas", through=through)
        curves = persona_retention(con.execute(query).df(), through)
    return table, curves


def test_cohort_table_by_hand() -> None:
    # a: Jan, skips Feb, back in Mar; b: Jan and Feb; c: first purchase in the last month (Mar).
    monthly = _monthly(
        [
            ("a", "2011-01-01", 10.0),
            ("a", "2011-03-01", 5.0),
            ("b", "2011-01-01", 20.0),
            ("b", "2011-02-01", 7.0),
            ("c", "2011-03-01", 3.0),
        ]
    )
    personas = pd.DataFrame({"customer": ["a", "b", "c"], "persona": ["X", "X", "Y"]})
    table, curves = _cohorts(monthly, dt.datetime(2011, 3, 9, 12, 0), personas)  # March: partial
    assert table.to_dict("records") == [
        {"cohort": "2011-01", "month_index": 0, "month": "2011-01", "customers": 2,
         "cohort_size": 2, "retention": 1.0, "revenue": 30.0, "partial": False},
        {"cohort": "2011-01", "month_index": 1, "month": "2011-02", "customers": 1,
         "cohort_size": 2, "retention": 0.5, "revenue": 7.0, "partial": False},
        {"cohort": "2011-01", "month_index": 2, "month": "2011-03", "customers": 1,
         "cohort_size": 2, "retention": 0.5, "revenue": 5.0, "partial": True},
        {"cohort": "2011-03", "month_index": 0, "month": "2011-03", "customers": 1,
         "cohort_size": 1, "retention": 1.0, "revenue": 3.0, "partial": True},
    ]  # fmt: skip
    full, _ = _cohorts(monthly, dt.datetime(2011, 3, 31, 18, 0))
    assert not full["partial"].any()  # data up to the month's last day: complete
    x = curves[curves["persona"] == "X"].set_index("month_index")
    # March is partial: the curves count whole months, January and February. Both X
    # customers started in January: observable for months 0..1; a's March return is not
    # counted (it would be month 2, seen only in 9 days).
    assert x.loc[1, ["customers", "observable", "retention"]].tolist() == [1, 2, 0.5]
    assert 2 not in x.index and set(curves["through_month"]) == {"2011-02"}
    # c started in the partial month: no whole month of theirs, no curve.
    assert (curves["persona"] == "Y").sum() == 0
    _, whole = _cohorts(monthly, dt.datetime(2011, 3, 31, 18, 0), personas)  # March complete
    x = whole[whole["persona"] == "X"].set_index("month_index")
    assert x.loc[2, ["customers", "observable", "retention"]].tolist() == [1, 2, 0.5]
    assert whole.loc[whole["persona"] == "Y", "observable"].tolist() == [1]


def test_months_without_a_buyer_read_zero_not_blank() -> None:
    # a and b start in January; nobody of theirs buys in February, a comes back in March.
    # d (persona Z) buys once in January and never again: Z's curve is 0%, not missing.
    monthly = _monthly(
        [
            ("a", "2011-01-01", 10.0),
            ("a", "2011-03-01", 5.0),
            ("b", "2011-01-01", 20.0),
            ("d", "2011-01-01", 4.0),
            ("e", "2011-02-01", 1.0),
        ]
    )
    personas = pd.DataFrame({"customer": ["a", "b", "d", "e"], "persona": ["X", "X", "Z", "X"]})
    table, curves = _cohorts(monthly, dt.datetime(2011, 3, 31, 18, 0), personas)
    rows = table[["cohort", "month_index", "month", "customers", "retention", "revenue"]]
    assert rows.values.tolist() == [
        ["2011-01", 0, "2011-01", 3, 1.0, 34.0],
        ["2011-01", 1, "2011-02", 0, 0.0, 0.0],
        ["2011-01", 2, "2011-03", 1, 0.3333, 5.0],
        ["2011-02", 0, "2011-02", 1, 1.0, 1.0],
        ["2011-02", 1, "2011-03", 0, 0.0, 0.0],
    ]
    assert set(table["cohort_size"]) == {3, 1} and not table["partial"].any()
    by = curves.set_index(["persona", "month_index"])
    # X: a and b (from January, seen 3 months) and e (from February, seen 2).
    assert by.loc["X", ["customers", "observable"]].values.tolist() == [[3, 3], [0, 3], [1, 2]]
    assert by.loc["Z", ["customers", "observable", "retention"]].values.tolist() == [
        [1, 1, 1.0],
        [0, 1, 0.0],
        [0, 1, 0.0],
    ]


@pytest.mark.realdata
def test_real_cohorts_equal_an_independent_computation(real_parquet: Path) -> None:
    result = segment(real_parquet, load_settings(None, {"model": {"k": 3, "k_max": 3}}))
    raw = pd.read_parquet(real_parquet)
    kept = raw[
        raw["CustomerID"].notna()
        & ~raw["InvoiceNo"].astype(str).str.startswith("C")
        & (raw["Quantity"] > 0)
        & (raw["UnitPrice"] > 0)
    ].copy()
    kept["period"] = kept["InvoiceDate"].dt.to_period("M")
    kept["cohort"] = kept.groupby("CustomerID")["period"].transform("min")
    kept["index"] = (kept["period"] - kept["cohort"]).apply(lambda d: d.n)
    expected = (
        kept.groupby([kept["cohort"].astype(str), "index"])["CustomerID"].nunique().rename("n")
    )
    ours = result.cohorts.set_index(["cohort", "month_index"])["customers"]
    assert ours.to_dict() == expected.to_dict()
    first = result.cohorts[(result.cohorts["cohort"] == "2010-12")]
    assert first.iloc[0]["cohort_size"] == 885
    assert first.set_index("month_index").loc[1, "customers"] == 324
    # December 2011 has 9 days of data: its cells are partial, nothing else is; the persona
    # curves stop at November (no drop at the end that is only the data stopping).
    assert set(result.cohorts.loc[result.cohorts["partial"], "month"]) == {"2011-12"}
    curves = result.persona_retention
    assert set(curves["through_month"]) == {"2011-11"} and curves["month_index"].max() == 11


def test_headline_says_the_mean_month_after_or_that_there_is_none() -> None:
    table = pd.DataFrame(
        {
            "cohort": ["2011-01", "2011-01", "2011-02", "2011-02"],
            "month_index": [0, 1, 0, 1],
            "retention": [1.0, 0.25, 1.0, 0.5],
        }
    )
    assert headline(table) == (
        "2 monthly cohorts; on average 38% of a cohort buys again the month after its first "
        "purchase."
    )  # (0.25 + 0.5) / 2 = 0.375
    # Data of one month: no cohort has a month after (the report said "nan%").
    one = table[table["month_index"] == 0].head(1)
    assert headline(one) == "1 monthly cohort; the data ends before any cohort's second month."
    # A partial month (the data stops on its 9th) is left out of the mean: 0.25 alone.
    table["partial"] = [False, False, False, True]
    assert headline(table) == (
        "2 monthly cohorts; on average 25% of a cohort buys again the month after its first "
        "purchase."
    )
    table["partial"] = [False, True, False, False]
    assert headline(table.head(2)) == (
        "1 monthly cohort; the data ends before any cohort's second full month."
    )
