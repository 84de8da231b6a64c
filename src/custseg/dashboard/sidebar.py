"""The sidebar: data source, column mapping, cleaning rules, as-of date, k and seed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st

from custseg.cleaning import RULES
from custseg.config import Settings, load_settings
from custseg.dashboard.state import (
    MAX_UPLOAD_MB,
    columns_of,
    default_input,
    fingerprint,
    save_upload,
)
from custseg.dashboard.uploads import shown_name
from custseg.errors import UserError
from custseg.io import suggest_columns
from custseg.io.layouts import LAYOUT_NAMES, choose_layout

__all__ = ["Choice", "sidebar_ui"]

_AUTO = "(auto)"
_FIELDS = {
    "customer": "Customer id",
    "invoice": "Invoice / order id",
    "date": "Order date",
    "quantity": "Quantity",
    "price": "Unit price",
    "amount": "Line amount (replaces quantity x price)",
}
#: Cleaning rules the user may switch off, and their config keys.
_SWITCHES = {
    "cancelled_invoice": "drop_cancelled",
    "non_positive_quantity": "drop_non_positive_quantity",
    "non_positive_price": "drop_non_positive_price",
    "duplicate_row": "drop_duplicates",
    "non_product": "drop_non_product",
}

#: Rules set by another choice: the cancellation switch (a shop export's status columns)
#: and the currency.
_FOLLOWERS = ("cancelled_order", "other_currency")
_RECOGNISED = "(recognised by the header)"

#: Session-state key: the widgets of the sidebar's sections, whose values are kept while
#: their section is closed (written back each run by ``custseg.dashboard._keep_tab_settings``).
KEPT_KEYS = "sidebar-kept"


class _Section:
    """A sidebar expander whose widgets are drawn only while it is open.

    A closed section costs the page nothing (its widgets made a reopened dashboard 0.4 s
    slower in Chromium). Closed, each widget's value is its last one, kept in session
    state, or else the default it would show: the settings are the same either way.
    """

    def __init__(self, label: str, key: str) -> None:
        self.box = st.sidebar.expander(label, expanded=False, key=key, on_change="rerun")
        self.open = bool(self.box.open)

    def value(self, key: str, default: Any, draw: Callable[[], Any]) -> Any:
        """Return the widget ``key``'s value: ``draw()`` when open, else the kept value."""
        st.session_state.setdefault(KEPT_KEYS, set()).add(key)
        if self.open:
            with self.box:
                return draw()
        return st.session_state.get(key, default)

    def caption(self, text: str) -> None:
        """Write a caption in the section when it is open."""
        if self.open:
            self.box.caption(text)


@dataclass
class Choice:
    """What the sidebar asks for: an input, a note on it, and settings (or an error)."""

    path: Path | None
    note: str
    settings: Settings | None
    error: str | None = None
    #: The default data shown while "Upload a file" has no file (yet, or between two
    #: uploads): not a result to fall back on after a bad upload.
    placeholder: bool = False

    @property
    def identity(self) -> str:
        """Tell one segmentation from another: the file (path, size, mtime) and settings."""
        if self.path is None or self.settings is None:
            return ""
        return f"{fingerprint(self.path)}|{self.settings.model_dump_json()}"

    def named(self, message: str) -> str:
        """Return ``message`` in the dashboard's words.

        An uploaded file's stored path becomes its name, and a command-line flag the sidebar
        also sets becomes the sidebar's setting (``--decimal`` -> "Decimal separator (CSV
        dialect)").
        """
        return in_dashboard_words(message, self.path)


#: The sidebar's name for each input option (the flag's words where the sidebar has them),
#: and the section that holds it (None: the sidebar's top level).
SIDEBAR_NAMES: dict[str, tuple[str, str | None]] = {
    "delimiter": ("Delimiter", "CSV dialect"),
    "decimal": ("Decimal separator", "CSV dialect"),
    "encoding": ("Encoding", "CSV dialect"),
    "date_format": ("Date format", "CSV dialect"),
    "customer_col": ("Customer id", "Column mapping"),
    "invoice_col": ("Invoice / order id", "Column mapping"),
    "date_col": ("Order date", "Column mapping"),
    "quantity_col": ("Quantity", "Column mapping"),
    "price_col": ("Unit price", "Column mapping"),
    "amount_col": ("Line amount", "Column mapping"),
    "sheet": ("Excel sheet", "Column mapping"),
    "layout": ("Layout", "Column mapping"),
    "timezone": ("Time zone of the calendar", "Column mapping"),
    "suppress": ("Customers who objected to profiling", None),
}


