"""Time zones: timestamps written with a UTC offset are instants, the calendar has a zone.

A text timestamp such as ``2023-03-12 00:30:00 -0800`` or ``2023-03-12T08:30:00Z`` names an
instant: custseg converts it to UTC, so recency is whole days elapsed between instants
whatever zone each order came from. Calendar work (purchase days, cohort months, the CLV
calibration end) then uses ``--timezone`` (default UTC). Timestamps without an offset are
wall-clock times and stay as written.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from custseg.engines import Engine
from custseg.errors import UserError
from custseg.sql import Dialect, sql_ident

__all__ = ["OFFSET_PATTERN", "calendar_to_utc", "detect_offsets", "instant_sql", "utc_to_calendar"]

#: A date, a time and a UTC offset (``Z``, ``+01``, ``+01:00``, ``-0800``), as a full match.
OFFSET_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
    r"\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
)


def detect_offsets(
    engine: Engine,
    relation: str,
    column: str,
    source: str,
    sample: int = 50_000,
    shown: str | None = None,
    order: str | None = None,
) -> bool:
    """Tell whether a text date column holds UTC offsets, refusing a mix with naive times.

    Parameters
    ----------
    engine : Engine
        Holds the order lines as ``relation``.
    relation, column : str
        Where the dates are.
    source : str
        The input's name, for messages.
    sample : int
        How many leading rows decide whether the times carry offsets. Where they do, every
        row is then checked, so a time without an offset anywhere in the file is refused.
    shown : str, optional
        The column's name in the user's file (default: ``column``), for messages.
    order : str, optional
        The order id column of a platform export, whose rows are regrouped by order before
        this check: examples then name an order instead of a row.

    Returns
    -------
    bool
        True when the times carry offsets.

    Raises
    ------
    UserError
        When some values carry an offset and others do not, naming one row of each kind.
    """
    dialect = engine.dialect
    text = f"trim(CAST({sql_ident(column)} AS STRING))"
    aware = dialect.full_match("d", OFFSET_PATTERN)
    n_aware = engine.rows(
        f"SELECT count(CASE WHEN {aware} THEN 1 END) "
        f"FROM (SELECT {text} AS d FROM {relation} LIMIT {int(sample)}) AS s WHERE d <> ''"
    )[0][0]
    if not n_aware:
        return False  # wall-clock times (a later offset is no date there: invalid_date)
    # Offsets: one row without one anywhere makes every time's zone a guess.
    key = f"CAST({sql_ident(order)} AS STRING)" if order else dialect.row_number()
    first_aware, with_offset, first_naive, without = engine.rows(
        f"SELECT min(CASE WHEN {aware} THEN n END), min_by(d, CASE WHEN {aware} THEN n END), "
        f"min(CASE WHEN NOT {aware} THEN n END), min_by(d, CASE WHEN NOT {aware} THEN n END) "
        f"FROM (SELECT {text} AS d, {key} AS n FROM {relation}) AS s WHERE d <> ''"
    )[0]
    if first_naive is not None:

        def where(n: object) -> str:
            return f"order {n!r}" if order else f"row {n}"

        raise UserError(
            f"{source}: column {shown or column!r} mixes times with a UTC offset "
            f"({where(first_aware)}: {with_offset!r}) and without one ({where(first_naive)}: "
            f"{without!r}); the zone of the second kind is unknown. Export every time with "
            "its offset, or none."
        )
    return True


def instant_sql(text: str, dialect: Dialect) -> str:
    """Return SQL reading text with an offset as its UTC time (NULL for other text)."""
    return f"CASE WHEN {dialect.full_match(text, OFFSET_PATTERN)} THEN {dialect.instant(text)} END"


def calendar_to_utc(moment: dt.datetime, zone: str | None) -> dt.datetime:
    """Return a wall-clock time of the calendar's ``zone`` as its UTC time (naive).

    With ``zone`` None (wall-clock data) the time is returned as it is. A time that a
    daylight-saving change skips or repeats takes its first reading (``fold=0``).
    """
    if zone is None:
        return moment
    aware = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return aware.astimezone(dt.timezone.utc).replace(tzinfo=None)


def utc_to_calendar(moment: dt.datetime, zone: str | None) -> dt.datetime:
    """Return a UTC time (naive) as the wall clock of ``zone`` (unchanged for None)."""
    if zone is None:
        return moment
    aware = moment.replace(tzinfo=dt.timezone.utc).astimezone(zoneinfo.ZoneInfo(zone))
    return aware.replace(tzinfo=None)
