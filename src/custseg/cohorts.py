"""Cohort retention: customers grouped by the month of their first kept purchase.

cohort = month of a customer's first kept purchase; month_index = whole calendar months from
the cohort month to a purchase month; retention = distinct customers of the cohort with a
kept purchase in that month / cohort size. The last calendar month of the data is marked
``partial`` when the data stops before its end, so that a short month is not read as a drop.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = ["cohort_table", "persona_retention"]


def _month_index(later: pd.Series, earlier: pd.Series) -> pd.Series:
    out: pd.Series = (later.dt.year - earlier.dt.year) * 12 + (later.dt.month - earlier.dt.month)
    return out


def cohort_table(monthly: pd.DataFrame, last_purchase: dt.datetime) -> pd.DataFrame:
    """Retention and revenue per cohort and month index, in long form.

    Parameters
    ----------
    monthly : pandas.DataFrame
        customer_id, month (first day of the month, datetime64), revenue: one row per customer
        and month with a kept purchase.
    last_purchase : datetime
        The last kept purchase; its month is partial unless it is the month's last day.

    Returns
    -------
    pandas.DataFrame
        cohort (YYYY-MM), month_index, month (YYYY-MM), customers, cohort_size, retention,
        revenue, partial; sorted by cohort then month_index.
    """
    first = monthly.groupby("customer_id")["month"].transform("min")
    frame = monthly.assign(cohort_month=first, index=_month_index(monthly["month"], first))
    size = frame.groupby("cohort_month")["customer_id"].nunique().rename("cohort_size")
    table = (
        frame.groupby(["cohort_month", "index"])
        .agg(
            customers=("customer_id", "nunique"),
            revenue=("revenue", "sum"),
            month=("month", "first"),
        )
        .reset_index()
        .merge(size, left_on="cohort_month", right_index=True)
    )
    table["retention"] = (table["customers"] / table["cohort_size"]).round(4)
    end = pd.Timestamp(last_purchase)
    last_month = end.to_period("M")
    complete = end.normalize() == (end.to_period("M").end_time.normalize())
    table["partial"] = (table["month"].dt.to_period("M") == last_month) & (not complete)
    table["cohort"] = table["cohort_month"].dt.strftime("%Y-%m")
    table["month"] = table["month"].dt.strftime("%Y-%m")
    table = table.rename(columns={"index": "month_index"})
    table["revenue"] = table["revenue"].round(2)
    columns = [
        "cohort",
        "month_index",
        "month",
        "customers",
        "cohort_size",
        "retention",
        "revenue",
        "partial",
    ]
    out: pd.DataFrame = table.sort_values(["cohort", "month_index"])[columns].reset_index(drop=True)
    return out


def persona_retention(monthly: pd.DataFrame, personas: pd.DataFrame) -> pd.DataFrame:
    """Retention curve per persona on the cohort definition, over customers observable that long.

    For month index m, the denominator is the persona's customers whose first month is at
    least m months before the data's last month (so that month m could be seen at all).

    Returns
    -------
    pandas.DataFrame
        persona, month_index, customers (who bought in that month index), observable,
        retention.
    """
    first = monthly.groupby("customer_id")["month"].transform("min")
    frame = monthly.assign(index=_month_index(monthly["month"], first)).merge(
        personas[["customer_id", "persona"]], on="customer_id"
    )
    last = monthly["month"].max()
    starts = monthly.groupby("customer_id")["month"].min().rename("start").reset_index()
    starts = starts.merge(personas[["customer_id", "persona"]], on="customer_id")
    starts["span"] = _month_index(
        pd.Series([last] * len(starts), index=starts.index), starts["start"]
    )
    rows = []
    for persona, group in frame.groupby("persona", sort=False):
        spans = starts.loc[starts["persona"] == persona, "span"]
        counts = group.groupby("index")["customer_id"].nunique()
        for m, n in counts.items():
            observable = int((spans >= m).sum())
            rows.append(
                (
                    persona,
                    int(m),
                    int(n),
                    observable,
                    round(n / observable, 4) if observable else 0.0,
                )
            )
    out = pd.DataFrame(
        rows, columns=["persona", "month_index", "customers", "observable", "retention"]
    )
    result: pd.DataFrame = out.sort_values(
        ["persona", "month_index"], kind="mergesort"
    ).reset_index(drop=True)
    return result