#: The cleaning settings the notes and rules name by their flags, in the sidebar's words,
#: and the section that holds each.
SIDEBAR_SWITCHES: dict[str, tuple[str, str | None]] = {
    "--suppress FILE": ("a list of Customers who objected to profiling", None),
    "--returns net": ("Returns: Net against purchases", "Cleaning rules"),
    "--drop-non-product": ("the non-product stock code rule", "Cleaning rules"),
    "--drop-duplicates": ("the duplicate row rule", "Cleaning rules"),
    "--cancelled-pattern": ("the Cancellation pattern", "Cleaning rules"),
    "--currency": ("the Currency", "Cleaning rules"),
}


def in_dashboard_words(message: str, path: Path | None) -> str:
    """Return ``message`` with the stored upload ``path`` named as uploaded, in sidebar words."""
    if path is not None:
        message = message.replace(str(path), shown_name(path))
    return in_sidebar_words(message)


def in_sidebar_words(message: str, *, where: bool = True) -> str:
    """Replace the command-line flags a message names by the sidebar's settings.

    Parameters
    ----------
    message : str
        Text naming command-line flags.
    where : bool
        Say where each setting is: "Delimiter (sidebar, CSV dialect)". False for text shown
        inside the sidebar's own section (a rule's label).
    """
    import re

    from custseg.cli.options import FLAG_OF

    def words(name: str, section: str | None) -> str:
        if not where:
            return name
        return f"{name} (sidebar{f', {section}' if section else ''})"

    for flag, (name, section) in SIDEBAR_SWITCHES.items():
        message = re.sub(re.escape(flag) + r"(?![\w-])", words(name, section), message)
    for option, flag in sorted(FLAG_OF.items(), key=lambda kv: -len(kv[1])):
        name, section = SIDEBAR_NAMES[option]
        message = re.sub(re.escape(flag) + r"(?![\w-])", words(name, section), message)
    return message


_DIALECT = {
    "delimiter": "Delimiter",
    "decimal": "Decimal separator",
    "encoding": "Encoding",
    "date_format": "Date format",
}


def _dialect_ui(path: Path) -> dict[str, Any]:
    """Draw the CSV dialect settings (CSV files only), with the command line's help texts."""
    name = path.name.lower()
    if not name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
        return {}
    from custseg.cli.options import InputOptions, option_help

    values: dict[str, Any] = {}
    section = _Section("CSV dialect", "dialect-open")
    section.caption("Detected from the file; fill one in to override the detection.")
    for field, label in _DIALECT.items():
        key = f"csv-{field}-{path.name}"
        text = section.value(
            key,
            "",
            partial(
                st.text_input,
                label,
                value="",
                key=key,
                placeholder="detected",
                help=option_help(InputOptions, field),
            ),
        ).strip()
        values[field] = text or None
    return values


def _source_ui(base: Settings) -> tuple[Path | None, str, str | None, bool]:
    st.sidebar.header("Data")
    source = st.sidebar.radio(
        "Data source", ["Default data", "Upload a file"], key="source", horizontal=True
    )
    if source == "Upload a file":
        uploaded = st.sidebar.file_uploader(
            "Order lines: .xlsx, .csv, .csv.gz or .parquet",
            type=["xlsx", "csv", "gz", "parquet"],
            help=f"Up to {MAX_UPLOAD_MB} MB. The format is read from the content.",
            key="upload",
        )
        if uploaded is not None:
            if uploaded.size > MAX_UPLOAD_MB * 1e6:  # decimal MB, as the uploader counts
                return (
                    None,
                    "",
                    (
                        f"{uploaded.name} is {_size(uploaded.size)} ({uploaded.size:,} bytes), "
                        f"over the {MAX_UPLOAD_MB} MB upload limit; use the command line for "
                        "larger files."
                    ),
                    False,
                )
            path = save_upload(uploaded.name, uploaded.getvalue())
            return path, f"Uploaded file: {uploaded.name} ({_size(uploaded.size)}).", None, False
        st.sidebar.caption("No file uploaded yet: showing the default data.")
    path_text, note = default_input(base.synthetic_customers)
    return Path(path_text), note[0].upper() + note[1:] + ".", None, source == "Upload a file"


def _size(size: int) -> str:
    """Write a file's size as Streamlit's uploader does (decimal units): 25.7 MB, 676 KB."""
    return f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} KB"


_EVERY_SHEET = "(every sheet with these columns)"


