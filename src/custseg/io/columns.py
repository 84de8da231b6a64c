"""Which input column holds each field: known names, the user's names, near misses, dates.

:func:`resolve_columns` maps the file's columns to the fields custseg needs (customer, invoice,
date, quantity, price, amount); :func:`detect_date_format` finds the layout of text dates.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from custseg.config import ColumnsConfig
from custseg.errors import UserError
from custseg.sql import sql_ident, sql_literal

__all__ = [
    "COLUMN_CANDIDATES",
    "DATE_LAYOUTS",
    "ColumnMapping",
    "detect_date_format",
    "resolve_columns",
    "suggest_columns",
]

#: Names recognised for each field, compared after :func:`_normalise_name`: Online Retail,
#: Online Retail II, and plain order tables.
COLUMN_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "customer": ("CustomerID", "Customer ID", "customer_id", "customer", "client_id"),
    "invoice": ("InvoiceNo", "Invoice", "invoice_id", "order_id", "order_no", "order"),
    "date": ("InvoiceDate", "order_date", "date", "timestamp", "datetime", "purchase_date"),
    "quantity": ("Quantity", "qty", "units"),
    "price": ("UnitPrice", "Price", "unit_price"),
    "amount": ("amount", "total", "line_total", "revenue", "sales", "order_value", "value"),
    "currency": ("currency", "currency_code", "order_currency"),
}


#: Prefix of the columns a computed layout adds (:mod:`custseg.io.layouts`).
COMPUTED_PREFIX = "cs_l_"


@dataclass(frozen=True)
class ColumnMapping:
    """The input column that holds each field (``None`` when the file has no such column).

    Attributes
    ----------
    customer, date : str
        Customer id and order timestamp columns (required).
    invoice : str or None
        Order id; without it each distinct (customer, timestamp) is one order.
    quantity, price : str or None
        Line quantity and unit price; used when ``amount`` is ``None``.
    amount : str or None
        Line total; replaces quantity x price.
    currency : str or None
        The currency code of each line.
    void : str or None
        A true/false column: the layout marks the line's order cancelled, voided, failed or
        refunded in full (only for layouts prepared by :mod:`custseg.io.layouts`).
    product : str or None
        The stock code column, where the layout's codes mark charges that are not products
        (Online Retail's POST, DOT, M, ...; see :mod:`custseg.products`).
    layout : str
        The layout recognised (or named with ``--layout``); ``"none"`` for plain detection.
    cancelled_pattern : str or None
        The layout's convention for cancelled invoice ids (Online Retail: ``C[0-9]+``).
    sources : tuple of (role, column)
        For a layout whose fields are computed (Shopify, WooCommerce, Stripe): the input
        column of each role; the fields above then name the computed ``cs_l_*`` columns.
    """

    customer: str
    date: str
    invoice: str | None = None
    quantity: str | None = None
    price: str | None = None
    amount: str | None = None
    currency: str | None = None
    void: str | None = None
    product: str | None = None
    layout: str = "none"
    cancelled_pattern: str | None = None
    sources: tuple[tuple[str, str], ...] = ()

    def fields(self) -> dict[str, str | None]:
        """Return the column of each field in the relation the staging reads."""
        return {
            "customer": self.customer,
            "invoice": self.invoice,
            "date": self.date,
            "quantity": self.quantity,
            "price": self.price,
            "amount": self.amount,
        }

    def as_dict(self) -> dict[str, str | None]:
        """Return the input column of each field (the computed ones say what they read)."""
        if not self.sources:
            return self.fields()
        roles = dict(self.sources)
        shown = {field: roles.get(field) for field in self.fields()}
        shown["amount"] = roles.get("amount") or roles.get("line_total") or roles.get("order_total")
        return shown

    def example_key(self, field: str) -> str | None:
        """Return the name an example row gives ``field``'s value.

        That is the input column, or for a computed layout the field's own name.
        """
        column = self.fields().get(field)
        return column.removeprefix(COMPUTED_PREFIX) if column is not None else None

    def raw(self, field: str) -> str | None:
        """Return the input column of ``field`` (``None`` when none, or it is computed)."""
        return dict(self.sources).get(field) if self.sources else self.fields().get(field)


def _normalise_name(name: str) -> str:
    return "".join(ch for ch in name.lower().lstrip("\ufeff") if ch.isalnum())


def _find(columns: list[str], wanted: str) -> str | None:
    if wanted in columns:
        return wanted
    key = _normalise_name(wanted)
    matches = [c for c in columns if _normalise_name(c) == key]
    return matches[0] if len(matches) == 1 else None


def _missing_column(field: str, wanted: str | None, columns: list[str], source: str) -> UserError:
    flag = f"--{field}-col"
    found = ", ".join(repr(c) for c in columns)
    if wanted is None:
        # A near miss of a known name ("Customr ID") is worth suggesting.
        known = [_normalise_name(c) for c in COLUMN_CANDIDATES[field]]
        near_known = [
            c
            for c in columns
            if difflib.get_close_matches(_normalise_name(c), known, n=1, cutoff=0.8)
        ]
        hint = f" Did you mean {near_known[0]!r}?" if near_known else ""
        return UserError(
            f"{source}: no {field} column found among {found}; name it with {flag}.{hint}"
        )
    near = difflib.get_close_matches(wanted, columns, n=1, cutoff=0.6)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    return UserError(
        f"{source}: column {wanted!r} ({flag}) not found; the columns are {found}.{hint}"
    )


def suggest_columns(columns: list[str]) -> dict[str, str | None]:
    """Return the detected column of each field (``None`` where no known name matches).

    Parameters
    ----------
    columns : list of str
        The input's columns.

    Returns
    -------
    dict
        Field (customer, invoice, date, quantity, price, amount) -> column or None.
    """
    return {
        field: next((h for c in names if (h := _find(columns, c)) is not None), None)
        for field, names in COLUMN_CANDIDATES.items()
    }


def _say_alike(
    columns: list[str], chosen: dict[str, str | None], explicit: dict[str, str], source: str
) -> None:
    """Note each field found by name where another unused column has a known name of it too.

    ``Date`` beside ``OrderDate``: the first known name wins, and the log says which column
    was taken and how to take the other.
    """
    from custseg.progress import logger

    used = {column for column in chosen.values() if column is not None}
    for field, column in chosen.items():
        if column is None or field in explicit:
            continue
        known = {_normalise_name(name) for name in COLUMN_CANDIDATES[field]}
        alike = [c for c in columns if c not in used and _normalise_name(c) in known]
        if alike:
            logger.warning(
                "note     %s: the %s column is %r (a known name); %s %s a known name too: "
                "name the one to use with --%s-col",
                source,
                field,
                column,
                ", ".join(repr(c) for c in alike),
                "has" if len(alike) == 1 else "have",
                field,
            )


def resolve_columns(columns: list[str], config: ColumnsConfig, source: str) -> ColumnMapping:
    """Match the configured (or well-known) field names to the file's columns.

    Parameters
    ----------
    columns : list of str
        The columns of the input, in file order.
    config : ColumnsConfig
        Explicit names; ``None`` fields are detected from :data:`COLUMN_CANDIDATES`.
        Matching ignores case, spaces, punctuation and a byte-order mark.
    source : str
        The input's name, for error messages.

    Returns
    -------
    ColumnMapping
        The column used for each field.

    Raises
    ------
    UserError
        If a named column is absent, or no customer, date, or money column is found.
    """
    from custseg.io.layouts import choose_layout, prepared_mapping

    if not columns:
        raise UserError(f"{source}: no columns found; is the sheet or file empty?")
    layout = choose_layout(columns, config.layout, source)
    if layout.roles:
        return prepared_mapping(layout, columns, config, source)
    mapping = _plain_mapping(columns, config, source)
    product = _find(columns, "StockCode") if layout.name.startswith("online-retail") else None
    return dataclasses.replace(
        mapping, layout=layout.name, cancelled_pattern=layout.cancelled_pattern, product=product
    )


def _plain_mapping(columns: list[str], config: ColumnsConfig, source: str) -> ColumnMapping:
    """Map the fields by the names of :data:`COLUMN_CANDIDATES` and the user's names."""
    chosen = suggest_columns(columns)
    currency = chosen.pop("currency")
    for field in chosen:
        wanted = getattr(config, field)
        if wanted is not None:
            hit = _find(columns, wanted)
            if hit is None:
                raise _missing_column(field, wanted, columns, source)
            chosen[field] = hit
    for field in ("customer", "date"):
        if chosen[field] is None:
            raise _missing_column(field, None, columns, source)
    explicit = {f: getattr(config, f) for f in chosen if getattr(config, f) is not None}
    for field, column in chosen.items():
        others = [f for f, c in chosen.items() if c == column and f != field and c is not None]
        if others and (field in explicit or any(o in explicit for o in others)):
            raise UserError(
                f"{source}: column {column!r} is given two roles ({field} and {others[0]}); "
                f"name a different column with --{field}-col or --{others[0]}-col."
            )
    _say_alike(columns, chosen, explicit, source)
    use_amount = config.amount is not None or (
        chosen["amount"] is not None and (chosen["quantity"] is None or chosen["price"] is None)
    )
    if use_amount:
        return ColumnMapping(
            customer=str(chosen["customer"]),
            date=str(chosen["date"]),
            invoice=chosen["invoice"],
            quantity=chosen["quantity"],
            price=None,
            amount=chosen["amount"],
            currency=currency,
        )
    for field in ("quantity", "price"):
        if chosen[field] is None:
            found = ", ".join(repr(c) for c in columns)
            raise UserError(
                f"{source}: no {field} column found among {found}; name it with "
                f"--{field}-col, or give a line total with --amount-col."
            )
    return ColumnMapping(
        customer=str(chosen["customer"]),
        date=str(chosen["date"]),
        invoice=chosen["invoice"],
        quantity=chosen["quantity"],
        price=chosen["price"],
        amount=None,
        currency=currency,
    )


#: Text date layouts tried when the dates are not ISO: (layout, family).
DATE_LAYOUTS: tuple[tuple[str, str], ...] = tuple(
    (f"{a}{sep}{b}{sep}%Y{time}", family)
    for family, (a, b) in (("day-first", ("%d", "%m")), ("month-first", ("%m", "%d")))
    for sep in ("/", "-", ".")
    for time in (" %H:%M", " %H:%M:%S", "")
)


def detect_date_format(
    con: duckdb.DuckDBPyConnection,
    column: str,
    source: str,
    sample: int = 50_000,
    relation: str = "orders_raw",
) -> str | None:
    """Find the layout of text dates that are not ISO, refusing day/month ambiguity.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Holds the order lines as ``relation``.
    column : str
        The (text) date column.
    source : str
        The input's name, for messages.
    sample : int
        How many leading rows to look at.
    relation : str
        The SQL name of the relation holding the order lines.

    Returns
    -------
    str or None
        A strptime layout when exactly one family (day-first or month-first) reads every
        non-empty value of the sample and ISO parsing does not; None when ISO parsing works
        or no layout fits (the rows then count as invalid).

    Raises
    ------
    UserError
        When both a day-first and a month-first layout read every value (e.g. only days up
        to 12): the user must say which with --date-format.
    """
    ident = sql_ident(column)
    head = f"(SELECT trim(CAST({ident} AS VARCHAR)) AS d FROM {relation} LIMIT {int(sample)})"
    checks = ", ".join(
        f"count(try_strptime(d, {sql_literal(layout)}))" for layout, _ in DATE_LAYOUTS
    )
    row = con.execute(
        f"SELECT count(d), count(TRY_CAST(d AS TIMESTAMP)), {checks}, min(d) FROM {head} "
        "WHERE d <> ''"
    ).fetchone()
    if row is None or row[0] == 0 or row[1] == row[0]:
        return None
    total = row[0]
    fits = [DATE_LAYOUTS[i] for i, n in enumerate(row[2:-1]) if n == total]
    families = {family for _, family in fits}
    if len(families) > 1:
        day = next(layout for layout, family in fits if family == "day-first")
        month = next(layout for layout, family in fits if family == "month-first")
        raise UserError(
            f"{source}: dates in column {column!r} such as {row[-1]!r} read both day-first and "
            f"month-first; say which with --date-format '{day}' or '{month}'."
        )
    return fits[0][0] if fits else None
