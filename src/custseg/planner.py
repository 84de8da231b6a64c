"""What-if campaign planner: expected incremental revenue and profit from the CLV figures.

For a campaign sent to the N customers of a persona:

    responders             = N x response_rate
    incremental_revenue    = responders x mean expected revenue per customer of the persona
    cost                   = N x contact_cost + responders x offer_cost
    profit                 = incremental_revenue x margin - cost

The mean expected revenue per customer is the persona's CLV figure over the horizon
(``custseg clv``). This is arithmetic on assumptions the user states, not a causal
estimate: the response rate and the idea that a responder adds one more horizon's worth
of revenue are the user's to check, e.g. with a holdout group.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from custseg.errors import UserError

__all__ = ["FORMULA", "Campaign", "plan_campaign", "plan_table"]

FORMULA = (
    "responders = customers x response_rate; incremental_revenue = responders x "
    "expected_revenue_per_customer; cost = customers x contact_cost + responders x offer_cost; "
    "profit = incremental_revenue x margin - cost"
)


@dataclass(frozen=True)
class Campaign:
    """One campaign's assumptions (defaults documented in the README).

    Attributes
    ----------
    name : str
        A label.
    persona : str
        The persona targeted.
    contact_cost : float
        Cost of contacting one customer (default 0.10).
    offer_cost : float
        Cost of the offer per responder, e.g. the discount (default 5.0).
    response_rate : float
        Share of contacted customers who respond, 0..1 (default 0.05).
    margin : float
        Gross margin on revenue, 0..1 (default 0.3).
    """

    name: str
    persona: str
    contact_cost: float = 0.10
    offer_cost: float = 5.0
    response_rate: float = 0.05
    margin: float = 0.3

    def check(self) -> None:
        """Refuse impossible values, naming the campaign and the field."""
        for field, value, lo, hi in (
            ("response_rate", self.response_rate, 0.0, 1.0),
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


def plan_campaign(campaign: Campaign, personas: pd.DataFrame) -> dict[str, float | str]:
    """Apply :data:`FORMULA` to one persona.

    Parameters
    ----------
    campaign : Campaign
        The assumptions.
    personas : pandas.DataFrame
        clv_personas.csv: persona, customers, expected_revenue.

    Returns
    -------
    dict
        campaign, persona, customers, responders, expected_revenue_per_customer,
        incremental_revenue, cost, profit, roi (profit / cost).
    """
    campaign.check()
    row = personas.loc[personas["persona"] == campaign.persona]
    if row.empty:
        raise UserError(
            f"campaign {campaign.name!r}: no persona {campaign.persona!r} in the CLV figures "
            f"({', '.join(map(str, personas['persona']))})."
        )
    n = float(row["customers"].iloc[0])
    per = float(row["expected_revenue"].iloc[0]) / n if n else 0.0
    responders = n * campaign.response_rate
    revenue = responders * per
    cost = n * campaign.contact_cost + responders * campaign.offer_cost
    profit = revenue * campaign.margin - cost
    return {
        "campaign": campaign.name,
        "persona": campaign.persona,
        "customers": int(n),
        "responders": responders,
        "expected_revenue_per_customer": per,
        "incremental_revenue": revenue,
        "cost": cost,
        "profit": profit,
        "roi": profit / cost if cost else float("nan"),
    }


def plan_table(campaign: Campaign, personas: pd.DataFrame) -> pd.DataFrame:
    """Apply the same campaign to every persona, for comparison (best profit first)."""
    rows = [
        plan_campaign(
            Campaign(
                campaign.name,
                str(p),
                campaign.contact_cost,
                campaign.offer_cost,
                campaign.response_rate,
                campaign.margin,
            ),
            personas,
        )
        for p in personas["persona"]
    ]
    table = pd.DataFrame(rows).sort_values("profit", ascending=False, kind="mergesort")
    out: pd.DataFrame = table.reset_index(drop=True)
    return out
