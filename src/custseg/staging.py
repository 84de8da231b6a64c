"""Staging: the input's own columns turned into the canonical ``cs_*`` columns the rules read.

Whatever the layout (Online Retail, plain order tables, text or typed columns, Excel serial
dates, decimal commas), :func:`staging_sql` gives every line the same fields: customer,
invoice, cancelled, timestamp, quantity, price and amount. Written once for both engines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from custseg.config import CANCELLED_PATTERN
from custseg.io.columns import ColumnMapping
from custseg.sql import DUCKDB, Dialect, sql_ident
from custseg.suppress import Suppression, suppressed_sql
from custseg.timezones import instant_sql

__all__ = ["NUMERIC_TYPES", "cancelled_sql", "comma_number", "staging_sql"]


def _id_expr(column: str, kind: str, decimal_comma: bool = False, dialect: Dialect = DUCKDB) -> str:
    """Return an id column as a grouping key: numbers stay numbers, text is trimmed.

    Grouping on numbers is several times faster than on text; 13085.0 and 13085 are one key
    and become the text "13085" per customer at the end (:func:`custseg.features.id_text`).
    In a file written with decimal commas, a whole number id reads "13085,0": the same
    customer, and the same text "13085".
    """
    ident = sql_ident(column)
    if kind in ("FLOAT", "DOUBLE"):
        return f"CASE WHEN isnan({ident}) THEN NULL ELSE {ident} END"
    if kind == "VARCHAR":
        text = f"trim({ident})"
        if decimal_comma:
            group = "$1" if dialect.name == "spark" else "\\1"
            text = f"regexp_replace({text}, '^([+-]?[0-9]+),0+$', '{group}')"
        return f"NULLIF({text}, '')"
    return ident


def comma_number(text: str, dialect: Dialect) -> str:
    """Return SQL reading text with a decimal comma as a number (NULL where it does not fit).

    1.234,5 and 12,5 are numbers; 45.8 is not (a '.' must separate groups of three digits),
    so it is counted as invalid instead of silently becoming 458.
    """
    pattern = "[+-]?([0-9]{1,3}([.][0-9]{3})+|[0-9]+)(,[0-9]*)?"
    return (
        f"CASE WHEN {dialect.full_match(text, pattern)} THEN "
        f"TRY_CAST(replace(replace({text}, '.', ''), ',', '.') AS DOUBLE) END"
    )


def _num_expr(column: str, decimal_comma: bool, dialect: Dialect) -> str:
    text = f"trim(CAST({sql_ident(column)} AS STRING))"
    if decimal_comma:
        return comma_number(text, dialect)
    return f"TRY_CAST({text} AS DOUBLE)"


NUMERIC_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
}


def _excel_serial(number: str, dialect: Dialect) -> str:
    """Excel serial day numbers (days since 1899-12-30, the time as the fraction) to timestamps.

    40513.35 is 2010-12-01 08:24; outside 1..2958465 (year 9999) a number is not a date.
    """
    epoch = "TIMESTAMP '1899-12-30 00:00:00'"
    seconds = f"round({number} * 86400)"
    return (
        f"CASE WHEN {number} BETWEEN 1 AND 2958465 THEN {dialect.plus_seconds(epoch, seconds)} END"
    )


def _literal_prefix(pattern: str) -> str:
    """Return the letters and digits every match of ``pattern`` starts with ('' if unsure)."""
    if "|" in pattern:
        return ""
    prefix = re.match(r"[A-Za-z0-9]*", pattern).group()  # type: ignore[union-attr]
    if prefix and pattern[len(prefix) : len(prefix) + 1] in ("?", "*", "{"):
        prefix = prefix[:-1]  # the last letter may be absent or repeated
    return prefix


def cancelled_sql(invoice: str, pattern: str, dialect: Dialect = DUCKDB) -> str:
    """Return SQL true when the text ``invoice`` matches ``pattern`` in full.

    A pattern that starts with fixed letters is tested only on ids that start with them: a
    regular expression on every line costs a scan much more. The test is a CASE, which the
    engines evaluate only on the rows that reach it (an AND in a projection evaluates both
    sides on every row: 1-2 s more at 100M lines).
    """
    match = dialect.full_match(invoice, pattern)
    prefix = _literal_prefix(pattern)
    return f"CASE WHEN {invoice} LIKE '{prefix}%' THEN {match} ELSE false END" if prefix else match


def staging_sql(
    mapping: ColumnMapping,
    column_types: dict[str, str],
    *,
    relation: str,
    date_format: str | None = None,
    decimal_comma: bool = False,
    multiplicity: str | None = None,
    cancelled_pattern: str | None = CANCELLED_PATTERN,
    aware: bool = False,
    dialect: Dialect = DUCKDB,
    suppression: Suppression | None = None,
) -> str:
    """Build the SELECT that turns the order lines into the canonical ``cs_*`` columns.

    Only ``cs_*`` columns come out: an input column that happens to be called ``cs_r`` or
    ``micro`` can never be mistaken for one of custseg's own.

    Parameters
    ----------
    mapping : ColumnMapping
        The input column of each field.
    column_types : dict
        DuckDB type name of each input column (numbers and timestamps are used as they are).
    relation : str
        SQL of the relation holding the order lines as read.
    date_format : str, optional
        strptime pattern for text dates.
    decimal_comma : bool
        Text numbers use ``,`` as the decimal separator.
    multiplicity : str, optional
        Column of ``relation`` holding how many times each row occurs (passed on as
        ``cs_n``), when duplicates were folded before staging.
    cancelled_pattern : str or None
        A regular expression: a text invoice id it matches in full is a cancellation
        (None: no invoice id is).
    aware : bool
        Text dates carry UTC offsets: they are read as instants, in UTC
        (:mod:`custseg.timezones`).
    dialect : Dialect
        The SQL engine the query is for.
    suppression : Suppression, optional
        Customers whose lines are dropped under ``suppressed`` (``cs_sup``).

    Returns
    -------
    str
        ``SELECT ... AS cs_customer, cs_invoice, cs_cancelled, cs_ts, cs_quantity,
        cs_price, cs_amount, cs_void, cs_currency, cs_np, cs_sup, cs_src_0 ... (the mapped columns
        as read, see :func:`source_columns`) [, cs_n] FROM relation``.
    """

    def kind_of(column: str) -> str:
        return column_types.get(column, "VARCHAR").upper()

    def number(column: str | None) -> str:
        if column is None:
            return "CAST(NULL AS DOUBLE)"
        if kind_of(column) == "VARCHAR":
            return _num_expr(column, decimal_comma, dialect)
        if kind_of(column) in NUMERIC_TYPES:  # a number becomes a double without fail
            return f"CAST({sql_ident(column)} AS DOUBLE)"
        return f"TRY_CAST({sql_ident(column)} AS DOUBLE)"

    kind = kind_of(mapping.date)
    date = sql_ident(mapping.date)
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        ts = f"CAST({date} AS TIMESTAMP)"
    elif kind in NUMERIC_TYPES:
        ts = _excel_serial(date, dialect)
    elif date_format is not None:
        ts = dialect.parse_time(f"CAST({date} AS STRING)", date_format)
    else:  # ISO text, else an Excel serial number written as text
        serial = _excel_serial(f"TRY_CAST({date} AS DOUBLE)", dialect)
        ts = f"coalesce(TRY_CAST({date} AS TIMESTAMP), {serial})"
    if kind.startswith("TIMESTAMP WITH"):
        ts = dialect.utc_wall_clock(date)
    elif aware and kind == "VARCHAR":
        ts = instant_sql(f"trim(CAST({date} AS STRING))", dialect)
    invoice, cancelled = "CAST(NULL AS STRING)", "false"
    if mapping.invoice is not None:
        # Invoice ids are used as written (trimming every one cost a quarter of the scan).
        invoice = sql_ident(mapping.invoice)
        if kind_of(mapping.invoice) == "VARCHAR":
            invoice = f"NULLIF({invoice}, '')"
            if cancelled_pattern is not None:
                cancelled = cancelled_sql(sql_ident(mapping.invoice), cancelled_pattern, dialect)
    quantity = number(mapping.quantity)
    if mapping.amount is not None:
        price = "CAST(NULL AS DOUBLE)"
        amount = number(mapping.amount)
    else:
        price = number(mapping.price)
        amount = f"({quantity}) * ({price})"
    void = f"coalesce({sql_ident(mapping.void)}, false)" if mapping.void else "false"
    currency = "CAST(NULL AS STRING)"
    if mapping.currency is not None:
        currency = f"upper(NULLIF(trim(CAST({sql_ident(mapping.currency)} AS STRING)), ''))"
    non_product = "false"
    if mapping.product is not None:
        from custseg.products import non_product_sql

        non_product = non_product_sql(mapping.product)
    # The mapped columns as read, for the examples of invalid rows; an engine reads
    # them only when a query asks for them.
    sources = "".join(
        f", {sql_ident(c)} AS cs_src_{i}" for i, c in enumerate(source_columns(mapping))
    )
    count = f", {sql_ident(multiplicity)} AS cs_n" if multiplicity is not None else ""
    customer = _id_expr(mapping.customer, kind_of(mapping.customer), decimal_comma, dialect)
    suppressed = suppressed_sql(customer, kind_of(mapping.customer), suppression, dialect)
    return (
        f"SELECT {customer} AS cs_customer, "
        f"{invoice} AS cs_invoice, {cancelled} AS cs_cancelled, "
        f"{ts} AS cs_ts, {quantity} AS cs_quantity, {price} AS cs_price, "
        f"{amount} AS cs_amount, {void} AS cs_void, {currency} AS cs_currency, "
        f"{non_product} AS cs_np, {suppressed} AS cs_sup"
        f"{sources}{count} FROM {relation}"
    )


def source_columns(mapping: ColumnMapping) -> list[str]:
    """Return the mapped input columns, field by field, as ``cs_src_0, cs_src_1...`` hold them."""
    return [c for c in mapping.fields().values() if c is not None]


def free_name(taken: Iterable[str], base: str = "cs_n") -> str:
    """Return ``base``, with underscores added until no column of ``taken`` has that name.

    Examples
    --------
    >>> free_name(["cs_n", "cs_n_"])
    'cs_n__'
    """
    used = {name.lower() for name in taken}
    name = base
    while name.lower() in used:
        name += "_"
    return name
