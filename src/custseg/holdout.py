"""The holdout check: segment the data before a cut-off, see what each persona did after it.

The cut-off is the as-of date minus ``model.holdout_days``. The customers' RFM as of the
cut-off comes from the same scan as the run's (see :meth:`custseg.session.Session.rfm`); it
is segmented with the run's k (one K-Means, no k sweep), and each customer's orders and
spend after the cut-off are the full data's minus the earlier ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from custseg.config import Settings
from custseg.errors import UserError

__all__ = ["FEW_CUSTOMERS", "holdout_check", "holdout_cutoff"]

#: Below this many customers in the best or the worst persona, the sentence says the shares
#: rest on few customers (one customer makes a share of 0% or 100%).
FEW_CUSTOMERS = 30


def holdout_cutoff(settings: Settings, as_of: dt.datetime, zone: str | None = None) -> dt.datetime:
    """Return the cut-off of the holdout check: ``as_of`` minus ``model.holdout_days``.

    The days are days of the calendar of ``zone`` when the times are UTC instants (the
    same wall-clock time ``holdout_days`` earlier, across a daylight-saving change too).
    """
    from custseg.timezones import calendar_to_utc, utc_to_calendar

    days = dt.timedelta(days=settings.model.holdout_days)
    return calendar_to_utc(utc_to_calendar(as_of, zone) - days, zone)


def holdout_check(
    before: pd.DataFrame,
    full: pd.DataFrame,
    settings: Settings,
    as_of: dt.datetime,
    k: int,
    source: str,
    first_purchase: dt.datetime | None = None,
    zone: str | None = None,
) -> dict[str, Any]:
    """Segment the customers as of the cut-off with k clusters; report who bought again.

    The check needs ``model.holdout_days`` of history before the cut-off as well as after
    it: data that spans less than twice that is skipped with a sentence saying so.

    Parameters
    ----------
    before : pandas.DataFrame
        The RFM table as of the cut-off (customers who had bought by then).
    full : pandas.DataFrame
        The run's RFM table (as of ``as_of``).
    settings : Settings
        ``model.holdout_days``, the seed, K-Means initialisations, the sample cap.
    as_of : datetime
        The run's as-of date.
    k : int
        The run's k.
    source : str
        The input's name, for messages.
    first_purchase : datetime, optional
        The first kept purchase: with it, a span too short for the check is said as such.
    zone : str, optional
        The calendar's time zone when the times are UTC instants (see :func:`holdout_cutoff`).

    Returns
    -------
    dict
        cutoff, days, table (per persona: customers, bought_again, holdout_orders_mean,
        holdout_spend_mean) as records, and a sentence; or a note when the data before the
        cut-off cannot be segmented.
    """
    from custseg.migration import holdout_table
    from custseg.segmentation import fit_fixed_k

    days = settings.model.holdout_days
    cutoff = holdout_cutoff(settings, as_of, zone)

    def skipped(why: str) -> dict[str, Any]:
        return {
            "cutoff": cutoff.isoformat(timespec="seconds"),
            "days": days,
            "table": [],
            "sentence": f"No holdout check: {why}",
        }

    if first_purchase is not None and as_of - first_purchase < dt.timedelta(days=2 * days):
        span = (as_of - first_purchase) / dt.timedelta(days=1)
        return skipped(
            f"the data spans {span:.0f} day{'s' if round(span) != 1 else ''} (first purchase "
            f"to the as-of date); the check needs at least {2 * days}, {days} before the "
            f"cut-off and {days} after it (model.holdout_days)."
        )
    sampled = ""
    cap = settings.model.sweep_max_customers
    if len(before) > cap:
        # Shares and means per persona need no more: a seeded sample, said in the sentence.
        pick = np.random.default_rng(settings.model.seed).choice(len(before), cap, replace=False)
        sampled = f" (a seeded sample of {cap:,} of the {len(before):,} customers then)"
        before = before.iloc[np.sort(pick)].reset_index(drop=True)
    try:
        assigned, names = fit_fixed_k(before, k, settings.model, source)
    except UserError as exc:
        return skipped(f"the data before {cutoff:%Y-%m-%d} cannot be segmented ({exc})")
    table = holdout_table(assigned, full, list(dict.fromkeys(names)))
    top, bottom = table.iloc[0], table.iloc[-1]
    sentence = (
        f"Segmented on the data before {cutoff:%Y-%m-%d} ({days} days before the as-of date)"
        f"{sampled}: "
        f"{top['bought_again']:.0%} of {top['persona']} bought again in those {days} days "
        f"(mean spend {top['holdout_spend_mean']:,.2f}), against {bottom['bought_again']:.0%} "
        f"of {bottom['persona']} ({bottom['holdout_spend_mean']:,.2f})."
    )
    if "persona" in full:
        sentence += _other_personas(list(table["persona"]), set(full["persona"].unique()))
    few = [(int(r["customers"]), str(r["persona"])) for r in (top, bottom)]
    if min(n for n, _ in few) < FEW_CUSTOMERS:
        sentence += (
            " Few customers stand behind these shares ("
            + " and ".join(f"{n:,} in {persona}" for n, persona in few)
            + "): read them as an indication, not a measurement."
        )
    return {
        "cutoff": cutoff.isoformat(timespec="seconds"),
        "days": days,
        "table": table.to_dict("records"),
        "sentence": sentence,
    }


def _other_personas(then: list[str], now: set[str]) -> str:
    """Say so when the cut-off's personas are not the run's (named from their own profiles).

    Examples
    --------
    >>> _other_personas(["Champions", "Loyal"], {"Champions", "New Customers"})[-70:]
    '(Champions, Loyal): Loyal is not among the personas of the as-of date.'
    >>> _other_personas(["Champions"], {"Champions"})
    ''
    """
    new = [name for name in then if name not in now]
    if not new:
        return ""
    return (
        f" The personas of that date are named from its own profiles ({', '.join(then)}): "
        f"{', '.join(new)} {'is' if len(new) == 1 else 'are'} not among the personas of the "
        "as-of date."
    )
