"""Tables a person reads: labels, units, thousands separators, sensible rounding.

The dashboard shows every table through :func:`show`; the CSV downloads and files keep full
precision. A column's kind comes from its name: shares and probabilities as percentages,
counts as whole numbers with separators, money with two decimals, other measures with three
significant digits.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

__all__ = ["LABELS", "column_config", "kind", "label", "show"]

#: Headers that are not the column name made readable.
LABELS = {
    "customer_id": "Customer",
    "recency_days": "Recency (days)",
    "frequency": "Orders",
    "monetary": "Spend",
    "recency_days_mean": "Mean recency (days)",
    "frequency_mean": "Mean orders",
    "monetary_mean": "Mean spend",
    "p_alive": "P(alive)",
    "p_alive_mean": "Mean P(alive)",
    "p_purchase_30d": "P(purchase in 30 days)",
    "p_purchase_90d": "P(purchase in 90 days)",
    "clv": "CLV",
    "clv_low": "CLV, 5th pct",
    "clv_high": "CLV, 95th pct",
    "roi": "ROI",
    "k": "k",
    "T": "T (days)",
    "uplift_pp": "Uplift (pp)",
    "bought_again_share": "Bought again",
    "purchases_mae": "Purchases MAE",
    "purchases_rmse": "Purchases RMSE",
    "revenue_mae": "Revenue MAE",
}

_PERCENT = (
    "share",
    "retention",
    "p_alive",
    "churn_probability",
    "p_purchase",
    "probability",
    "capture",
    "redemption_rate",
    "_pct_share",
)
_PERCENT_POINTS = ("_pct",)  # already in percent: aggregate errors
_MONEY = (
    "revenue",
    "monetary",
    "spend",
    "clv",
    "cost",
    "profit",
    "value",
)
_COUNT = ("customers", "orders", "lines", "buyers", "observable", "cluster", "month_index")


def kind(name: str, series: pd.Series) -> str:
    """Return how a column is shown: percent, percent_points, money, count, number or text."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return "text"
    lower = name.lower()
    if lower.endswith(_PERCENT_POINTS) and "share" not in lower:
        return "percent_points"
    if any(p in lower for p in _PERCENT):
        return "percent"
    if any(m in lower for m in _MONEY):
        return "money"
    if pd.api.types.is_integer_dtype(series) or any(c in lower for c in _COUNT):
        return "count"
    return "number"


def label(name: str) -> str:
    """Return a column's header: :data:`LABELS`, else the name in words."""
    if name in LABELS:
        return LABELS[name]
    words = str(name).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def column_config(frame: pd.DataFrame) -> dict[str, Any]:
    """Return Streamlit's column settings for ``frame`` (labels and number formats)."""
    config: dict[str, Any] = {}
    for name in frame.columns:
        shown = kind(str(name), frame[name])
        head = label(str(name))
        if shown == "percent":
            config[name] = st.column_config.NumberColumn(head, format="percent")
        elif shown == "percent_points":
            config[name] = st.column_config.NumberColumn(head, format="%.1f%%")
        elif shown == "money":
            config[name] = st.column_config.NumberColumn(head, format="accounting")
        elif shown == "count":
            config[name] = st.column_config.NumberColumn(head, format="localized")
        elif shown == "number":
            config[name] = st.column_config.NumberColumn(head, format="%.3g")
        else:
            config[name] = st.column_config.Column(head)
    return config


def show(frame: pd.DataFrame, key: str | None = None, **options: Any) -> None:
    """Show a table with :func:`column_config`, no index, the page's width."""
    options.setdefault("hide_index", True)
    options.setdefault("width", "stretch")
    st.dataframe(frame, column_config=column_config(frame), key=key, **options)