def _mapping_ui(path: Path, base: Settings) -> dict[str, Any]:
    key = path.name
    section = _Section("Column mapping", "mapping-open")
    fmt, columns, sheets = columns_of(path, base, None)
    sheet = None
    if sheets:
        # Several sheets: by default every sheet with the columns is read, as one table.
        options = [_EVERY_SHEET, *sheets] if len(sheets) > 1 else sheets
        picked = section.value(
            f"sheet-{key}",
            options[0],
            lambda: st.selectbox("Excel sheet", options, key=f"sheet-{key}"),
        )
        sheet = None if picked == _EVERY_SHEET else picked
        if sheet is not None and sheet != sheets[0]:
            fmt, columns, _ = columns_of(path, base, sheet)
    detected = suggest_columns(columns)
    chosen: dict[str, Any] = {"sheet": sheet}
    layouts = [_RECOGNISED, *LAYOUT_NAMES, "none"]
    layout = section.value(
        f"layout-{key}",
        layouts[0],
        lambda: st.selectbox(
            "Layout",
            layouts,
            key=f"layout-{key}",
            help="Shopify, WooCommerce and Stripe exports and the UCI Online Retail files are "
            "recognised by their header; 'none' maps columns by name only.",
        ),
    )
    chosen["layout"] = None if layout == _RECOGNISED else layout
    zone = section.value(
        f"timezone-{key}",
        "",
        lambda: st.text_input(
            "Time zone of the calendar",
            value="",
            key=f"timezone-{key}",
            placeholder="UTC",
            help="For times with UTC offsets: the IANA zone (e.g. Europe/London) whose days "
            "and months count. Times without offsets stay as written.",
        ),
    ).strip()
    chosen["timezone"] = zone or None
    # A shop platform's export is read by its layout: nothing is pre-selected, and a
    # column chosen here replaces the layout's own.
    recognised = choose_layout(columns, chosen["layout"], "the file")
    if recognised.roles:
        detected = dict.fromkeys(detected)
    for field, label in _FIELDS.items():
        options = [_AUTO, *columns]
        found = detected[field]
        index = options.index(found) if found is not None and found in options else 0
        widget = f"col-{field}-{key}-{sheet}"
        value = section.value(
            widget,
            options[index],
            partial(st.selectbox, label, options, index=index, key=widget),
        )
        chosen[field] = None if value == _AUTO else value
    if recognised.roles:
        section.caption(
            f"{recognised.title}: its columns are read by the layout; choose one only to "
            "replace the layout's."
        )
    else:
        section.caption(f"{fmt} file with {len(columns)} columns; detected names are pre-selected.")
    return chosen


def _cleaning_ui(base: Settings) -> dict[str, Any]:
    switches: dict[str, Any] = {}
    section = _Section("Cleaning rules", "cleaning-open")
    modes = {"drop": "Drop them", "net": "Net against purchases"}
    switches["returns"] = section.value(
        "returns",
        base.cleaning.returns,
        lambda: st.radio(
            "Returns (cancelled invoices, negative quantities)",
            list(modes),
            index=list(modes).index(base.cleaning.returns),
            format_func=modes.__getitem__,
            key="returns",
            horizontal=True,
            help="Net: returns lower the customer's spend; customers whose returns equal or "
            "exceed their purchases are left out and counted.",
        ),
    )
    net = switches["returns"] == "net"
    for rule in RULES:
        if rule.reason in _FOLLOWERS:
            continue  # set by another switch; the data-quality table says if it ran
        config_key = _SWITCHES.get(rule.reason)
        if config_key is None or (net and rule.reason == "cancelled_invoice"):
            if section.open:  # shown, not chosen: always applied, or off with netted returns
                on = rule.reason != "net_non_positive_customer" or net
                section.box.checkbox(
                    in_sidebar_words(rule.description, where=False),
                    value=on and rule.reason != "cancelled_invoice",
                    disabled=True,
                    key=f"rule-{rule.reason}-{switches['returns']}",
                    help="Always applied." if config_key is None else "Off with netted returns.",
                )
        else:
            default = getattr(base.cleaning, config_key)
            switches[config_key] = section.value(
                f"rule-{rule.reason}",
                default,
                partial(
                    st.checkbox,
                    in_sidebar_words(rule.description, where=False),
                    value=default,
                    key=f"rule-{rule.reason}",
                ),
            )
    pattern = section.value(
        "cancelled-pattern",
        base.cleaning.cancelled_pattern or "",
        lambda: st.text_input(
            "Cancellation pattern",
            value=base.cleaning.cancelled_pattern or "",
            key="cancelled-pattern",
            placeholder="the layout's (Online Retail: C[0-9]+)",
            help="A regular expression: an invoice id it matches in full is a cancellation. "
            "Empty: the layout's convention (Online Retail: C and digits, C536379; other "
            "tables: none). An id like CA-2016-152156 is an order.",
        ),
    ).strip()
    switches["cancelled_pattern"] = pattern or None
    currency = section.value(
        "currency",
        base.cleaning.currency or "",
        lambda: st.text_input(
            "Currency",
            value=base.cleaning.currency or "",
            key="currency",
            placeholder="the file's one currency",
            help="Keep only lines in this currency (e.g. EUR); needed when a file has several.",
        ),
    ).strip()
    switches["currency"] = currency or None
    switches["allow_large_drops"] = section.value(
        "allow-large-drops",
        base.cleaning.allow_large_drops,
        lambda: st.checkbox(
            "Go on when one rule drops most rows (--allow-large-drops)",
            value=base.cleaning.allow_large_drops,
            key="allow-large-drops",
            help="By default a validity rule that drops more than half of the rows reaching "
            "it stops the run: the data is probably read wrong.",
        ),
    )
    # Always in view (an upload cannot be kept while hidden): a list of customers who
    # objected is not a setting to lose by closing a section.
    from custseg.cli.options import InputOptions, option_help

    objected = st.sidebar.file_uploader(
        "Customers who objected to profiling",
        type=["txt", "csv"],
        key="suppress-upload",
        help=option_help(InputOptions, "suppress"),
    )
    if objected is not None:
        switches["suppress"] = str(save_upload(objected.name, objected.getvalue()))
    return switches


