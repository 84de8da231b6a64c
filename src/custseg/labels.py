"""How a table column reads: its header and the kind of number it holds.

Shared by the dashboard (:mod:`custseg.dashboard.tables`) and the HTML pages
(:func:`custseg.reporting.table_html`); CSV files keep their column names and full precision.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LABELS", "cell_text", "column_kind", "decimals", "kind", "label"]

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


def decimals(series: pd.Series) -> int | None:
    """Return the decimals that give a column's largest value four significant digits.

    One count for the whole column, so that its values line up: mean recencies of 15.95,
    44.51 and 165.4 days (each to four digits) read 15.9, 44.5 and 165.4. From 0 (1,000
    and over) to 6 (a column of values under 0.001); 2 for a column without a number.
    None for a column whose values span more than a factor of 100 (a list of model
    parameters, 2.6e-06 beside 2e+04): each value keeps its own four digits there.

    Examples
    --------
    >>> decimals(pd.Series([15.95, 44.51, 165.4])), decimals(pd.Series([0.338, 0.4329]))
    (1, 4)
    >>> decimals(pd.Series([4.414, 0.243])), decimals(pd.Series([0.72, 2.6e-06])) is None
    (3, True)
    """
    values = np.abs(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64))
    values = values[np.isfinite(values) & (values > 0)]  # vectorised: a grid can be long
    if not len(values):
        return 2
    top = float(values.max())
    if top > 100 * float(values.min()):
        return None
    return int(min(6, max(0, 3 - math.floor(math.log10(top)))))


def column_kind(name: str, series: pd.Series) -> str:
    """Return :func:`kind`, with a number column's decimals: ``"number:1"`` (:func:`decimals`).

    A number column of values too far apart stays ``"number"`` (four digits each).
    """
    shown = kind(name, series)
    places = decimals(series) if shown == "number" else None
    return shown if places is None else f"number:{places}"


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
    if shown.startswith("number:"):  # the column's own decimals (column_kind)
        return f"{value:,.{int(shown[7:])}f}"
    return str(value)
