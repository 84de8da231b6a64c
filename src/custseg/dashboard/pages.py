"""The dashboard's tabs that go beyond one run: scoring new orders and persona migration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from custseg.charts import (
    clv_persona_chart,
    cohort_heatmap,
    persona_retention_chart,
    predicted_actual_chart,
    sankey_chart,
)
from custseg.config import Settings
from custseg.dashboard.state import (
    MAX_UPLOAD_MB,
    run_clv,
    run_migration,
    run_scoring,
    save_upload,
)
from custseg.errors import UserError
from custseg.io import csv_safe
from custseg.results import RunResult

__all__ = ["clv_ui", "cohorts_ui", "migration_ui", "scoring_ui"]


def scoring_ui(result: RunResult, settings: Settings) -> None:
    """Upload new order lines and assign their customers with the model shown."""
    st.markdown(
        "Assign the customers of another order file to **these** segments, without refitting "
        "(the same cleaning rules, the model's scaler and centroids). The command line does "
        "the same with `custseg score ORDERS --model model.json`."
    )
    uploaded = st.file_uploader(
        "Order lines to score: .xlsx, .csv, .csv.gz or .parquet",
        type=["xlsx", "csv", "gz", "parquet"],
        key="score-upload",
        help=f"Up to {MAX_UPLOAD_MB} MB.",
    )
    if uploaded is None:
        st.caption("No file yet.")
        return
    path = save_upload(uploaded.name, uploaded.getvalue())
    try:
        scored = run_scoring(path, result.model, settings)
    except UserError as exc:
        st.error(str(exc).replace(str(path), uploaded.name), icon=":material/error:")
        return
    customers = scored.customers
    counts = (
        customers["persona"].value_counts().rename_axis("persona").reset_index(name="customers")
    )
    st.markdown(f"**{len(customers):,} customers scored** from {uploaded.name}.")
    st.dataframe(counts, hide_index=True, key="score-counts")
    st.dataframe(customers, hide_index=True, width="stretch", key="score-table")
    st.download_button(
        "Scored customers (CSV)",
        csv_safe(customers).to_csv(index=False).encode(),
        file_name="scored-customers.csv",
        mime="text/csv",
        key="score-download",
    )


def migration_ui(result: RunResult, path: Path | None, settings: Settings) -> None:
    """Pick two as-of dates; show how customers moved between personas."""
    st.markdown(
        "Segment the data as it was at a first date, then assign the customers at a second "
        "date with the same model: who moved where (`custseg migrate`)."
    )
    if path is None:
        st.caption("No input.")
        return
    end = dt.datetime.fromisoformat(result.quality.as_of)
    first = dt.datetime.fromisoformat(result.quality.first_purchase)
    left, right = st.columns(2)
    before = left.date_input(
        "First snapshot (as of)",
        value=max(first + dt.timedelta(days=30), end - dt.timedelta(days=90)).date(),
        key="mig-before",
    )
    after = right.date_input("Second snapshot (as of)", value=end.date(), key="mig-after")
    # Two more segmentations: only when asked, not on every page load.
    if not st.toggle("Compare the two snapshots", key="mig-run"):
        return
    try:
        migration = run_migration(path, f"{before}T00:00:00", f"{after}T{end:%H:%M:%S}", settings)
    except UserError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.info(migration.log["sentence"], icon=":material/compare_arrows:")
    st.plotly_chart(sankey_chart(migration.matrix, str(before), str(after)), key="sankey-chart")
    st.dataframe(migration.matrix, hide_index=True, width="stretch", key="mig-matrix")
    moved: pd.DataFrame = migration.moved
    st.markdown(f"**{len(moved):,} customers moved from a valuable persona to an at-risk one.**")
    if len(moved):
        st.dataframe(moved, hide_index=True, width="stretch", key="mig-movers")


def clv_ui(result: RunResult, path: Path | None, settings: Settings) -> None:
    """Predict purchases and spend per customer and persona; optionally backtest."""
    st.markdown(
        "What each customer and persona is worth next: BG/NBD predicts purchase days, "
        "Gamma-Gamma the spend per day, both by maximum likelihood (`custseg clv`)."
    )
    if path is None:
        st.caption("No input.")
        return
    end = dt.datetime.fromisoformat(result.quality.last_purchase).date()
    left, right = st.columns(2)
    horizon = int(left.number_input("Horizon (days)", 7, 730, 90, key="clv-horizon"))
    backtest = right.checkbox(
        "Backtest the horizon before the last purchase",
        help="Fit on the data up to `horizon` days before the last purchase and compare the "
        "predictions with what customers then did.",
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
    for warning in clv.params["warnings"]:
        st.warning(warning)
    st.plotly_chart(clv_persona_chart(clv.personas, horizon), key="clv-chart")
    st.dataframe(clv.personas, hide_index=True, width="stretch", key="clv-personas")
    if clv.backtest is not None:
        st.markdown(f"#### Backtest: calibration up to {cut}, the next {horizon} days")
        st.dataframe(clv.backtest, hide_index=True, width="stretch", key="clv-backtest-table")
        st.plotly_chart(predicted_actual_chart(clv.customers), key="clv-pa-chart")
    _planner_ui(clv.personas)
    st.download_button(
        "Customer lifetime values (CSV)",
        csv_safe(clv.customers).to_csv(index=False).encode(),
        file_name="clv.csv",
        mime="text/csv",
        key="clv-download",
    )


def cohorts_ui(result: RunResult) -> None:
    """Draw the cohort retention heatmap and the per-persona retention curves."""
    if result.cohorts.empty:
        st.caption("No cohorts for this run (Spark MLlib path).")
        return
    st.markdown(
        "Cohort = month of a customer's first kept purchase; retention = share of the cohort "
        "with a kept purchase that many calendar months later. The last month is marked with "
        "`*` when the data ends before its end: a short month, not a drop."
    )
    st.plotly_chart(cohort_heatmap(result.cohorts), key="cohort-chart")
    st.plotly_chart(persona_retention_chart(result.persona_retention), key="cohort-persona-chart")
    st.download_button(
        "Cohort table (CSV)",
        result.cohorts.to_csv(index=False).encode(),
        file_name="cohorts.csv",
        mime="text/csv",
        key="cohort-download",
    )


def _planner_ui(personas: pd.DataFrame) -> None:
    from custseg.planner import FORMULA, Campaign, plan_campaign, plan_table

    st.markdown("#### What-if campaign planner")
    st.caption(
        "Arithmetic on your assumptions and the CLV figures above, not a causal estimate: "
        "test the response rate with a holdout group before trusting it."
    )
    names = [str(p) for p in personas["persona"]]
    c1, c2, c3, c4, c5 = st.columns(5)
    persona = c1.selectbox("Persona", names, key="plan-persona")
    contact = c2.number_input("Contact cost", 0.0, 1000.0, 0.10, 0.05, key="plan-contact")
    offer = c3.number_input("Offer cost per responder", 0.0, 10000.0, 5.0, 1.0, key="plan-offer")
    rate = c4.number_input("Response rate", 0.0, 1.0, 0.05, 0.01, key="plan-rate")
    margin = c5.number_input("Margin", 0.0, 1.0, 0.30, 0.05, key="plan-margin")
    campaign = Campaign("what-if", str(persona), contact, offer, rate, margin)
    try:
        one = plan_campaign(campaign, personas)
    except UserError as exc:
        st.error(str(exc))
        return
    st.code(FORMULA.replace("; ", "\n"), language=None, wrap_lines=True)
    m1, m2, m3 = st.columns(3)
    m1.metric("Incremental revenue", f"{one['incremental_revenue']:,.0f}")
    m2.metric("Cost", f"{one['cost']:,.0f}")
    m3.metric("Expected profit", f"{one['profit']:,.0f}")
    st.markdown("The same campaign for every persona, best profit first:")
    st.dataframe(
        plan_table(campaign, personas).round(2), hide_index=True, width="stretch", key="plan-table"
    )