def _model_ui(base: Settings) -> dict[str, Any]:
    st.sidebar.header("Segmentation")
    use_default = st.sidebar.checkbox(
        "As-of date: last purchase + 1 day", value=base.as_of is None, key="asof-default"
    )
    as_of: dt.date | None = None
    if not use_default:
        as_of = st.sidebar.date_input(
            "As-of date", value=(base.as_of or dt.datetime(2011, 12, 10)).date(), key="asof"
        )
    k_options: list[str | int] = ["auto", *range(2, 12)]
    k = st.sidebar.selectbox(
        "Number of segments (k)",
        k_options,
        index=k_options.index(base.model.k),
        key="k",
        help="'auto' chooses by silhouette and Davies-Bouldin within 3..8 (see 'Choosing k').",
    )
    seed = st.sidebar.number_input("Seed", min_value=0, value=base.model.seed, step=1, key="seed")
    with_clv = st.sidebar.checkbox(
        "Expected revenue and churn risk on the persona cards (--with-clv)",
        value=base.predictions.with_clv,
        key="with-clv",
        help="Fits the lifetime-value models as custseg clv does (a few seconds more) and "
        "adds each customer's predictions to the Customers table.",
    )
    return {"as_of": as_of, "k": k, "seed": int(seed), "with_clv": with_clv}


def sidebar_ui() -> Choice:
    """Draw the sidebar and return the user's choices.

    Returns
    -------
    Choice
        The input file, a note saying which data it is, and validated settings; or the
        one-sentence error that prevents a run.
    """
    try:
        base = load_settings()
    except UserError as exc:
        return Choice(None, "", None, str(exc))
    path, note, error, placeholder = _source_ui(base)
    if path is None:
        return Choice(None, note, None, error)
    unreadable = None
    try:
        dialect = _dialect_ui(path)
        if any(v is not None for v in dialect.values()):
            base = load_settings(None, {"csv": dialect})
        mapping = _mapping_ui(path, base)
    except UserError as exc:
        unreadable = exc
    # Drawn either way: the rest of the sidebar stays in view, its values kept, for the
    # next file.
    cleaning = _cleaning_ui(base)
    model = _model_ui(base)
    if unreadable is not None:
        choice = Choice(path, note, None)
        choice.error = choice.named(str(unreadable))
        return choice
    overrides = {
        "csv": dialect,
        "columns": mapping,
        "cleaning": cleaning,
        "as_of": model["as_of"],
        "model": {"k": model["k"], "seed": model["seed"]},
        "predictions": {"with_clv": model["with_clv"]},
    }
    try:
        settings = load_settings(None, overrides)
    except UserError as exc:
        return Choice(path, note, None, str(exc))
    return Choice(path, note, settings, placeholder=placeholder)
