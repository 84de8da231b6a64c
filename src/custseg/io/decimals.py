"""The decimal separator of text numbers: ``2,55`` is two and fifty-five hundredths.

A CSV written with a decimal comma (Europe's spreadsheets, with ``;`` between fields)
holds its prices as text like ``2,55``. :func:`detect_decimal_comma` reads a sample of the
money and quantity columns both ways and picks the reading that fits every value; where both
fit and they differ (``1.250``: one and a quarter, or one thousand two hundred and fifty) it
refuses to guess.
"""

from __future__ import annotations

from custseg.engines import Engine
from custseg.errors import UserError
from custseg.sql import sql_ident
from custseg.staging import comma_number

__all__ = ["detect_decimal_comma"]


def detect_decimal_comma(
    engine: Engine, relation: str, columns: list[str], source: str, sample: int = 50_000
) -> bool:
    """Tell whether the text number columns use a decimal comma.

    Parameters
    ----------
    engine : Engine
        Holds the order lines as ``relation``.
    relation : str
        SQL of the order lines as read.
    columns : list of str
        The text columns holding numbers (quantity, price, amount).
    source : str
        The input's name, for messages.
    sample : int
        How many leading rows to read.

    Returns
    -------
    bool
        True when every sampled value that reads as a number either way reads with a decimal
        comma, and some do not read with a decimal point (text that is no number either way,
        such as ``N/A``, is left to the invalid-value rules).

    Raises
    ------
    UserError
        When every value reads both ways and some value reads differently (``1.250``).
    """
    if not columns:
        return False
    dialect = engine.dialect
    parts = []
    for column in columns:
        text = f"trim(CAST({sql_ident(column)} AS STRING))"
        parts.append(f"SELECT {text} AS v FROM (SELECT * FROM {relation} LIMIT {int(sample)}) AS s")
    values = " UNION ALL ".join(parts)
    point = "TRY_CAST(v AS DOUBLE)"
    comma = comma_number("v", dialect)
    row = engine.rows(
        f"SELECT count(coalesce({point}, {comma})), count({point}), count({comma}), "
        f"count(CASE WHEN {point} <> {comma} THEN 1 END), "
        f"min(CASE WHEN {point} <> {comma} THEN v END) "
        f"FROM ({values}) AS n WHERE v IS NOT NULL AND v <> ''"
    )[0]
    total, by_point, by_comma, differ, example = row
    if total == 0 or by_comma < total:
        return False
    if by_point < total:
        return True
    if differ:
        raise UserError(
            f"{source}: numbers such as {example!r} read both with a decimal point and with "
            "a decimal comma (and differ); say which with --decimal . or --decimal ,"
        )
    return False
