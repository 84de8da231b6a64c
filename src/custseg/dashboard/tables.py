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

from custseg.labels import LABELS, kind, label

__all__ = ["LABELS", "column_config", "kind", "label", "show"]


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
