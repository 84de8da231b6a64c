"""The dashboard's Lifetime value tab: the chosen model, its evaluation, the planner."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from custseg.clv_charts import (
    clv_persona_chart,
    deciles_chart,
    frequency_chart,
    predicted_actual_chart,
    tracking_chart,
)
from custseg.config import Settings
from custseg.dashboard.state import run_clv
from custseg.dashboard.tables import show
from custseg.errors import UserError
from custseg.io import csv_safe
from custseg.results import RunResult

__all__ = ["clv_ui"]


def clv_ui(result: RunResult, path: Path | None, settings: Settings) -> None:
    """Predict purchases and spend per customer and persona, from the model that wins."""
    st.markdown(
        "What each customer and persona is worth next (`custseg clv`): BG/NBD, the modified "
        "BG/NBD and Pareto/NBD are fitted and backtested; the winner (the lowest RMSE of "
        "purchases, see the warnings for the other measures) predicts purchase days "
        "and Gamma-Gamma the spend per day, all by maximum likelihood."
    )
    if path is None:
        st.caption("No input.")
        return
    end = dt.datetime.fromisoformat(result.quality.last_purchase).date()
    left, right = st.columns(2)
    horizon = int(left.number_input("Horizon (days)", 7, 730, 90, key="clv-horizon"))
    backtest = right.checkbox(
        "Predict the horizon before the last purchase (and compare)",
        help="Fit on the data up to `horizon` days before the last purchase and compare the "
        "predictions with what customers then did. Without it the model is chosen on the "
        "last 25% of the data's time span and refitted on all of it.",
        key="clv-backtest",
    )
    if not st.toggle("Compute lifetime value", key="clv-run"):
        return
    cut = (end - dt.timedelta(days=horizon)).isoformat() if backtest else None
    try:
        clv = run_clv(path, cut, horizon, settings)
    except UserError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    params = clv.params
    alive = bool(params["p_alive_informative"])
    st.info(params["choice"]["reason"], icon=":material/model_training:")
    for warning in params["warnings"]:
        st.warning(warning)
    st.plotly_chart(clv_persona_chart(clv.personas, horizon, alive=alive), key="clv-chart")
    shown = (
        clv.personas
        if alive
        else clv.personas.drop(columns=["p_alive_mean", "churn_probability_mean"], errors="ignore")
    )
    show(shown, key="clv-personas")
    notes = []
    if cut is not None:
        notes.append(
            f"The personas are fitted on the lines up to {cut}, as `custseg clv "
            "--calibration-end` fits them: they can differ from the Segments tab's."
        )
    from custseg.commands.clv import NO_SPEND  # loaded by run_clv already

    unspent = clv.personas.loc[clv.personas["persona"] == NO_SPEND, "customers"]
    if len(unspent):
        notes.append(
            f"{NO_SPEND}: {int(unspent.sum()):,} customer(s) whose purchases were all at a "
            "price of zero. Cleaning drops those lines (non_positive_price), so they are in "
            "no segment, but the purchase model counts their purchase days."
        )
    if notes:
        st.caption(" ".join(notes))
    _evaluation_ui(clv, chosen_by_split=cut is None)
    _planner_ui(clv.personas)
    st.download_button(
        "Customer lifetime values (CSV)",
        csv_safe(clv.customers).to_csv(index=False).encode(),
        file_name="clv.csv",
        mime="text/csv",
        key="clv-download",
    )


def _evaluation_ui(clv: Any, *, chosen_by_split: bool) -> None:
    """Show the backtest of every model and the chosen one's evaluation charts."""
    if clv.backtest is None:
        return
    choice = clv.params["choice"]
    st.markdown(
        f"#### Backtest: calibration up to {choice['calibration_end']}, the next "
        f"{choice['window_days']} days"
    )
    if chosen_by_split:  # not the horizon asked for: say where the window comes from
        st.caption(
            "The model is chosen on the last quarter of the data's time span, then refitted "
            "on all of it; tick 'Predict the horizon before the last purchase' to backtest "
            "the horizon itself."
        )
    show(clv.backtest, key="clv-backtest-table")
    evaluation = clv.evaluation
    st.plotly_chart(frequency_chart(evaluation["clv_eval_frequency.csv"]), key="clv-freq")
    st.plotly_chart(tracking_chart(evaluation["clv_eval_tracking.csv"]), key="clv-track")
    st.plotly_chart(deciles_chart(evaluation["clv_eval_deciles.csv"]), key="clv-deciles")
    if "actual_purchases" in clv.customers:
        st.plotly_chart(predicted_actual_chart(clv.customers), key="clv-pa-chart")


