"""Cohort retention: customers grouped by the month of their first kept purchase.

cohort = month of a customer's first kept purchase; month_index = whole calendar months from
the cohort month to a purchase month; retention = distinct customers of the cohort with a
kept purchase in that month / cohort size. The last calendar month of the data is marked
``partial`` when the data stops before its end, so that a short month is not read as a drop.

The counting is SQL over the spend per customer and month (:func:`custseg.features.monthly_sql`),
run by the engine; only the small tables of counts come back to be finished here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from custseg.sql import DUCKDB, Dialect, timestamp

__all__ = [
    "COHORT_COLUMNS",
    "PERSONA_CURVES",
    "cohort_counts_sql",
    "cohort_table",
    "headline",
    "persona_counts_sql",
    "persona_retention",
    "starts_sql",
]

#: What the per-persona curves are, said under them (report, cohorts.html, dashboard).
PERSONA_CURVES = (
    "Each persona's curve follows its present members back from their first month: "
    "personas are given as of the as-of date, from how customers bought, so the curves "
    "show who the personas are (Champions kept buying), not a retention forecast."
)

COHORT_COLUMNS = [
    "cohort",
    "month_index",
    "month",
    "customers",
    "cohort_size",
    "retention",
    "revenue",
    "partial",
]


def starts_sql(monthly: str) -> str:
    """Return each customer's cohort: (customer, start), the month of the first purchase.

    The session keeps it once for both counting queries: computed inside each of them it was
    built four times (0.2 s each at 100M lines, 1.2M customers).
    """
    return f"SELECT customer, min(month) AS start FROM {monthly} GROUP BY customer"


def cohort_counts_sql(monthly: str, starts: str, dialect: Dialect = DUCKDB) -> str:
    """Count each cohort's buying customers and spend per month index.

    Parameters
    ----------
    monthly : str
        SQL naming the spend per customer and month (customer, month, micro).
    starts : str
        SQL naming each customer's first month (:func:`starts_sql` of ``monthly``).
    dialect : Dialect
        The engine.

    Returns
    -------
    str
        SQL returning cohort_month, month_index, month, customers, cohort_size and revenue
        (an exact sum, as a double).
    """
    between = dialect.months_between("m.month", "s.start")
    return (
        f"SELECT s.start AS cohort_month, {between} AS month_index, min(m.month) AS month, "
        f"count(*) AS customers, max(z.cohort_size) AS cohort_size, "
        f"{dialect.money(dialect.exact_sum('m.micro'))} AS revenue "
        f"FROM {monthly} AS m JOIN {starts} AS s ON m.customer = s.customer "
        f"JOIN (SELECT start, count(*) AS cohort_size FROM {starts} AS f "
        "GROUP BY start) AS z ON z.start = s.start "
        f"GROUP BY s.start, {between}"
    )


def persona_counts_sql(
    monthly: str,
    starts: str,
    personas: str,
    dialect: Dialect = DUCKDB,
    through: dt.datetime | None = None,
) -> str:
    """Count each persona's buying customers per month index, and who could be seen that long.

    Only whole months count: with ``through`` (the first instant of the last complete month)
    the partial month after it is left out, so a curve never ends in a drop that is only
    the data stopping mid-month.

    Parameters
    ----------
    monthly : str
        SQL naming the spend per customer and month.
    starts : str
        SQL naming each customer's first month (:func:`starts_sql` of ``monthly``).
    personas : str
        SQL naming (customer, persona), the customer key as in ``monthly``.
    dialect : Dialect
        The engine.
    through : datetime, optional
        The last month counted (its first instant); default: the data's last month.

    Returns
    -------
    str
        SQL returning persona, month_index, customers (who bought in that month index) and
        observable: the persona's customers whose first month is at least month_index months
        before the last month counted (so that month could be seen at all). Every month
        index some customer of the persona could be seen in has its row, 0 buyers included:
        a persona whose customers never came back has a curve at 0%, not none.
    """
    between = dialect.months_between("m.month", "s.start")
    span = dialect.months_between("l.last_month", "s.start")
    last = (
        f"(SELECT {timestamp(through)} AS last_month)"
        if through is not None
        else f"(SELECT max(month) AS last_month FROM {monthly})"
    )
    counts = (
        f"SELECT p.persona, {between} AS month_index, count(*) AS customers "
        f"FROM {monthly} AS m JOIN {starts} AS s ON m.customer = s.customer "
        f"JOIN {personas} AS p ON p.customer = s.customer CROSS JOIN {last} AS l "
        f"WHERE m.month <= l.last_month GROUP BY p.persona, {between}"
    )
    spans = (
        f"SELECT p.persona, {span} AS span, count(*) AS n FROM {starts} AS s "
        f"JOIN {personas} AS p ON p.customer = s.customer "
        f"CROSS JOIN {last} AS l "
        f"GROUP BY p.persona, {span}"
    )
    # The spans once, named: the grid of month indices and the observable counts read them.
    grid = (
        f"SELECT persona, {dialect.each_up_to('last_index')} AS month_index FROM "
        "(SELECT persona, max(span) AS last_index FROM cs_spans GROUP BY persona) AS p "
        "WHERE last_index >= 0"
    )
    return (
        f"WITH cs_spans AS ({spans}) "
        "SELECT g.persona, g.month_index, coalesce(max(c.customers), 0) AS customers, "
        "coalesce(sum(s.n), 0) AS observable "
        f"FROM ({grid}) AS g LEFT JOIN ({counts}) AS c "
        "ON c.persona = g.persona AND c.month_index = g.month_index "
        "LEFT JOIN cs_spans AS s ON s.persona = g.persona AND s.span >= g.month_index "
        "GROUP BY g.persona, g.month_index"
    )


def cohort_table(counts: pd.DataFrame, last_purchase: dt.datetime) -> pd.DataFrame:
    """Finish the cohort counts into cohorts.csv: retention, partial month, labels, order.

    Parameters
    ----------
    counts : pandas.DataFrame
        What :func:`cohort_counts_sql` returns.
    last_purchase : datetime
        The last kept purchase; its month is partial unless it is the month's last day.

    Returns
    -------
    pandas.DataFrame
        cohort (YYYY-MM), month_index, month (YYYY-MM), customers, cohort_size, retention,
        revenue, partial; sorted by cohort then month_index. Every month from a cohort's
        first to the data's last has its row: a month nobody of the cohort bought in reads
        0%, not blank.
    """
    table = _every_month(counts)
    table["month_index"] = table["month_index"].astype("int64")
    table["customers"] = table["customers"].astype("int64")
    table["cohort_size"] = table["cohort_size"].astype("int64")
    table["retention"] = (table["customers"] / table["cohort_size"]).round(4)
    end = pd.Timestamp(last_purchase)
    last_month = end.to_period("M")
    complete = end.normalize() == (end.to_period("M").end_time.normalize())
    month = pd.to_datetime(table["month"])
    table["partial"] = (month.dt.to_period("M") == last_month) & (not complete)
    table["cohort"] = pd.to_datetime(table["cohort_month"]).dt.strftime("%Y-%m")
    table["month"] = month.dt.strftime("%Y-%m")
    table["revenue"] = table["revenue"].astype("float64").round(2)
    out: pd.DataFrame = table.sort_values(["cohort", "month_index"])[COHORT_COLUMNS].reset_index(
        drop=True
    )
    return out


def _every_month(counts: pd.DataFrame) -> pd.DataFrame:
    """Add the months of each cohort in which none of its customers bought (0 customers)."""
    if counts.empty:
        empty: pd.DataFrame = counts.copy()
        return empty
    start = pd.to_datetime(counts["cohort_month"]).dt.to_period("M")
    last = pd.to_datetime(counts["month"]).dt.to_period("M").max()
    sizes = counts.assign(first=start).groupby("first", sort=True)["cohort_size"].max()
    rows = [
        (first.to_timestamp(), index, (first + index).to_timestamp(), size)
        for first, size in sizes.items()
        for index in range((last - first).n + 1)
    ]
    grid = pd.DataFrame(rows, columns=["cohort_month", "month_index", "month", "cohort_size"])
    found = counts.assign(
        cohort_month=start.dt.to_timestamp(), month_index=counts["month_index"].astype("int64")
    )[["cohort_month", "month_index", "customers", "revenue"]]
    table: pd.DataFrame = grid.merge(found, on=["cohort_month", "month_index"], how="left")
    table["customers"] = table["customers"].fillna(0)
    table["revenue"] = table["revenue"].astype("float64").fillna(0.0)
    return table


def last_complete_month(last_purchase: dt.datetime) -> dt.datetime:
    """Return the first instant of the last whole month of data.

    The month of the last purchase is whole only when that purchase is on its last day.
    """
    end = pd.Timestamp(last_purchase)
    start = end.to_period("M").start_time
    whole = end.normalize() == end.to_period("M").end_time.normalize()
    out: dt.datetime = (start if whole else start - pd.DateOffset(months=1)).to_pydatetime()
    return out


def persona_retention(counts: pd.DataFrame, through: dt.datetime | None = None) -> pd.DataFrame:
    """Finish the persona counts into cohort_personas.csv (one retention curve per persona).

    Parameters
    ----------
    counts : pandas.DataFrame
        What :func:`persona_counts_sql` returns.

    through : datetime, optional
        The last month counted (:func:`last_complete_month`), written as ``through_month``.

    Returns
    -------
    pandas.DataFrame
        persona, month_index, customers (who bought in that month index), observable,
        retention, through_month (YYYY-MM: the partial month after it is not counted); by
        persona, then month index.
    """
    rows = [
        (
            str(persona),
            int(m),
            int(n),
            int(observable),
            round(int(n) / int(observable), 4) if observable else 0.0,
        )
        for persona, m, n, observable in counts[
            ["persona", "month_index", "customers", "observable"]
        ].itertuples(index=False)
    ]
    out = pd.DataFrame(
        rows, columns=["persona", "month_index", "customers", "observable", "retention"]
    )
    out["through_month"] = f"{through:%Y-%m}" if through is not None else ""
    result: pd.DataFrame = out.sort_values(
        ["persona", "month_index"], kind="mergesort"
    ).reset_index(drop=True)
    return result


def headline(table: pd.DataFrame) -> str:
    """Say how many cohorts there are and how many of a cohort buy again the month after.

    Parameters
    ----------
    table : pandas.DataFrame
        cohorts.csv (:func:`cohort_table`).

    Returns
    -------
    str
        One sentence; the mean leaves out partial months (the data's last, when it stops
        before the month's end). Where no cohort has a whole month after its first yet,
        it says so instead of a mean of nothing.

    Examples
    --------
    >>> t = pd.DataFrame({"cohort": ["2011-01", "2011-01"], "month_index": [0, 1],
    ...                   "retention": [1.0, 0.25]})
    >>> headline(t)
    '1 monthly cohort; on average 25% of a cohort buys again the month after its first purchase.'
    """
    n = table["cohort"].nunique()
    cohorts = f"{n} monthly cohort{'' if n == 1 else 's'}"
    second = table["month_index"] == 1
    # A month the data stops in is partial: its few days would pull the mean down.
    whole = second & ~table["partial"].astype(bool) if "partial" in table else second
    after = table.loc[whole, "retention"]
    if after.empty:
        full = " full" if second.any() else ""
        return f"{cohorts}; the data ends before any cohort's second{full} month."
    return (
        f"{cohorts}; on average {after.mean():.0%} of a cohort buys again the month after "
        "its first purchase."
    )
