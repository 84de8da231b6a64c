"""What-if campaign planner: the purchases a campaign adds over the model's baseline.

A campaign is sent to the N customers of a persona and runs for a window of
``window_days`` (30 or 90). The CLV model (``custseg clv``, clv_personas.csv) gives, per
persona, the mean probability that a customer makes at least one purchase in the window
(``p_purchase_30d`` / ``p_purchase_90d``: the *baseline*, what happens without the
campaign) and the mean expected spend per purchase (``expected_spend_per_purchase``).
The user states the uplift: how many percentage points the campaign adds to that
probability (``uplift_pp``). Then:

    baseline_buyers      = N x baseline_probability
    incremental_buyers   = N x uplift_pp / 100
    incremental_revenue  = incremental_buyers x expected_spend_per_purchase
    buyers_redeeming     = (baseline_buyers + incremental_buyers) x redemption_rate
    cost                 = N x contact_cost + buyers_redeeming x offer_cost
    profit               = incremental_revenue x margin - cost
    roi                  = profit / cost

Only the uplift earns revenue: a customer who would have bought anyway adds nothing. The
offer, though, is paid to every buyer in the window who redeems it, baseline buyers
included, so a persona that buys anyway (Champions, baseline near 1) makes an expensive
campaign, while the old count (responders x the persona's whole expected revenue) ranked
it first. An incremental buyer is counted for one purchase at the persona's mean spend.

This is arithmetic on assumptions the user states, not a causal estimate: the model gives
the baseline; the uplift and the redemption rate are the user's to check, e.g. with a
holdout group that is not contacted.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, InitVar, dataclass, replace

import pandas as pd

from custseg.errors import UserError

__all__ = [
    "COLUMNS",
    "FORMULA",
    "SPEND_COLUMN",
    "WINDOWS",
    "Campaign",
    "baseline_column",
    "check_personas",
    "plan_campaign",
    "plan_table",
]

FORMULA = (
    "baseline_buyers = customers x baseline_probability (p_purchase_<window_days>d); "
    "incremental_buyers = customers x uplift_pp / 100; "
    "incremental_revenue = incremental_buyers x expected_spend_per_purchase; "
    "buyers_redeeming = (baseline_buyers + incremental_buyers) x redemption_rate; "
    "cost = customers x contact_cost + buyers_redeeming x offer_cost; "
    "profit = incremental_revenue x margin - cost; "
    "roi = profit / cost"
)

#: The planner's output columns (plan.csv, the dashboard's table), the baseline beside the uplift.
COLUMNS = [
    "campaign",
    "persona",
    "customers",
    "window_days",
    "baseline_buyers",
    "baseline_probability",
    "uplift_pp",
    "incremental_buyers",
    "expected_spend_per_purchase",
    "incremental_revenue",
    "buyers_redeeming",
    "cost",
    "profit",
    "roi",
]

#: The campaign windows clv_personas.csv gives a purchase probability for, in days.
WINDOWS: tuple[int, ...] = (30, 90)

#: clv_personas.csv's column of the persona's mean expected spend per purchase.
SPEND_COLUMN = "expected_spend_per_purchase"

# baseline + uplift may reach 100% exactly: a model's 0.9000000000000001 still takes 10 pp.
_TOLERANCE = 1e-9


def baseline_column(window_days: int) -> str:
    """Name the clv_personas.csv column of the purchase probability in a window.

    Examples
    --------
    >>> baseline_column(30)
    'p_purchase_30d'
    """
    return f"p_purchase_{window_days}d"


@dataclass(frozen=True)
class Campaign:
    """One campaign's assumptions (defaults documented in docs/campaigns.md).

    Every field after ``persona`` is keyword-only, so that a call written for the old
    fields cannot silently put a response rate where the uplift goes.

    Attributes
    ----------
    name : str
        A label.
    persona : str
        The persona targeted.
    contact_cost : float
        Cost of contacting one customer (default 0.10).
    offer_cost : float
        Cost of the offer per buyer who redeems it, e.g. the discount (default 5.0).
    uplift_pp : float
        Percentage points the campaign adds to the probability that a customer buys in the
        window, 0..100 (default 2.0).
    window_days : int
        The campaign window, 30 or 90 days (default 30).
    redemption_rate : float
        Share of the buyers in the window, baseline buyers included, who redeem the offer,
        0..1 (default 1.0).
    margin : float
        Gross margin on revenue, 0..1 (default 0.3).
    response_rate : None
        No longer used; giving it raises :class:`~custseg.errors.UserError` naming
        ``uplift_pp``.
    """

    name: str
    persona: str
    _: KW_ONLY
    contact_cost: float = 0.10
    offer_cost: float = 5.0
    uplift_pp: float = 2.0
    window_days: int = 30
    redemption_rate: float = 1.0
    margin: float = 0.3
    response_rate: InitVar[object] = None

    def __post_init__(self, response_rate: object) -> None:
        """Refuse the old ``response_rate`` key, naming the one that replaces it."""
        if response_rate is not None:
            raise UserError(
                f"campaign {self.name!r}: response_rate is no longer used: the planner counts "
                "the uplift over the model's baseline; give uplift_pp (percentage points added "
                "to the probability of a purchase in the window) instead."
            )

    def check(self) -> None:
        """Refuse impossible values, naming the campaign and the field."""
        window = self.window_days
        if isinstance(window, bool) or window not in WINDOWS:
            raise UserError(
                f"campaign {self.name!r}: window_days = {window!r} is not "
                f"{' or '.join(map(str, WINDOWS))} (the windows the CLV figures give a "
                "purchase probability for)."
            )
        for field, value, lo, hi in (
            ("uplift_pp", self.uplift_pp, 0.0, 100.0),
            ("redemption_rate", self.redemption_rate, 0.0, 1.0),
            ("margin", self.margin, 0.0, 1.0),
            ("contact_cost", self.contact_cost, 0.0, float("inf")),
            ("offer_cost", self.offer_cost, 0.0, float("inf")),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserError(f"campaign {self.name!r}: {field} = {value!r} is not a number.")
            if not lo <= value <= hi:
                raise UserError(
                    f"campaign {self.name!r}: {field} = {value} is outside {lo:g}..{hi:g}."
                )


def check_personas(personas: pd.DataFrame, source: str = "the CLV table") -> pd.DataFrame:
    """Check that a clv_personas.csv table has the planner's columns, as numbers in range.

    Parameters
    ----------
    personas : pandas.DataFrame
        clv_personas.csv: persona, customers, ``p_purchase_30d``, ``p_purchase_90d``,
        ``expected_spend_per_purchase``.
    source : str
        Where the table came from, as the error should name it (a path).

    Returns
    -------
    pandas.DataFrame
        A copy with those columns as numbers.

    Raises
    ------
    UserError
        For a missing column (a folder written by an older custseg) or a value that is
        empty, not a number or out of range; the sentence says to rerun ``custseg clv``.
    """
    missing = {"persona", "customers"} - set(personas.columns)
    if missing:
        raise UserError(f"{source} has no column {', '.join(sorted(missing))}; rerun custseg clv.")
    probabilities = [baseline_column(w) for w in WINDOWS]
    missing = {*probabilities, SPEND_COLUMN} - set(personas.columns)
    if missing:
        raise UserError(
            f"{source} has no column {', '.join(sorted(missing))}: it was written by an older "
            "custseg, before the planner counted the uplift over the model's baseline; rerun "
            "custseg clv to write them."
        )
    out: pd.DataFrame = personas.copy()
    for column, hi in (
        ("customers", float("inf")),
        (SPEND_COLUMN, float("inf")),
        *((p, 1.0) for p in probabilities),
    ):
        values = pd.to_numeric(out[column], errors="coerce")
        bad = out.loc[values.isna() | (values < 0) | (values > hi), column]
        if len(bad):
            shown = "an empty value" if pd.isna(bad.iloc[0]) else repr(str(bad.iloc[0]))
            wanted = "of at least 0" if hi == float("inf") else f"from 0 to {hi:g}"
            raise UserError(
                f"{source}: {column} holds {shown}, not a number {wanted}; rerun custseg clv."
            )
        out[column] = values
    return out


def plan_campaign(campaign: Campaign, personas: pd.DataFrame) -> dict[str, float | str]:
    """Apply :data:`FORMULA` to one persona.

    Parameters
    ----------
    campaign : Campaign
        The assumptions.
    personas : pandas.DataFrame
        clv_personas.csv (see :func:`check_personas`).

    Returns
    -------
    dict
        campaign, persona, customers, window_days, baseline_buyers, baseline_probability,
        uplift_pp, incremental_buyers, expected_spend_per_purchase, incremental_revenue,
        buyers_redeeming, cost, profit, roi (profit / cost).

    Raises
    ------
    UserError
        For a bad value, an unknown persona, or an uplift that would take the persona's
        baseline past 100%.
    """
    campaign.check()
    personas = check_personas(personas)
    row = personas.loc[personas["persona"] == campaign.persona]
    if row.empty:
        raise UserError(
            f"campaign {campaign.name!r}: no persona {campaign.persona!r} in the CLV figures "
            f"({', '.join(map(str, personas['persona']))})."
        )
    n = float(row["customers"].iloc[0])
    baseline = float(row[baseline_column(campaign.window_days)].iloc[0])
    uplift = campaign.uplift_pp / 100
    if baseline + uplift > 1 + _TOLERANCE:
        raise UserError(
            f"campaign {campaign.name!r}: persona {campaign.persona!r} already buys within "
            f"{campaign.window_days} days with a probability of {baseline:.1%}, so an uplift "
            f"of {campaign.uplift_pp:g} percentage points would take it past 100%; give "
            f"uplift_pp of at most {max(0.0, 100 * (1 - baseline)):.1f}."
        )
    spend = float(row[SPEND_COLUMN].iloc[0])
    baseline_buyers = n * baseline
    incremental_buyers = n * uplift
    revenue = incremental_buyers * spend
    redeeming = (baseline_buyers + incremental_buyers) * campaign.redemption_rate
    cost = n * campaign.contact_cost + redeeming * campaign.offer_cost
    profit = revenue * campaign.margin - cost
    return {
        "campaign": campaign.name,
        "persona": campaign.persona,
        "customers": int(n),
        "window_days": int(campaign.window_days),
        "baseline_buyers": baseline_buyers,
        "baseline_probability": baseline,
        "uplift_pp": float(campaign.uplift_pp),
        "incremental_buyers": incremental_buyers,
        "expected_spend_per_purchase": spend,
        "incremental_revenue": revenue,
        "buyers_redeeming": redeeming,
        "cost": cost,
        "profit": profit,
        "roi": profit / cost if cost else float("nan"),
    }


def plan_table(campaign: Campaign, personas: pd.DataFrame) -> pd.DataFrame:
    """Apply the same campaign to every persona, for comparison (best profit first).

    Parameters
    ----------
    campaign : Campaign
        The assumptions; its persona is ignored.
    personas : pandas.DataFrame
        clv_personas.csv (see :func:`check_personas`).

    Returns
    -------
    pandas.DataFrame
        One row per persona as :func:`plan_campaign` gives it, best profit first (ties in
        the table's order).

    Notes
    -----
    A persona whose baseline leaves less room than the uplift (baseline + uplift > 100%)
    has no row: the comparison shows the personas the stated campaign can apply to, and
    the caller can name the rest by comparing the persona columns.
    """
    campaign.check()
    personas = check_personas(personas)
    # The same comparison as plan_campaign's refusal, element by element.
    reached = personas[baseline_column(campaign.window_days)] + campaign.uplift_pp / 100
    fits = personas.loc[reached <= 1 + _TOLERANCE, "persona"]
    rows = [plan_campaign(replace(campaign, persona=str(p)), personas) for p in fits]
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = table.sort_values("profit", ascending=False, kind="mergesort")
    out: pd.DataFrame = table.reset_index(drop=True)
    return out