def _planner_ui(personas: pd.DataFrame) -> None:
    from custseg.planner import FORMULA, WINDOWS, Campaign, plan_campaign, plan_table

    st.markdown("#### What-if campaign planner")
    st.caption(
        "Counts only what the campaign adds over the model's baseline (the share of the "
        "persona who buy in the window anyway); the uplift is your assumption, not a causal "
        "estimate: measure it with a holdout group before trusting it."
    )
    names = [str(p) for p in personas["persona"]]
    c1, c2, c3, c4 = st.columns(4)
    persona = c1.selectbox("Persona", names, key="plan-persona")
    window = int(c2.selectbox("Window (days)", WINDOWS, key="plan-window") or WINDOWS[0])
    uplift = c3.number_input(
        "Uplift (percentage points)",
        0.0,
        100.0,
        2.0,
        0.5,
        help="Percentage points the campaign adds to the probability of a purchase in the window.",
        key="plan-uplift",
    )
    redemption = c4.number_input(
        "Redemption rate",
        0.0,
        1.0,
        1.0,
        0.05,
        help="Share of the buyers in the window, baseline buyers included, who redeem the offer.",
        key="plan-redemption",
    )
    c5, c6, c7 = st.columns(3)
    contact = c5.number_input("Contact cost", 0.0, 1000.0, 0.10, 0.05, key="plan-contact")
    offer = c6.number_input(
        "Offer cost per redeeming buyer", 0.0, 10000.0, 5.0, 1.0, key="plan-offer"
    )
    margin = c7.number_input("Margin", 0.0, 1.0, 0.30, 0.05, key="plan-margin")
    campaign = Campaign(
        "what-if",
        str(persona),
        contact_cost=contact,
        offer_cost=offer,
        uplift_pp=uplift,
        window_days=window,
        redemption_rate=redemption,
        margin=margin,
    )
    try:
        one = plan_campaign(campaign, personas)
        table = plan_table(campaign, personas)
    except UserError as exc:
        st.error(str(exc))
        return
    st.code(FORMULA.replace("; ", "\n"), language=None, wrap_lines=True)
    b1, b2, b3 = st.columns(3)
    b1.metric(f"Baseline: buy within {window} days", f"{one['baseline_probability']:.1%}")
    b2.metric(
        "With the campaign",
        f"{float(one['baseline_probability']) + uplift / 100:.1%}",
        f"+{uplift:g} pp",
    )
    b3.metric(
        "Buyers: baseline + incremental",
        f"{one['baseline_buyers']:,.0f} + {one['incremental_buyers']:,.0f}",
    )
    m1, m2, m3 = st.columns(3)
    m1.metric("Incremental revenue", f"{one['incremental_revenue']:,.0f}")
    m2.metric("Cost", f"{one['cost']:,.0f}")
    m3.metric("Expected profit", f"{one['profit']:,.0f}")
    st.markdown("The same campaign for every persona, best profit first:")
    # What the order is by first; the table is wider than the page (plan.csv's order).
    first = ["persona", "profit", "roi", "incremental_revenue", "cost"]
    show(table[[*first, *[c for c in table.columns if c not in first]]], key="plan-table")
    left_out = [p for p in names if p not in set(table["persona"])]
    if left_out:
        st.caption(
            f"Not in the table: {', '.join(left_out)}, whose baseline leaves less room than "
            f"{uplift:g} percentage points."
        )
