"""Checks on an as-of date the user gave, said in the log before any feature is read.

The default as-of date is the last kept purchase + 1 day (:mod:`custseg.cleaning`). A date
given instead (``--as-of``, ``as_of:`` in the parameters, a dashboard date) is taken as it
is; two cases are worth a sentence: a date far after the data (:func:`late_as_of`), and a
date that keeps every line, as the default does, at another time of day than the default
(:func:`midnight_as_of`), where recency, and personas with it, differ from ``custseg run``'s.
"""

from __future__ import annotations

import datetime as dt

from custseg.cleaning import CleaningResult

__all__ = ["LATE_AS_OF", "as_of_text", "late_as_of", "midnight_as_of"]

#: An as-of date later than this after the last kept purchase is said (:func:`late_as_of`).
LATE_AS_OF = dt.timedelta(days=30)


def as_of_text(at: dt.datetime) -> str:
    """Return the shortest ``--as-of`` value that gives exactly ``at``.

    A date alone is 00:00 of that day; minutes are left out of no value that has them, nor
    seconds where there are any (a value cut to minutes is another as-of date).

    Examples
    --------
    >>> as_of_text(dt.datetime(2011, 12, 10))
    '2011-12-10'
    >>> as_of_text(dt.datetime(2011, 12, 10, 12, 50))
    '2011-12-10T12:50'
    >>> as_of_text(dt.datetime(2024, 3, 1, 9, 5, 7))
    '2024-03-01T09:05:07'
    """
    if at.time() == dt.time():
        return at.date().isoformat()
    return at.isoformat(timespec="minutes" if not (at.second or at.microsecond) else "auto")


def late_as_of(cleaned: CleaningResult) -> str | None:
    """Say when a given as-of date lies well after the data ends (a typo, often).

    Every customer's recency then counts the days without data, and a holdout window after
    the data's end can find no purchase. None when the date is the data's own or close to it.
    """
    gap = cleaned.as_of - cleaned.last_purchase
    if cleaned.as_of_source != "option" or not cleaned.rows_kept or gap <= LATE_AS_OF:
        return None
    return (
        f"the as-of date {cleaned.as_of:%Y-%m-%d} is {gap.days:,} days after the last kept "
        f"purchase ({cleaned.last_purchase:%Y-%m-%d}): every customer's recency counts those "
        "days without data, and any window after the data's end (the holdout check's) finds "
        "no purchase; check the date"
    )


def midnight_as_of(cleaned: CleaningResult) -> str | None:
    """Say when a given date keeps every line but counts recency to another time of that day.

    ``--as-of 2011-12-10`` is 00:00 of that day. On the real data it keeps every line, as
    the default does, yet the default is 2011-12-10 12:50 (the last purchase, 2011-12-09
    12:50, + 1 day): recency counts whole days to another time, so 2,069 recencies are one
    day shorter and 26 customers change persona. None for the default itself, for a date
    that leaves lines out (a snapshot of the past), and for a date on another day.

    Examples
    --------
    >>> last = dt.datetime(2011, 12, 9, 12, 50)
    >>> said = midnight_as_of(CleaningResult(
    ...     rows_read=2, rows_kept=2, dropped={}, as_of=dt.datetime(2011, 12, 10),
    ...     as_of_source="option", last_purchase=last))
    >>> said.startswith("2011-12-10 00:00 keeps every line")
    True
    """
    default = cleaned.last_purchase + dt.timedelta(days=1)
    if (
        cleaned.as_of_source != "option"
        or not cleaned.rows_kept
        or cleaned.dropped.get("after_as_of")
        or cleaned.as_of.date() != default.date()
        or cleaned.as_of == default
    ):
        return None
    return (
        f"{cleaned.as_of:%Y-%m-%d %H:%M} keeps every line, as the default as-of date does, "
        f"but the default is {default:%Y-%m-%d %H:%M} (the last kept purchase + 1 day): "
        f"recency counts whole days to {cleaned.as_of:%H:%M}, so some recencies, and "
        "personas with them, differ by a day from custseg run's; for run's snapshot give "
        f"--as-of {as_of_text(default)}"
    )
