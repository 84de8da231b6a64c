"""How a table column reads: its header and the kind of number it holds.

Shared by the dashboard (:mod:`custseg.dashboard.tables`) and the HTML pages
(:func:`custseg.reporting.table_html`); CSV files keep their column names and full precision.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

__all__ = ["LABELS", "cell_text", "kind", "label"]

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
    "silhouette": "Silhouette (higher is better)",
    "davies_bouldin": "Davies-Bouldin (lower is better)",
    "calinski_harabasz": "Calinski-Harabasz (higher is better)",
    "stability": "Stability (higher is better)",
    "T": "T (days)",
    "uplift_pp": "Uplift (pp)",
    "bought_again": "Bought again",
    "holdout_orders_mean": "Mean orders after the cut-off",
    "holdout_spend_mean": "Mean spend after the cut-off",
    "purchases_mae": "Purchases MAE",
    "purchases_rmse": "Purchases RMSE",
    "revenue_mae": "Revenue MAE",
}

#: Words of column names written in capitals ("rfm_segment" reads "RFM segment").
_ACRONYMS = frozenset({"rfm", "clv", "roi", "mae", "rmse"})

_PERCENT = (
    "share",
    "bought_again",
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
    if pd.api.types.is_integer_dtype(series):
        return "count"
    # A mean of counts (orders per customer) is a measure: 0.62 orders must not read as 1.
    if lower.endswith("_mean"):
        return "number"
    if any(c in lower for c in _COUNT):
        return "count"
    return "number"


def label(name: str) -> str:
    """Return a column's header: :data:`LABELS`, else the name in words."""
    if name in LABELS:
        return LABELS[name]
    words = [w.upper() if w in _ACRONYMS else w for w in str(name).split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def cell_text(shown: str, value: Any) -> str:
    """Return one value as text for a column of kind ``shown`` (see :func:`kind`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if shown == "percent":
        return f"{value:.1%}"
    if shown == "percent_points":
        return f"{value:.1f}%"
    if shown == "money":
        return f"{value:,.2f}"
    if shown == "count":
        return f"{value:,.0f}"
    if shown == "number":
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)
