"""A first look at raw order lines, before any cleaning: what an analyst checks first.

:func:`explore` reads a file as ``run`` does (layouts, mapping, dialect) and returns, from
every line as it is (cancellations, returns and anonymous lines included):

* orders, revenue, lines and customers per month;
* countries, when the file has a country column;
* basket sizes (lines, items and value per order) and unit prices, with their outliers;
* how many customers bought once;
* the lines without a customer id: how many, and how much of the revenue.

The notebook ``customer_segmentation.ipynb`` opens with it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from custseg.config import Settings

__all__ = ["Exploration", "explore", "monthly_chart"]


@dataclass
class Exploration:
    """What :func:`explore` found.

    Attributes
    ----------
    monthly : pandas.DataFrame
        month (YYYY-MM), lines, orders, customers, revenue (quantity x price, all lines).
    countries : pandas.DataFrame
        country, lines, customers, revenue, share of revenue; empty without such a column.
    baskets : pandas.DataFrame
        For lines, items and value per order, and unit price: quantiles and the maximum.
    outliers : pandas.DataFrame
        The five lines of largest absolute quantity, and of highest unit price.
    facts : dict
        lines, orders, customers (distinct ids), buyers (customers with a line of positive
        quantity), one_time_buyers and one_time_share (buyers with one order),
        anonymous_lines, anonymous_revenue_share, negative_quantity_lines.
    columns : dict
        The columns read for each field.
    """

    monthly: pd.DataFrame
    countries: pd.DataFrame
    baskets: pd.DataFrame
    outliers: pd.DataFrame
    facts: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str | None] = field(default_factory=dict)

    def chart(self) -> go.Figure:
        """Draw revenue and customers per month (:func:`monthly_chart`)."""
        return monthly_chart(self)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def explore(path: Path | str, settings: Settings | None = None) -> Exploration:
    """Summarise the raw order lines of ``path`` (see the module docstring).

    Parameters
    ----------
    path : Path or str
        An .xlsx, .csv(.gz) or .parquet file of order lines.
    settings : Settings, optional
        Column names and CSV dialect, as for ``run``.

    Returns
    -------
    Exploration
        The tables and facts.
    """
    import duckdb

    from custseg.io.readers import load_orders

    settings = settings or Settings()
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="custseg-explore-") as work:
        loaded = load_orders(
            con, Path(path), settings.columns, settings.csv, workdir=Path(work), relation="raw"
        )
        m = loaded.mapping
        customer, invoice, date = _q(m.customer), m.invoice, _q(m.date)
        qty = _q(m.quantity) if m.quantity else "1"
        value = (
            f"TRY_CAST({_q(m.amount)} AS DOUBLE)"
            if m.amount
            else f"TRY_CAST({qty} AS DOUBLE) * TRY_CAST({_q(m.price or '')} AS DOUBLE)"
        )
        order = f"{_q(invoice)}" if invoice else f"{customer} || '@' || CAST({date} AS VARCHAR)"
        ts = f"TRY_CAST({date} AS TIMESTAMP)"
        lines = (
            f"SELECT {customer} AS customer, CAST({order} AS VARCHAR) AS "
            f"orderid, {ts} AS ts, TRY_CAST({qty} AS DOUBLE) AS quantity, "
            + (f"TRY_CAST({_q(m.price)} AS DOUBLE)" if m.price else "NULL")
            + f" AS price, {value} AS value"
            + (
                f", CAST({_q('Country')} AS VARCHAR) AS country"
                if "Country" in loaded.columns
                else ""
            )
            + " FROM raw"
        )
        con.execute(f"CREATE TEMP TABLE lines AS {lines}")
        out = _summaries(con, "Country" in loaded.columns)
    out.columns = {
        "customer": m.customer,
        "invoice": m.invoice,
        "date": m.date,
        "quantity": m.quantity,
        "price": m.price,
        "amount": m.amount,
    }
    return out


def _summaries(con: Any, countries: bool) -> Exploration:
    monthly = con.execute(
        "SELECT strftime(date_trunc('month', ts), '%Y-%m') AS month, count(*) AS lines, "
        "count(DISTINCT orderid) AS orders, count(DISTINCT customer) AS customers, "
        "round(sum(value), 2) AS revenue FROM lines WHERE ts IS NOT NULL "
        "GROUP BY 1 ORDER BY 1"
    ).df()
    by_country = pd.DataFrame()
    if countries:
        by_country = con.execute(
            "SELECT country, count(*) AS lines, count(DISTINCT customer) AS customers, "
            "round(sum(value), 2) AS revenue FROM lines GROUP BY 1 ORDER BY revenue DESC"
        ).df()
        by_country["revenue_share"] = (by_country["revenue"] / by_country["revenue"].sum()).round(4)
    per_order = (
        "SELECT orderid, count(*) AS lines, sum(quantity) AS items, sum(value) AS value "
        "FROM lines GROUP BY 1"
    )
    stats = []
    for name, source in (
        ("lines per order", f"SELECT lines AS x FROM ({per_order})"),
        ("items per order", f"SELECT items AS x FROM ({per_order})"),
        ("value per order", f"SELECT value AS x FROM ({per_order})"),
        ("unit price", "SELECT price AS x FROM lines"),
    ):
        row = con.execute(
            "SELECT quantile_cont(x, 0.5), quantile_cont(x, 0.9), quantile_cont(x, 0.99), "
            f"min(x), max(x) FROM ({source}) WHERE x IS NOT NULL"
        ).fetchone()
        stats.append((name, *row))
    baskets = pd.DataFrame(stats, columns=["measure", "median", "p90", "p99", "min", "max"])
    outliers = con.execute(
        "(SELECT 'largest |quantity|' AS kind, customer, orderid, ts, quantity, price, value "
        "FROM lines ORDER BY abs(quantity) DESC NULLS LAST, orderid LIMIT 5) UNION ALL "
        "(SELECT 'highest unit price', customer, orderid, ts, quantity, price, value "
        "FROM lines ORDER BY price DESC NULLS LAST, orderid LIMIT 5)"
    ).df()
    from custseg.features import id_text

    known = outliers["customer"].notna()
    outliers["customer"] = id_text(outliers["customer"]).where(known, None)  # 12346, not 12346.0
    total, anon, anon_value, value, negative = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE customer IS NULL), "
        "sum(value) FILTER (WHERE customer IS NULL), sum(value), "
        "count(*) FILTER (WHERE quantity < 0) FROM lines"
    ).fetchone()
    buyers, once = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE n = 1) FROM (SELECT customer, "
        "count(DISTINCT orderid) AS n FROM lines WHERE customer IS NOT NULL AND quantity > 0 "
        "GROUP BY 1)"
    ).fetchone()
    orders, customers = con.execute(
        "SELECT count(DISTINCT orderid), count(DISTINCT customer) FROM lines"
    ).fetchone()
    facts = {
        "lines": int(total),
        "orders": int(orders),
        "customers": int(customers),
        "buyers": int(buyers),
        "one_time_buyers": int(once),
        "one_time_share": round(once / buyers, 4) if buyers else 0.0,
        "anonymous_lines": int(anon),
        "anonymous_revenue_share": round((anon_value or 0.0) / value, 4) if value else 0.0,
        "negative_quantity_lines": int(negative),
    }
    return Exploration(monthly, by_country, baskets, outliers, facts)


def monthly_chart(exploration: Exploration) -> go.Figure:
    """Draw revenue (bars) and customers (line) per month."""
    from custseg.charts import _LAYOUT, _figure

    monthly = exploration.monthly
    fig = _figure()
    fig.add_trace(
        go.Bar(x=monthly["month"], y=monthly["revenue"], name="revenue", marker_color="#2f6690")
    )
    fig.add_trace(
        go.Scatter(
            x=monthly["month"],
            y=monthly["customers"],
            name="customers",
            yaxis="y2",
            line={"color": "#e6ab02"},
        )
    )
    fig.update_layout(
        title="Revenue and customers per month (every line, before cleaning)",
        yaxis={"title": "revenue"},
        yaxis2={"title": "customers", "overlaying": "y", "side": "right"},
        height=420,
        **_LAYOUT,
    )
    return fig
