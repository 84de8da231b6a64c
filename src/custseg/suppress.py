"""Suppression lists: customers who objected to profiling, removed before any feature.

A suppression file (``--suppress FILE``) holds one customer id or email per line (blank
lines and lines starting with ``#`` are skipped; of a CSV line, the first field). Its
customers' order lines are dropped under their own cleaning rule, ``suppressed``, right
after the missing-id rule: they enter no feature, model, table or audience, and
data_quality.json only counts them. Ids are compared as the customer key is written
(trimmed; whole-number ids exactly, so ``13085`` matches ``13085.0`` and a 19-digit id only
itself); emails and other text ids ignore case.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from custseg.errors import UserError
from custseg.sql import Dialect

__all__ = ["Suppression", "read_suppression", "suppressed_sql"]

#: Column types whose ids are whole numbers: compared exactly (a BIGINT above 2**53 too).
_INTEGER = ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER",
            "USMALLINT", "UTINYINT", "INT", "LONG", "SHORT", "BYTE")  # fmt: skip
#: Column types whose ids are floating-point numbers (13085.0): compared as doubles.
_FLOAT = ("FLOAT", "DOUBLE", "REAL", "DECIMAL")
_WHOLE = re.compile(r"[+-]?[0-9]+(\.0*)?")


@dataclass(frozen=True)
class Suppression:
    """The suppressed keys: as lowercased text, and those that read as numbers."""

    texts: frozenset[str]
    numbers: frozenset[float]
    integers: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.texts)

    def as_written(self) -> frozenset[str]:
        """Return the keys as outputs write customer ids: whole numbers without ``.0``."""
        return self.texts | {str(i) for i in self.integers}


def read_suppression(path: str | Path) -> Suppression:
    """Read a suppression file: one id or email per line.

    Raises
    ------
    UserError
        When the file cannot be read.
    """
    file = Path(path).expanduser()
    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UserError(f"Cannot read the suppression list {path} (--suppress): {reason}.") from exc
    texts = set()
    for line in lines:
        if line.strip().startswith("#"):
            continue
        first = re.split(r"[,;\t]", line, maxsplit=1)[0]  # a CSV's first field
        text = first.strip().strip('"').strip().lower()
        if text:
            texts.add(text)
    numbers, integers = set(), set()
    for text in texts:
        if _WHOLE.fullmatch(text):
            integers.add(int(text.split(".")[0]))
        try:
            value = float(text.replace("_", "x"))  # float() would read 1_000 as 1000
        except ValueError:
            continue
        if math.isfinite(value):
            numbers.add(value)
    return Suppression(frozenset(texts), frozenset(numbers), frozenset(integers))


def suppressed_sql(
    customer: str, kind: str, suppression: Suppression | None, dialect: Dialect
) -> str:
    """Return SQL true for a line whose customer key is suppressed.

    Parameters
    ----------
    customer : str
        SQL of the customer key as staged (a number, or trimmed text).
    kind : str
        The customer column's type as read (numbers compare as numbers).
    suppression : Suppression or None
        The list (None: nothing is suppressed).
    dialect : Dialect
        The SQL engine.
    """
    if suppression is None or not suppression.texts:
        return "false"
    base = kind.upper().split("(")[0].strip()
    if base in _INTEGER:
        if not suppression.integers:
            return "false"
        values = ", ".join(str(v) for v in sorted(suppression.integers))
        return f"coalesce(CAST({customer} AS DECIMAL(38, 0)) IN ({values}), false)"
    if base in _FLOAT:
        if not suppression.numbers:
            return "false"
        values = ", ".join(repr(float(v)) for v in sorted(suppression.numbers))
        return f"coalesce(CAST({customer} AS DOUBLE) IN ({values}), false)"
    values = ", ".join(dialect.literal(t) for t in sorted(suppression.texts))
    return f"coalesce(lower(CAST({customer} AS STRING)) IN ({values}), false)"
