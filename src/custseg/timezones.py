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
    engine: Engine, relation: str, column: str, source: str, sample: int = 50_000
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
        How many leading rows to look at; beyond it a time without an offset in a file
        with offsets is counted as an invalid date.

    Returns
    -------
    bool
        True when the sampled values carry offsets.

    Raises
    ------
    UserError
        When some sampled values carry an offset and others do not (two examples named).
    """
    dialect = engine.dialect
    text = f"trim(CAST({sql_ident(column)} AS STRING))"
    aware = dialect.full_match("d", OFFSET_PATTERN)
    rows = engine.rows(
        f"SELECT count(CASE WHEN {aware} THEN 1 END), count(CASE WHEN NOT {aware} THEN 1 END), "
        f"min(CASE WHEN {aware} THEN d END), min(CASE WHEN NOT {aware} THEN d END) "
        f"FROM (SELECT {text} AS d FROM {relation} LIMIT {int(sample)}) AS s WHERE d <> ''"
    )
    n_aware, n_naive, with_offset, without = rows[0]
    if n_aware and n_naive:
        raise UserError(
            f"{source}: column {column!r} mixes times with a UTC offset (such as "
            f"{with_offset!r}) and without one (such as {without!r}); the zone of the second "
            "kind is unknown. Export every time with its offset, or none."
        )
    return bool(n_aware)


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
