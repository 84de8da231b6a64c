"""SQL in one place: quoting, exact money, and the few spellings DuckDB and Spark differ on.

Every query custseg runs on order lines is written once (see :mod:`custseg.cleaning` and
:mod:`custseg.features`), in forms both engines read the same way (``TRY_CAST``, ``LIKE 'C%'``,
``FILTER (WHERE ...)``, ``extract(DAY FROM interval)``, double-quoted identifiers). Where the
engines spell a thing differently, :class:`Dialect` holds both spellings.
"""

from __future__ import annotations

from dataclasses import dataclass

from custseg.errors import UserError

__all__ = [
    "DUCKDB",
    "MICRO",
    "SPARK",
    "Dialect",
    "java_datetime_pattern",
    "sql_ident",
    "sql_literal",
    "timestamp",
]

#: Money is summed in millionths of the currency unit, as integers: an exact sum, whatever
#: the order in which the engine adds the lines (parallel sums of doubles are not).
MICRO = 1_000_000


def sql_literal(text: str) -> str:
    """Quote ``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """Quote ``name`` as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def timestamp(value: object) -> str:
    """Return a datetime as a SQL ``TIMESTAMP`` literal (wall-clock time, no zone)."""
    text = value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)
    return f"TIMESTAMP '{text}'"


@dataclass(frozen=True)
class Dialect:
    """The spellings that differ between DuckDB and Spark SQL; the queries are shared.

    Spark runs with ``spark.sql.ansi.doubleQuotedIdentifiers`` on, ``spark.sql.timestampType``
    = ``TIMESTAMP_NTZ`` (so ``TIMESTAMP`` means wall-clock time, as in DuckDB) and the session
    time zone UTC (see :mod:`custseg.spark`).

    Attributes
    ----------
    name : str
        ``"duckdb"`` or ``"spark"``.
    """

    name: str

    def full_match(self, text: str, pattern: str) -> str:
        """Return SQL true when the regular expression ``pattern`` matches all of ``text``."""
        if self.name == "spark":
            return f"regexp_like({text}, {self.literal(f'^(?:{pattern})$')})"
        return f"regexp_full_match({text}, {sql_literal(pattern)})"

    def row_number(self) -> str:
        """Return SQL numbering the rows of a scan in the order read (1, 2, ...)."""
        if self.name == "spark":
            return "row_number() OVER (ORDER BY monotonically_increasing_id())"
        return "row_number() OVER ()"

    def plus_seconds(self, stamp: str, seconds: str) -> str:
        """Return ``stamp`` plus a (fractional) number of seconds."""
        if self.name == "spark":
            return f"{stamp} + make_dt_interval(0, 0, 0, CAST({seconds} AS DECIMAL(18, 6)))"
        return f"{stamp} + to_microseconds(CAST(round({seconds} * 1000000) AS BIGINT))"

    def literal(self, text: str) -> str:
        """Quote ``text`` as a string literal of this engine.

        Spark's parser reads backslash escapes (a backslash before the quote), the spelling
        used here: a date pattern such as ``yyyy-MM-dd'T'HH:mm`` holds quotes.
        """
        if self.name == "spark":
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return sql_literal(text)

    def parse_time(self, text: str, strptime_format: str) -> str:
        """Parse text to a timestamp with a strptime layout; NULL where it does not fit."""
        if self.name == "spark":
            pattern = self.literal(java_datetime_pattern(strptime_format))
            return f"try_to_timestamp({text}, {pattern})"
        return f"try_strptime({text}, {sql_literal(strptime_format)})"

    def utc_wall_clock(self, column: str) -> str:
        """Return a time-zone-aware timestamp as its UTC wall-clock time."""
        if self.name == "spark":
            return f"CAST({column} AS TIMESTAMP_NTZ)"
        return f"CAST(timezone('UTC', {column}) AS TIMESTAMP)"

    def instant(self, text: str) -> str:
        """Return text with a UTC offset (``+01:00``, ``-0800``, ``Z``) as its UTC time.

        The offset may follow the time after a space and without a colon, as Shopify writes
        it (``2023-03-12 00:30:00 -0800``).
        """
        offset = r"\s*([+-][0-9]{2}):?([0-9]{2})$"
        minutes = r"^([0-9-]+[T ][0-9]{2}:[0-9]{2})([^0-9:.].*)$"  # no seconds: Spark wants them
        if self.name == "spark":
            tidy = f"regexp_replace({text}, {self.literal(offset)}, '$1:$2')"
            tidy = f"regexp_replace({tidy}, {self.literal(minutes)}, '$1:00$2')"
            return f"CAST(try_cast({tidy} AS TIMESTAMP_LTZ) AS TIMESTAMP_NTZ)"
        tidy = f"regexp_replace({text}, {sql_literal(offset)}, '\\1:\\2')"
        return f"CAST(timezone('UTC', TRY_CAST({tidy} AS TIMESTAMPTZ)) AS TIMESTAMP)"

    def local(self, stamp: str, zone: str | None) -> str:
        """Return a UTC time as the wall clock of ``zone`` (unchanged when ``zone`` is None)."""
        if zone is None:
            return stamp
        if self.name == "spark":
            return (
                f"CAST(from_utc_timestamp(CAST({stamp} AS TIMESTAMP_LTZ), {sql_literal(zone)}) "
                "AS TIMESTAMP_NTZ)"
            )
        return f"CAST(timezone({sql_literal(zone)}, timezone('UTC', {stamp})) AS TIMESTAMP)"

    def micro(self, amount: str, *, checked: bool = False) -> str:
        """Return a money amount as a whole number of millionths.

        With ``checked`` the caller guarantees ``|amount| < 1e12`` (so it fits a BIGINT);
        otherwise a value that does not fit becomes NULL.
        """
        cast = "CAST" if checked else "TRY_CAST"
        return f"{cast}(round({amount} * {MICRO}) AS BIGINT)"

    def exact_sum(self, micro: str) -> str:
        """Sum millionths exactly (DuckDB sums BIGINT into HUGEINT; Spark needs a DECIMAL)."""
        if self.name == "spark":
            return f"sum(CAST({micro} AS DECIMAL(38, 0)))"
        return f"sum({micro})"

    def wide(self, micro: str) -> str:
        """Return millionths widened for a product that can pass 64 bits (a count of copies)."""
        return f"CAST({micro} AS {'DECIMAL(38, 0)' if self.name == 'spark' else 'HUGEINT'})"

    def money(self, micro_sum: str) -> str:
        """Return an exact sum of millionths as a DOUBLE amount of the currency."""
        return f"(CAST({micro_sum} AS DOUBLE) / {MICRO})"

    def month(self, stamp: str) -> str:
        """Return the first instant of a timestamp's month."""
        return f"CAST(date_trunc('month', {stamp}) AS TIMESTAMP)"

    def day(self, stamp: str) -> str:
        """Return midnight of a timestamp's day."""
        return f"CAST(CAST({stamp} AS DATE) AS TIMESTAMP)"

    def months_between(self, later: str, earlier: str) -> str:
        """Return the whole calendar months from one month start to another."""
        return f"((year({later}) - year({earlier})) * 12 + (month({later}) - month({earlier})))"

    def each_up_to(self, last: str) -> str:
        """Return a select-list expression that makes one row per integer 0..``last``."""
        if self.name == "spark":
            return f"explode(sequence(0, {last}))"
        return f"unnest(range(0, {last} + 1))"


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

    Examples
    --------
    >>> java_datetime_pattern("%d/%m/%Y %H:%M")
    'dd/MM/yyyy HH:mm'
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
