"""Suppression lists: customers who objected to profiling, removed before any feature.

A suppression file (``--suppress FILE``) holds one customer id or email per line (blank
lines and lines starting with ``#`` are skipped). Its customers' order lines are dropped
under their own cleaning rule, ``suppressed``, right after the missing-id rule: they enter
no feature, model, table or audience, and data_quality.json only counts them. Ids are
compared as the customer key is written (trimmed; numbers as numbers, so ``13085``
matches ``13085.0``); emails and other text ids ignore case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from custseg.errors import UserError
from custseg.sql import Dialect

__all__ = ["Suppression", "read_suppression", "suppressed_sql"]

#: Numeric column types whose ids group as numbers (see custseg.staging._id_expr).
_NUMERIC = ("FLOAT", "DOUBLE", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT",
            "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "DECIMAL")  # fmt: skip


@dataclass(frozen=True)
class Suppression:
    """The suppressed keys: as lowercased text, and those that read as numbers."""

    texts: frozenset[str]
    numbers: frozenset[float]

    def __len__(self) -> int:
        return len(self.texts)

    def as_written(self) -> frozenset[str]:
        """Return the keys as outputs write customer ids: whole numbers without ``.0``."""
        whole = {str(int(v)) for v in self.numbers if v == int(v)}
        return self.texts | whole


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
    texts = {line.strip().lower() for line in lines}
    texts = {t for t in texts if t and not t.startswith("#")}
    numbers = set()
    for text in texts:
        try:
            value = float(text)
        except ValueError:
            continue
        if math.isfinite(value):
            numbers.add(value)
    return Suppression(frozenset(texts), frozenset(numbers))


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
    if kind.upper().split("(")[0] in _NUMERIC:
        if not suppression.numbers:
            return "false"
        values = ", ".join(repr(float(v)) for v in sorted(suppression.numbers))
        return f"coalesce(CAST({customer} AS DOUBLE) IN ({values}), false)"
    values = ", ".join(dialect.literal(t) for t in sorted(suppression.texts))
    return f"coalesce(lower(CAST({customer} AS STRING)) IN ({values}), false)"
