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

from custseg.labels import LABELS, cell_text, column_kind, kind, label

__all__ = ["LABELS", "column_config", "kind", "label", "markdown_table", "show"]


def column_config(frame: pd.DataFrame) -> dict[str, Any]:
    """Return Streamlit's column settings for ``frame`` (labels and number formats)."""
    config: dict[str, Any] = {}
    for name in frame.columns:
        shown = column_kind(str(name), frame[name])
        head = label(str(name))
        if shown == "percent":
            config[name] = st.column_config.NumberColumn(head, format="percent")
        elif shown == "percent_points":
            config[name] = st.column_config.NumberColumn(head, format="%.1f%%")
        elif shown == "money":
            config[name] = st.column_config.NumberColumn(head, format="accounting")
        elif shown == "count":
            # "localized" would show an expected count such as 244.798 in full; a count
            # reads as a whole number, as in :func:`markdown_table`.
            config[name] = st.column_config.NumberColumn(head, format="%,.0f")
        elif shown.startswith("number:"):  # the column's decimals, as in markdown_table
            config[name] = st.column_config.NumberColumn(head, format=f"%,.{shown[7:]}f")
        elif shown == "number":  # values too far apart for one count of decimals
            config[name] = st.column_config.NumberColumn(head, format="%.4g")
        else:
            config[name] = st.column_config.Column(head)
    return config


def show(frame: pd.DataFrame, key: str | None = None, **options: Any) -> None:
    """Show a table with :func:`column_config`, no index, the page's width.

    A missing value (a baseline's log-likelihood) is an empty cell, not the word "None".
    """
    options.setdefault("hide_index", True)
    options.setdefault("placeholder", "")
    options.setdefault("width", "stretch")
    st.dataframe(frame, column_config=column_config(frame), key=key, **options)


def _escaped(text: str) -> str:
    """Return ``text`` safe in a Markdown table cell: no column break, no markup, no HTML."""
    for char in "\\`*_[]<>|#~$":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def _cell(name: str, shown: str, value: Any) -> str:
    """Return a cell's text; a change in a count carries its sign."""
    if name == "change" and shown == "count":
        return f"{value:+,.0f}"
    return cell_text(shown, value)


def markdown_table(frame: pd.DataFrame) -> str:
    """Return a small table as Markdown, formatted as :func:`show` formats it.

    For the first screen: a Markdown table is drawn by the page's own text renderer, where
    an interactive table first loads the data grid (about 1.8 MB of JavaScript, 0.5-0.8 s
    of a reopened dashboard in Chromium). Numbers are right-aligned.
    """
    names = [str(name) for name in frame.columns]
    kinds = [column_kind(name, frame[name]) for name in names]
    head = "| " + " | ".join(_escaped(label(name)) for name in names) + " |"
    rule = "|" + "|".join("---" if shown == "text" else "---:" for shown in kinds) + "|"
    rows = [
        "| "
        + " | ".join(
            _escaped(_cell(name, shown, value))
            for name, shown, value in zip(names, kinds, values, strict=True)
        )
        + " |"
        for values in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *rows])
