"""The dashboard's tabs that go beyond one run: scoring new orders and persona migration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from custseg.asof import as_of_text
from custseg.charts import cohort_heatmap, persona_retention_chart, sankey_chart
from custseg.cohorts import PERSONA_CURVES
from custseg.config import Settings
from custseg.dashboard.sidebar import in_dashboard_words
from custseg.dashboard.state import (
    MAX_UPLOAD_MB,
    run_migration,
    run_scoring,
    save_upload,
)
from custseg.dashboard.tables import show
from custseg.errors import UserError
from custseg.io import csv_safe
from custseg.results import RunResult

__all__ = ["cohorts_ui", "migration_ui", "scoring_ui"]


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
    # The sidebar's column mapping names the columns of the file segmented there; this file
    # is read as `custseg score ORDERS` reads it, its own columns recognised by their names,
    # and only where that fails with the sidebar's mapping (a file of the same shop).
    own = settings.model_copy(update={"columns": type(settings.columns)()})
    mapped = ""
    try:
        scored = run_scoring(path, result.model, own)
    except UserError as exc:
        try:
            scored = run_scoring(path, result.model, settings)
            mapped = " (read with the sidebar's column mapping: its own columns were not "
            mapped += "recognised by their names)"
        except UserError:
            st.error(in_dashboard_words(str(exc), path), icon=":material/error:")
            return
    customers = scored.customers
    for warning in scored.run_log.facts.get("warnings", []):
        st.warning(warning.replace(str(path), uploaded.name))
    counts = (
        customers["persona"].value_counts().rename_axis("persona").reset_index(name="customers")
    )
    st.markdown(f"**{len(customers):,} customers scored** from {uploaded.name}{mapped}.")
    show(counts, key="score-counts", width="content")
    show(customers, key="score-table")
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
    if before >= after:  # said in the tab's words (the command's names its --as-of twice)
        st.error(
            f"The first snapshot ({before}) must come before the second ({after}).",
            icon=":material/error:",
        )
        return
    # The data's last date is its as-of time (the Segments tab's snapshot); a date is 00:00.
    second = dt.datetime.combine(after, end.time() if after == end.date() else dt.time())
    try:
        migration = run_migration(path, f"{before}T00:00:00", second.isoformat(), settings)
    except UserError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.info(migration.log["sentence"], icon=":material/compare_arrows:")
    st.caption(
        f"The same on the command line: `custseg migrate INPUT --as-of {before} "
        f"--as-of {as_of_text(second)}` (a date alone is 00:00 of that day)."
    )
    for warning in migration.log.get("warnings", []):
        st.warning(warning)
    st.plotly_chart(sankey_chart(migration.matrix, str(before), str(after)), key="sankey-chart")
    show(migration.matrix, key="mig-matrix")
    moved: pd.DataFrame = migration.moved
    st.markdown(
        f"**{len(moved):,} customers moved down the value order** (to a persona of lower "
        "standing; personas in the model's order, best first)."
    )
    if len(moved):
        show(moved, key="mig-movers")
        # The sentence above names movers.csv: the same file as custseg migrate writes.
        st.download_button(
            "Movers (movers.csv)",
            csv_safe(moved).to_csv(index=False).encode(),
            file_name="movers.csv",
            mime="text/csv",
            key="mig-movers-download",
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
    st.caption(PERSONA_CURVES)
    st.download_button(
        "Cohort table (CSV)",
        result.cohorts.to_csv(index=False).encode(),
        file_name="cohorts.csv",
        mime="text/csv",
        key="cohort-download",
    )
