"""Cleaning rules, each counted: rows kept + rows dropped by each reason = rows read.

The work is SQL over the relation ``orders_raw`` (see :mod:`custseg.io`). Every row gets
the first rule that drops it (or none), so the counts add up exactly. The rules and their
order are data (:data:`RULES`), recorded in ``data_quality.json``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from custseg.config import CleaningConfig
from custseg.errors import UserError
from custseg.io import ColumnMapping, sql_ident, sql_literal

__all__ = [
    "DUCKDB",
    "EXACT_AMOUNT",
    "MAX_LINE_AMOUNT",
    "RULES",
    "SPARK",
    "CleaningResult",
    "Dialect",
    "Rule",
    "applied_rules",
    "clean_orders",
    "reason_sql",
    "staging_sql",
]


@dataclass(frozen=True)
class Dialect:
    """The few spellings that differ between DuckDB and Spark SQL; the queries are shared.

    Everything else in this module and in :mod:`custseg.features` is written once, in forms
    both engines read the same way (``TRY_CAST``, ``LIKE 'C%'``, ``FILTER (WHERE ...)``,
    ``GROUPING SETS``, ``extract(DAY FROM interval)``, double-quoted identifiers). Spark runs
    with ``spark.sql.ansi.doubleQuotedIdentifiers`` on, ``spark.sql.timestampType`` =
    ``TIMESTAMP_NTZ`` (so ``TIMESTAMP`` means wall-clock time, as in DuckDB) and the session
    time zone UTC (see :mod:`custseg.spark`).

    Attributes
    ----------
    name : str
        ``"duckdb"`` or ``"spark"``.
    """

    name: str

    def full_match(self, text: str, pattern: str) -> str:
        """Return SQL true when ``pattern`` (no backslashes) matches all of ``text``."""
        if self.name == "spark":
            return f"regexp_like({text}, '^({pattern})$')"
        return f"regexp_full_match({text}, '{pattern}')"

    def plus_seconds(self, stamp: str, seconds: str) -> str:
        """Return ``stamp`` plus a (fractional) number of seconds."""
        if self.name == "spark":
            return f"{stamp} + make_dt_interval(0, 0, 0, CAST({seconds} AS DECIMAL(18, 6)))"
        return f"{stamp} + to_microseconds(CAST(round({seconds} * 1000000) AS BIGINT))"

    def parse_time(self, text: str, strptime_format: str) -> str:
        """Parse text to a timestamp with a strptime layout; NULL where it does not fit."""
        if self.name == "spark":
            pattern = sql_literal(java_datetime_pattern(strptime_format))
            return f"try_to_timestamp({text}, {pattern})"
        return f"try_strptime({text}, {sql_literal(strptime_format)})"

    def utc_wall_clock(self, column: str) -> str:
        """Return a time-zone-aware timestamp as its UTC wall-clock time."""
        if self.name == "spark":
            return f"CAST({column} AS TIMESTAMP_NTZ)"
        return f"CAST(timezone('UTC', {column}) AS TIMESTAMP)"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")

_JAVA_FIELDS = {
    "%d": "dd",
    "%m": "MM",
    "%Y": "yyyy",
    "%y": "yy",
    "%H": "HH",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%p": "a",
    "%b": "MMM",
    "%B": "MMMM",
    "%%": "%",
}


def java_datetime_pattern(strptime_format: str) -> str:
    """Translate a strptime layout (``%d/%m/%Y %H:%M``) to Spark's (``dd/MM/yyyy HH:mm``).

    Raises
    ------
    UserError
        For a directive Spark has no equivalent of here.
    """
    out, i = [], 0
    while i < len(strptime_format):
        part = strptime_format[i : i + 2]
        if part.startswith("%"):
            if part not in _JAVA_FIELDS:
                raise UserError(
                    f"--date-format {strptime_format!r}: {part} is not supported with "
                    "--engine spark; use %d %m %Y %y %H %I %M %S %f %p %b %B."
                )
            out.append(_JAVA_FIELDS[part])
            i += 2
        else:
            char = strptime_format[i]
            out.append(f"'{char}'" if char.isalpha() else char)
            i += 1
    return "".join(out)


#: A line amount (or quantity) at or above this is not a real purchase; it is counted as
#: invalid, which also keeps exact decimal sums far from overflow.
MAX_LINE_AMOUNT = 1e15


def exact(expr: str) -> str:
    """Return ``expr`` as an exact decimal: sums of it do not depend on the order of addition."""
    return f"TRY_CAST(round({expr}, 6) AS DECIMAL(38, 6))"


#: A line's signed value as an exact decimal (returns are negative with --returns net).
EXACT_AMOUNT = exact("cs_value")


@dataclass(frozen=True)
class Rule:
    """One cleaning rule.

    Attributes
    ----------
    reason : str
        Key under which dropped rows are counted.
    description : str
        What the rule drops, in words.
    """

    reason: str
    description: str


#: The rules, in the order they are applied; a row is counted under the first that drops it.
RULES: tuple[Rule, ...] = (
    Rule("missing_customer_id", "customer id is empty"),
    Rule(
        "cancelled_invoice",
        "invoice id starts with 'C' (a cancellation); with --returns net it is kept as a return",
    ),
    Rule(
        "non_positive_quantity",
        "quantity <= 0 (a return or an error); with --returns net only quantity 0",
    ),
    Rule(
        "non_positive_price",
        "unit price <= 0, or line amount <= 0 when amounts are used (= 0 with --returns net)",
    ),
    Rule("invalid_date", "date missing or not a date (see --date-format)"),
    Rule("invalid_quantity", "quantity missing, not a number, infinite, or 1e15 or more"),
    Rule("invalid_price", "unit price missing, not a number, infinite, or 1e15 or more"),
    Rule(
        "invalid_amount",
        "line amount (the amount column, or quantity x price) missing, not a number, "
        "infinite, or 1e15 or more",
    ),
    Rule("after_as_of", "timestamp at or after the as-of date"),
    Rule("duplicate_row", "exact duplicate of an earlier row (only with --drop-duplicates)"),
    Rule(
        "net_non_positive_customer",
        "with --returns net: every row of a customer whose returns equal or exceed purchases",
    ),
)

#: Reasons for values that cannot be read; data_quality.json shows example rows of each.
INVALID_REASONS = ("invalid_date", "invalid_quantity", "invalid_price", "invalid_amount")

#: How many example rows data_quality.json shows per invalid reason.
EXAMPLES_PER_REASON = 3


def _id_expr(column: str, kind: str) -> str:
    """Return an id column as a grouping key: numbers stay numbers, text is trimmed.

    Grouping on numbers is several times faster than on text; 13085.0 and 13085 are one key
    and become the text "13085" per customer at the end (:func:`custseg.features.rfm_table`).
    """
    ident = sql_ident(column)
    if kind in ("FLOAT", "DOUBLE"):
        return f"CASE WHEN isnan({ident}) THEN NULL ELSE {ident} END"
    if kind == "VARCHAR":
        return f"NULLIF(trim({ident}), '')"
    return ident


def _num_expr(column: str, decimal_comma: bool, dialect: Dialect) -> str:
    text = f"trim(CAST({sql_ident(column)} AS STRING))"
    if decimal_comma:
        # 1.234,5 and 12,5 are numbers; 45.8 is not (a '.' must separate groups of three
        # digits), so it is counted as invalid instead of silently becoming 458.
        pattern = "[+-]?([0-9]{1,3}([.][0-9]{3})+|[0-9]+)(,[0-9]*)?"
        return (
            f"CASE WHEN {dialect.full_match(text, pattern)} THEN "
            f"TRY_CAST(replace(replace({text}, '.', ''), ',', '.') AS DOUBLE) END"
        )
    return f"TRY_CAST({text} AS DOUBLE)"


def staging_sql(
    mapping: ColumnMapping,
    column_types: dict[str, str],
    *,
    date_format: str | None = None,
    decimal_comma: bool = False,
    dialect: Dialect = DUCKDB,
) -> str:
    """Build the SELECT that adds the canonical ``cs_*`` columns to ``orders_raw``.

    Parameters
    ----------
    mapping : ColumnMapping
        The input column of each field.
    column_types : dict
        DuckDB type name of each input column (numbers and timestamps are used as they are).
    date_format : str, optional
        strptime pattern for text dates.
    decimal_comma : bool
        Text numbers use ``,`` as the decimal separator.
    dialect : Dialect
        The SQL engine the query is for.

    Returns
    -------
    str
        ``SELECT *, ... AS cs_customer, cs_invoice, cs_ts, cs_quantity, cs_price, cs_amount
        FROM orders_raw``.
    """

    def number(column: str | None) -> str:
        if column is None:
            return "CAST(NULL AS DOUBLE)"
        kind = column_types.get(column, "VARCHAR").upper()
        if kind == "VARCHAR":
            return _num_expr(column, decimal_comma, dialect)
        return f"TRY_CAST({sql_ident(column)} AS DOUBLE)"

    kind = column_types.get(mapping.date, "VARCHAR").upper()
    date = sql_ident(mapping.date)
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        ts = f"CAST({date} AS TIMESTAMP)"
    elif kind in _NUMERIC_TYPES:
        ts = _excel_serial(date, dialect)
    elif date_format is not None:
        ts = dialect.parse_time(f"CAST({date} AS STRING)", date_format)
    else:  # ISO text, else an Excel serial number written as text
        serial = _excel_serial(f"TRY_CAST({date} AS DOUBLE)", dialect)
        ts = f"coalesce(TRY_CAST({date} AS TIMESTAMP), {serial})"
    if kind.startswith("TIMESTAMP WITH"):
        ts = dialect.utc_wall_clock(date)

    def kind_of(column: str) -> str:
        return column_types.get(column, "VARCHAR").upper()

    invoice, cancelled = "CAST(NULL AS STRING)", "false"
    if mapping.invoice is not None:
        # Invoice ids are used as written (trimming every one cost a quarter of the scan).
        invoice = sql_ident(mapping.invoice)
        if kind_of(mapping.invoice) == "VARCHAR":
            invoice = f"NULLIF({invoice}, '')"
            cancelled = f"{sql_ident(mapping.invoice)} LIKE 'C%'"
    quantity = number(mapping.quantity)
    if mapping.amount is not None:
        price = "CAST(NULL AS DOUBLE)"
        amount = number(mapping.amount)
    else:
        price = number(mapping.price)
        amount = f"({quantity}) * ({price})"
    return (
        f"SELECT *, {_id_expr(mapping.customer, kind_of(mapping.customer))} AS cs_customer, "
        f"{invoice} AS cs_invoice, {cancelled} AS cs_cancelled, "
        f"{ts} AS cs_ts, {quantity} AS cs_quantity, {price} AS cs_price, "
        f"{amount} AS cs_amount FROM orders_raw"
    )


_NUMERIC_TYPES = {
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


def _invalid(expr: str) -> str:
    """Return SQL true when ``expr`` is missing, NaN, infinite or absurd (NaN sorts last)."""
    return f"({expr} IS NULL OR NOT abs({expr}) < {MAX_LINE_AMOUNT:.0e})"


def return_sql(mapping: ColumnMapping) -> str:
    """Return SQL true for a return line: a cancelled invoice, a negative quantity or amount."""
    parts = ["cs_cancelled", "cs_amount < 0"]
    if mapping.quantity is not None:
        parts.append("cs_quantity < 0")
    return f"coalesce({' OR '.join(parts)}, false)"


def reason_sql(
    mapping: ColumnMapping,
    switches: CleaningConfig | None = None,
    as_of: dt.datetime | None = None,
) -> str:
    """Build the CASE expression naming the first base rule (up to ``invalid_value``) a row breaks.

    Parameters
    ----------
    mapping : ColumnMapping
        Decides which rules apply (no invoice column: no cancellation rule; amounts: no
        price rule on unit prices).
    switches : CleaningConfig, optional
        Optional rules turned off; default: all on.
    as_of : datetime, optional
        Rows at or after it are dropped as ``after_as_of``.

    Returns
    -------
    str
        A SQL expression over the ``cs_*`` columns, NULL for a row no base rule drops.
    """
    switches = switches or CleaningConfig()
    on = applied_rules(mapping, switches)
    net = switches.returns == "net"
    whens = ["WHEN cs_customer IS NULL THEN 'missing_customer_id'"]
    if on["cancelled_invoice"]:
        whens.append("WHEN cs_cancelled THEN 'cancelled_invoice'")
    if on["non_positive_quantity"]:
        whens.append(f"WHEN cs_quantity {'=' if net else '<='} 0 THEN 'non_positive_quantity'")
    if on["non_positive_price"]:
        if mapping.amount is not None:
            whens.append(f"WHEN cs_amount {'=' if net else '<='} 0 THEN 'non_positive_price'")
        else:
            whens.append("WHEN cs_price <= 0 THEN 'non_positive_price'")
    whens.append("WHEN cs_ts IS NULL THEN 'invalid_date'")
    if mapping.quantity is not None:
        whens.append(f"WHEN {_invalid('cs_quantity')} THEN 'invalid_quantity'")
    if mapping.amount is None:
        whens.append(f"WHEN {_invalid('cs_price')} THEN 'invalid_price'")
    whens.append(f"WHEN {_invalid('cs_amount')} THEN 'invalid_amount'")
    if as_of is not None:
        whens.append(f"WHEN cs_ts >= TIMESTAMP '{as_of.isoformat(sep=' ')}' THEN 'after_as_of'")
    return "CASE " + " ".join(whens) + " END"


def applied_rules(mapping: ColumnMapping, switches: CleaningConfig) -> dict[str, bool]:
    """Return whether each rule of :data:`RULES` runs, given the columns and the switches.

    Parameters
    ----------
    mapping : ColumnMapping
        Rules on absent columns do not run (no invoice column: no cancellation rule).
    switches : CleaningConfig
        The optional rules turned on or off.

    Returns
    -------
    dict
        Rule reason -> applied, in rule order.
    """
    return {
        "missing_customer_id": True,
        "cancelled_invoice": mapping.invoice is not None
        and switches.drop_cancelled
        and switches.returns == "drop",
        "non_positive_quantity": mapping.quantity is not None
        and switches.drop_non_positive_quantity,
        "non_positive_price": switches.drop_non_positive_price,
        "invalid_date": True,
        "invalid_quantity": mapping.quantity is not None,
        "invalid_price": mapping.amount is None,
        "invalid_amount": True,
        "after_as_of": True,
        "duplicate_row": switches.drop_duplicates,
        "net_non_positive_customer": switches.returns == "net",
    }


@dataclass(frozen=True)
class CleaningResult:
    """Counts and choices of the cleaning stage.

    Attributes
    ----------
    rows_read, rows_kept : int
        Input rows, and rows no rule dropped.
    dropped : dict
        Rows dropped by each rule's reason (every rule listed, zero included), in rule order.
    rules : list of dict
        Each rule with its description and whether it was applied.
    as_of : datetime
        The reference date used.
    as_of_source : str
        ``"option"`` when given, else ``"last kept purchase + 1 day"``.
    orders : int or None
        Distinct invoices among the kept purchase rows (distinct customer and timestamp
        pairs without an invoice column).
    revenue : float
        Sum of the kept line values, returns subtracted with ``--returns net`` (exact sum).
    first_purchase, last_purchase : datetime
        Earliest and latest kept purchase timestamps.
    examples : dict
        Up to :data:`EXAMPLES_PER_REASON` rows (mapped columns as text) per invalid reason.
    returns : dict
        How returns were handled and what netting changes (see :func:`returns_summary`).
    customers : int
        Distinct customers among the kept rows (0 unless asked for).
    """

    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    rules: list[dict[str, object]] = field(default_factory=list)
    as_of: dt.datetime = dt.datetime(1970, 1, 1)
    as_of_source: str = ""
    orders: int | None = None
    revenue: float = 0.0
    first_purchase: dt.datetime = dt.datetime(1970, 1, 1)
    last_purchase: dt.datetime = dt.datetime(1970, 1, 1)
    examples: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)
    returns: dict[str, object] = field(default_factory=dict)
    customers: int = 0


def _flagged_sql(
    mapping: ColumnMapping,
    columns: list[str],
    switches: CleaningConfig,
    as_of: dt.datetime | None,
) -> str:
    """Build the SELECT adding cs_reason, cs_return and cs_value to ``orders_staged``."""
    net = switches.returns == "net"
    reason = reason_sql(mapping, switches, as_of=as_of)
    is_return = return_sql(mapping) if net else "false"
    # Layer on layer, each adding the next reason column (no engine-specific REPLACE).
    flagged = (
        f"SELECT *, CASE WHEN cs_return THEN -abs(cs_amount) ELSE cs_amount END AS cs_value "
        f"FROM (SELECT *, {reason} AS cs_reason_base, {is_return} AS cs_return "
        "FROM orders_staged) AS base"
        if net
        else f"SELECT *, {reason} AS cs_reason_base, false AS cs_return, cs_amount AS cs_value "
        "FROM orders_staged"
    )
    current = "cs_reason_base"
    if switches.drop_duplicates:
        keys = ", ".join(sql_ident(c) for c in columns)
        # Rows in one partition are identical, so which of them is kept does not matter.
        flagged = (
            f"SELECT *, CASE WHEN {current} IS NULL AND row_number() OVER (PARTITION BY "
            f"{current} IS NULL, {keys} ORDER BY {keys}) > 1 THEN 'duplicate_row' "
            f"ELSE {current} END AS cs_reason_dup FROM ({flagged}) AS dup"
        )
        current = "cs_reason_dup"
    if net:
        # A customer whose returns cover their purchases has no spend to segment on.
        window = f"OVER (PARTITION BY cs_customer, {current} IS NULL)"
        flagged = (
            f"SELECT *, CASE WHEN {current} IS NULL AND ("
            f"sum({EXACT_AMOUNT}) {window} <= 0 OR "
            f"sum(CASE WHEN cs_return THEN 0 ELSE 1 END) {window} = 0) "
            f"THEN 'net_non_positive_customer' ELSE {current} END AS cs_reason_net "
            f"FROM ({flagged}) AS net"
        )
        current = "cs_reason_net"
    return f"SELECT *, {current} AS cs_reason FROM ({flagged}) AS flagged"


def _examples(
    con: duckdb.DuckDBPyConnection, mapping: ColumnMapping, reasons: list[str]
) -> dict[str, list[dict[str, str | None]]]:
    """Return a few rows of each reason, the mapped columns as text (smallest values first)."""
    if not reasons:
        return {}
    fields = [c for c in mapping.as_dict().values() if c is not None]
    texts = [f"CAST({sql_ident(c)} AS STRING)" for c in fields]
    cols = ", ".join(f"{t} AS cs_example_{i}" for i, t in enumerate(texts))
    names = ", ".join(f"cs_example_{i}" for i in range(len(texts)))
    wanted = ", ".join(sql_literal(r) for r in reasons)
    rows = con.execute(
        f"SELECT cs_reason, {names} FROM (SELECT cs_reason, {cols}, row_number() OVER "
        f"(PARTITION BY cs_reason ORDER BY {', '.join(texts)}) AS cs_rank FROM orders_flagged "
        f"WHERE cs_reason IN ({wanted})) AS ranked WHERE cs_rank <= {EXAMPLES_PER_REASON} "
        f"ORDER BY cs_reason, {names}"
    ).fetchall()
    out: dict[str, list[dict[str, str | None]]] = {r: [] for r in reasons}
    for row in rows:
        out[row[0]].append(dict(zip(fields, row[1:], strict=True)))
    return out


def returns_summary(
    switches: CleaningConfig,
    dropped: dict[str, int],
    *,
    return_lines: int,
    return_value: float,
    purchases: float,
    customers_with_returns: int,
    customers_dropped: int,
) -> dict[str, object]:
    """Say how returns were handled and what the other choice would change.

    Parameters
    ----------
    switches : CleaningConfig
        ``returns`` is ``"drop"`` or ``"net"``.
    dropped : dict
        Rows dropped by reason.
    return_lines, return_value : int, float
        Return lines (cancellations, negative quantities) of known customers and their value
        (a positive number): dropped with ``drop``, subtracted with ``net``.
    purchases : float
        Value of the kept purchase lines.
    customers_with_returns : int
        Distinct customers with such lines.
    customers_dropped : int
        Customers removed because their returns cover their purchases (``net`` only).

    Returns
    -------
    dict
        mode, return_lines, return_value, purchases, net_revenue, customers_with_returns,
        customers_dropped and a sentence.
    """
    share = return_value / purchases if purchases else 0.0
    if switches.returns == "net":
        effect = (
            f"{return_lines:,} return lines worth {return_value:,.2f} ({share:.1%} of purchases) "
            f"were subtracted from the spend of {customers_with_returns:,} customers; "
            f"{customers_dropped:,} customers whose returns equal or exceed their purchases "
            f"were left out ({dropped.get('net_non_positive_customer', 0):,} rows)."
        )
    else:
        effect = (
            f"{return_lines:,} return lines worth {return_value:,.2f} ({share:.1%} of purchases) "
            f"of {customers_with_returns:,} customers were dropped; --returns net would "
            "subtract them from those customers' spend instead."
        )
    return {
        "mode": switches.returns,
        "return_lines": return_lines,
        "return_value": round(return_value, 6),
        "purchases": round(purchases, 6),
        "net_revenue": round(purchases - return_value, 6)
        if switches.returns == "net"
        else round(purchases, 6),
        "customers_with_returns": customers_with_returns,
        "customers_dropped": customers_dropped,
        "effect": effect,
    }


def clean_orders(
    con: duckdb.DuckDBPyConnection,
    mapping: ColumnMapping,
    columns: list[str],
    *,
    as_of: dt.datetime | None = None,
    switches: CleaningConfig | None = None,
    source: str = "input",
    count_customers: bool = False,
) -> CleaningResult:
    """Flag every row of ``orders_staged`` and create the view ``orders_kept``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection holding the view ``orders_staged`` (see :func:`staging_sql`).
    mapping : ColumnMapping
        Input columns of each field.
    columns : list of str
        The input's own columns: rows equal on all of them are exact duplicates.
    as_of : datetime, optional
        Reference date; rows at or after it are dropped. Default: last kept purchase + 1 day.
    switches : CleaningConfig, optional
        The optional rules to run (default: all but duplicates); duplicates keep the first
        row of each group. With ``returns="net"`` returns are kept as negative lines.
    source : str
        The input's name, for error messages.
    count_customers : bool
        Also count the distinct kept customers (Spark needs it before choosing where to
        cluster; it costs about 10% of the scan).

    Returns
    -------
    CleaningResult
        Counts by reason; ``orders_kept`` holds the kept rows.

    Raises
    ------
    UserError
        If no row is left.
    """
    switches = switches or CleaningConfig()
    net = switches.returns == "net"
    # One view, no copy of the order lines: DuckDB streams the file through it, so a file
    # larger than memory works. Two scans in all: this one for the counts, one for the RFM.
    con.execute(
        "CREATE OR REPLACE TEMP VIEW orders_flagged AS "
        + _flagged_sql(mapping, columns, switches, as_of)
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW orders_kept AS "
        "SELECT * FROM orders_flagged WHERE cs_reason IS NULL"
    )
    # Without an invoice column each distinct (customer, timestamp) is one order.
    orders_key = "cs_invoice" if mapping.invoice is not None else "(cs_customer, cs_ts)"
    purchase = "cs_reason IS NULL AND NOT cs_return" if net else "cs_reason IS NULL"
    # Returns: kept negative lines with --returns net; else the dropped cancellations and
    # negative quantities of known customers with a valid amount.
    if net:
        returned = "cs_reason IS NULL AND cs_return"
    else:
        returned = (
            "cs_reason IN ('cancelled_invoice', 'non_positive_quantity') "
            f"AND NOT {_invalid('cs_amount')} AND cs_amount <> 0"
        )
    # One scan, a row per reason, with only what the options need: every extra aggregate
    # over all rows costs (a total row by GROUPING SETS doubled the time).
    extra = ["NULL", "NULL", "NULL"]
    if net:  # purchases before returns, and customers left out
        extra[0] = f"sum({EXACT_AMOUNT}) FILTER (WHERE {purchase})"
        extra[2] = (
            "count(DISTINCT cs_customer) FILTER (WHERE cs_reason = 'net_non_positive_customer')"
        )
    if count_customers:
        extra[1] = "count(DISTINCT cs_customer) FILTER (WHERE cs_reason IS NULL)"
    rows = con.execute(
        "SELECT coalesce(cs_reason, ''), count(*), "
        f"count(DISTINCT {orders_key}) FILTER (WHERE {purchase}), "
        f"sum({EXACT_AMOUNT}) FILTER (WHERE cs_reason IS NULL), "
        f"min(cs_ts) FILTER (WHERE {purchase}), max(cs_ts) FILTER (WHERE {purchase}), "
        f"{', '.join(extra)} FROM orders_flagged GROUP BY cs_reason"
    ).fetchall()
    counts = {r[0]: int(r[1]) for r in rows}
    kept = next((r for r in rows if r[0] == ""), None)
    as_of_source = "option"
    if as_of is None:
        as_of_source = "last kept purchase + 1 day"
        if kept is not None and kept[5] is not None:
            as_of = kept[5] + dt.timedelta(days=1)
    rows_kept = int(counts.pop("", 0))
    dropped = {rule.reason: int(counts.get(rule.reason, 0)) for rule in RULES}
    rows_read = rows_kept + sum(dropped.values())
    applied = applied_rules(mapping, switches)
    rules: list[dict[str, object]] = [
        {"reason": r.reason, "description": r.description, "applied": applied[r.reason]}
        for r in RULES
    ]
    if rows_read == 0:
        raise UserError(f"{source} has no data rows (only a header); nothing to segment.")
    examples = _examples(con, mapping, [r for r in INVALID_REASONS if dropped[r]])
    if rows_kept == 0 or as_of is None:
        raise UserError(_nothing_left(source, rows_read, dropped, examples))
    assert kept is not None
    # Return lines are few: one more scan evaluates the rules only where the cheap test
    # passes (a customer's returns can fall under two reasons: counted once here).
    maybe = " OR ".join(
        ["cs_cancelled", "cs_amount < 0"] + (["cs_quantity < 0"] if mapping.quantity else [])
    )
    found = con.execute(
        f"SELECT count(*), sum({exact('abs(cs_amount)')}), count(DISTINCT cs_customer) "
        f"FROM orders_flagged WHERE ({maybe}) AND {returned}"
    ).fetchone()
    return_lines, return_value, with_returns = found if found is not None else (0, 0, 0)
    summary = returns_summary(
        switches,
        dropped,
        return_lines=int(return_lines),
        return_value=float(return_value or 0),
        purchases=float(kept[6] if net else kept[3]),
        customers_with_returns=int(with_returns),
        customers_dropped=sum(int(r[8] or 0) for r in rows),
    )
    return CleaningResult(
        rows_read=rows_read,
        rows_kept=rows_kept,
        dropped=dropped,
        rules=rules,
        as_of=as_of,
        as_of_source=as_of_source,
        orders=int(kept[2]),
        revenue=float(kept[3]),
        first_purchase=kept[4],
        last_purchase=kept[5],
        examples=examples,
        returns=summary,
        customers=int(kept[7]) if count_customers else 0,
    )


def _nothing_left(
    source: str,
    rows_read: int,
    dropped: dict[str, int],
    examples: dict[str, list[dict[str, str | None]]],
) -> str:
    """Return the sentence for an input of which no purchase survives cleaning."""
    parts = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in dropped.items() if n)
    hint = "; check the column mapping and the file's contents"
    for reason, rows in examples.items():
        if rows:
            shown = ", ".join(f"{c} {v!r}" for c, v in rows[0].items())
            hint = (
                f"; e.g. a row counted as {reason.replace('_', ' ')} has {shown}: check "
                "--date-format, --decimal and the column mapping"
            )
            break
    return (
        f"{source}: 0 valid purchases left after cleaning {rows_read:,} "
        + ("row" if rows_read == 1 else "rows")
        + (f" ({parts})" if parts else "")
        + hint
        + "."
    )
