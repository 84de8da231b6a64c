"""The dashboard's tabs: overview, choosing k, segments and customers."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pandas as pd
import streamlit as st

from custseg.charts import (
    PERSONA_COLORS,
    crosstab_chart,
    customer_scatter,
    holdout_chart,
    k_selection_chart,
    profile_heatmap,
    segment_share_chart,
)
from custseg.dashboard.sidebar import in_sidebar_words
from custseg.dashboard.tables import markdown_table, show
from custseg.dashboard.uploads import shown_name
from custseg.io import csv_safe
from custseg.reporting import INPUT_NOTE, quality_notes, quality_table, stability_note
from custseg.results import RunResult
from custseg.scores import persona_crosstab

__all__ = ["customers_ui", "k_selection_ui", "overview_ui", "segments_ui"]


def _money(value: float) -> str:
    """Format an amount compactly, so that it fits a metric card (12.3k, 4.41M)."""
    for threshold, unit, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / unit:.3g}{suffix}"
    return f"{value:,.0f}"


def this_week(segments: pd.DataFrame, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the summary a marketer reads first: each persona's size, revenue and action.

    With ``previous`` (the segments of the run shown before, same personas' names), the
    change in customers is given too.
    """
    table = segments[["persona", "customers", "share", "revenue", "revenue_share", "action"]]
    table = table.sort_values("revenue", ascending=False, kind="mergesort").reset_index(drop=True)
    if previous is not None:
        before = previous.set_index("persona")["customers"]
        table.insert(
            2,
            "change",
            [
                int(n - before.get(p, 0))
                for p, n in zip(table["persona"], table["customers"], strict=True)
            ],
        )
    out: pd.DataFrame = table.rename(columns={"action": "what to do this week"})
    return out


def overview_ui(result: RunResult, previous: RunResult | None = None) -> None:
    """Draw the summary a marketer reads first; the data-quality accounting one click away."""
    q = result.quality
    cols = st.columns(4)
    cols[0].metric("Customers", f"{q.customers:,}")
    cols[1].metric("Segments", f"{len(result.segments)}")
    cols[2].metric("Revenue", _money(q.revenue))
    cols[3].metric("Data up to", q.last_purchase[:10])
    segments = result.segments
    top = segments.sort_values("revenue", ascending=False, kind="mergesort").iloc[0]
    st.markdown(
        f"**{top.persona}** ({top.customers:,} customers, {top.share:.0%} of them) hold "
        f"**{top.revenue_share:.0%} of revenue**. Each segment, largest revenue first, with "
        "what to do this week:"
    )
    comparable = (
        previous is not None
        and previous.quality.input.sha256 == q.input.sha256
        and previous.segments["persona"].tolist() != []
    )
    summary = this_week(segments, previous.segments if comparable and previous else None)
    st.markdown(markdown_table(summary))
    if comparable and previous is not None:
        # A persona of the earlier segmentation that this one has not: its customers went
        # to the others (the column would not add up without it).
        earlier = previous.segments.set_index("persona")["customers"]
        gone = earlier[~earlier.index.isin(segments["persona"])]
        st.caption(
            "Change: customers per segment against the segmentation of the same file shown "
            f"before (k = {previous.model.k}, as of {previous.quality.as_of[:10]})"
            + (
                "; no longer a segment: " + ", ".join(f"{p} ({n:,})" for p, n in gone.items())
                if len(gone)
                else ""
            )
            + "."
        )
    else:
        st.caption("No earlier segmentation of this file to compare with in this session.")
    # Drawn only when opened: the accounting's table is not on the first screen.
    notes = quality_notes(q, result.model)
    quality = st.expander(
        f"Data quality: {q.rows_read:,} rows read, {q.rows_kept:,} kept "
        f"({q.rows_read - q.rows_kept:,} dropped by the rules)"
        + (f"; {len(notes)} note{'s' if len(notes) > 1 else ''}" if notes else ""),
        expanded=False,
        key="quality-open",
        on_change="rerun",
    )
    if quality.open:
        with quality:
            _accounting_ui(result, notes)


def _accounting_ui(result: RunResult, notes: list[str]) -> None:
    """Draw the data-quality accounting: dates, ``notes`` (:func:`quality_notes`), drops."""
    q = result.quality
    cols = st.columns(3)
    cols[0].metric("Orders", f"{q.orders:,}" if q.orders is not None else "n/a")
    cols[1].metric("First purchase", q.first_purchase[:10])
    cols[2].metric("Last purchase", q.last_purchase[:10])
    st.caption(
        f"Recency is measured in whole days before the as-of date {q.as_of.replace('T', ' ')}"
        f" ({q.as_of_source}). Input: {shown_name(q.input.path)} ({q.input.format}), "
        f"sha256 {q.input.sha256[:12]}..."
    )
    for note in notes:
        # How the input was read is information; the other notes change the numbers.
        said = st.info if note.startswith(INPUT_NOTE) else st.warning
        said(in_sidebar_words(note))
    # The rows dropped as bars inside the table: no chart library on the first screen (the
    # report draws the same figures as a chart).
    table = quality_table(q)
    table["share of rows read"] = table["rows dropped"] / max(q.rows_read, 1)
    table["what it drops"] = table["what it drops"].map(in_sidebar_words)
    # The counts before the long descriptions, which the table cuts at its edge.
    first = ["rule", "applied", "rows dropped", "share of rows read", "what it drops"]
    table = table[[*first, *[c for c in table.columns if c not in first]]]
    st.markdown(
        f"**{q.rows_read:,} rows read = {q.rows_kept:,} kept + "
        f"{q.rows_read - q.rows_kept:,} dropped.** Each row is counted under the first "
        "rule that drops it, in this order:"
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=(len(table) + 1) * 35 + 3,  # every rule in view, no inner scroll
        column_config={
            "rows dropped": st.column_config.NumberColumn(format="localized"),
            "share of rows read": st.column_config.ProgressColumn(
                "share of rows read", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )
    mapping = ", ".join(f"{k} = `{v}`" for k, v in q["input"]["mapping"].items() if v)
    st.caption(f"Columns used: {mapping}.")


def k_selection_ui(result: RunResult, table: pd.DataFrame | None = None) -> None:
    """Draw the scores against k, the chosen k and the reason in words.

    ``table`` is the k table to show (with k set by the user: every k's scores from the
    auto run, the user's k marked chosen); default: the run's own.
    """
    selection = result.model.k_selection
    table = result.k_table if table is None else table
    st.markdown(f"### k = {result.model.k}")
    st.info(selection.reason)
    if selection.mode != "auto" and len(table) > 1:
        st.caption(
            "k is set in the sidebar; the scores of every k come from the automatic choice "
            "on the same data, for comparison."
        )
    cfg = result.model.settings["model"]
    shaded = (cfg["business_k_min"], cfg["business_k_max"]) if selection.mode == "auto" else None
    st.plotly_chart(k_selection_chart(table, shaded), key="k-chart")
    sample = selection.silhouette_sample_size
    st.caption(
        (
            "Silhouette computed on all customers."
            if selection.silhouette_exact
            else f"Silhouette estimated on a seeded sample of {sample:,} customers."
        )
        + (f" {note}" if (note := stability_note(table)) else "")
    )
    # Nine rows to read, not to sort: Markdown, no data grid to load for this tab.
    shown = table.assign(chosen=table["chosen"].map({True: "chosen", False: ""}))
    st.markdown(markdown_table(shown))


def _card(row: Any, horizon: int) -> None:
    color = PERSONA_COLORS.get(row.persona, "#999999")
    with st.container(border=True):
        st.markdown(
            f"<div style='border-left:8px solid {color};padding-left:10px'>"
            f"<span style='font-size:1.25rem;font-weight:700'>{row.persona}</span>"
            f"<span style='color:#777'> &nbsp;cluster {row.cluster}</span></div>",
            unsafe_allow_html=True,
        )
        a, b = st.columns(2)
        a.metric(
            "Customers",
            f"{row.customers:,}",
            f"{row.share:.1%} of customers",
            delta_color="off",
            delta_arrow="off",
        )
        b.metric(
            "Revenue",
            _money(row.revenue),
            f"{row.revenue_share:.1%} of revenue",
            delta_color="off",
            delta_arrow="off",
        )
        st.markdown(
            f"Mean recency **{row.recency_days_mean:,.0f} days** · "
            f"**{row.frequency_mean:,.1f} orders** · spend **{_money(row.monetary_mean)}**"
        )
        revenue = getattr(row, "expected_revenue", None)
        if revenue is not None and pd.notna(revenue):
            churn = row.churn_probability_mean
            risk = (
                f"mean churn risk **{churn:.0%}**"
                if pd.notna(churn)
                else "churn risk not measurable here (the model sees nobody drop out)"
            )
            st.markdown(
                f"Expected revenue **{_money(revenue)}** in the next {horizon} days · {risk}"
            )
        st.caption(row.description)
        st.markdown(f"**Suggested action:** {row.action}")
        st.caption(f"Channel: {row.channel}; when: {row.timing}.")


def segments_ui(result: RunResult) -> None:
    """Draw the persona cards, shares, the RFM profile and the customer scatter."""
    segments = result.segments
    per_row = 3
    rows = list(segments.itertuples())
    horizon = result.model.horizon_days
    for start in range(0, len(rows), per_row):
        cols = st.columns(per_row)
        for col, row in zip(cols, rows[start : start + per_row], strict=False):
            with col:
                _card(row, horizon)
    st.plotly_chart(segment_share_chart(segments), key="share-chart")
    st.plotly_chart(profile_heatmap(segments, result.model.centroids), key="profile-chart")
    # A seeded sample of 2,000 as in the report (its title says so): drawn in a blink.
    st.plotly_chart(customer_scatter(result.customers, max_points=2000), key="scatter-chart")
    st.markdown("#### Cluster personas against rule-based RFM segments")
    st.caption(
        "R, F and M scores 1-5 (quintiles, ties share a score) map to the 11 segment names "
        "marketing tools use; each customer has both labels (Customers tab and downloads)."
    )
    table = persona_crosstab(result.customers)
    st.plotly_chart(crosstab_chart(table), key="crosstab-chart")
    st.dataframe(table, width="stretch", key="crosstab-table")
    holdout = result.holdout
    if holdout:
        st.markdown("#### Do the personas predict what customers do next?")
        st.info(holdout["sentence"], icon=":material/fact_check:")
        if holdout["table"]:
            frame = pd.DataFrame(holdout["table"])
            st.plotly_chart(holdout_chart(frame, int(holdout["days"])), key="holdout-chart")
            show(frame, key="holdout-table")


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def customers_ui(result: RunResult) -> None:
    """Draw a filterable customer table and the downloads."""
    customers = result.customers
    personas = result.segments["persona"].tolist()
    # The filters belong to one segmentation: a new one (another k, another file) starts
    # with every customer shown instead of keeping a filter of personas that are gone.
    ranges = customers[["recency_days", "frequency", "monetary"]].agg(["min", "max"])
    run_key = hashlib.sha1(
        ("|".join(personas) + f"|{len(customers)}|{ranges.to_numpy().tolist()}").encode(),
        usedforsecurity=False,
    ).hexdigest()[:10]
    left, right = st.columns([2, 1])
    chosen = left.multiselect(
        "Personas", personas, default=personas, key=f"filter-persona-{run_key}"
    )
    search = right.text_input("Customer id contains", key="filter-id")
    c1, c2, c3 = st.columns(3)
    active = (
        [] if set(chosen) == set(personas) else [f"personas ({len(chosen)} of {len(personas)})"]
    )
    if search:
        active.append(f"id contains {search!r}")

    def bounds(col: Any, name: str, label: str) -> tuple[float, float]:
        lo, hi = float(customers[name].min()), float(customers[name].max())
        if lo == hi:
            return lo, hi
        # Days and orders are whole numbers, spend is shown to the unit: no "1.00 / 374.00".
        whole = name != "monetary"
        picked = col.slider(
            label,
            lo,
            hi,
            (lo, hi),
            step=1.0 if whole else None,
            format="%d" if whole else "%.0f",
            key=f"filter-{name}-{run_key}",
        )
        if (float(picked[0]), float(picked[1])) != (lo, hi):
            active.append(f"{label.split(' (')[0].lower()} {picked[0]:,.0f} to {picked[1]:,.0f}")
        return float(picked[0]), float(picked[1])

    rec = bounds(c1, "recency_days", "Recency (days)")
    freq = bounds(c2, "frequency", "Frequency (orders)")
    mon = bounds(c3, "monetary", "Monetary (total spend)")
    mask = (
        customers["persona"].isin(chosen)
        & customers["recency_days"].between(*rec)
        & customers["frequency"].between(*freq)
        & customers["monetary"].between(*mon)
    )
    if search:
        mask &= customers["customer_id"].str.contains(search, regex=False)
    shown = customers[mask]
    st.caption(
        f"{len(shown):,} of {len(customers):,} customers match"
        + (f" the filters: {'; '.join(active)}." if active else " (no filter).")
    )
    show(shown, height=420)
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button(
        "Filtered customers (CSV)",
        csv_safe(shown).to_csv(index=False).encode(),
        "customers_filtered.csv",
        "text/csv",
        key="dl-filtered",
    )
    d2.download_button(
        "All assignments (CSV)",
        csv_safe(customers).to_csv(index=False).encode(),
        "customers.csv",
        "text/csv",
        key="dl-csv",
    )
    d3.download_button(
        "All assignments (Parquet)",
        _parquet_bytes(customers),
        "customers.parquet",
        "application/octet-stream",
        key="dl-parquet",
    )
    d4.download_button(
        "Segment summary (CSV)",
        csv_safe(result.segments).to_csv(index=False).encode(),
        "segments.csv",
        "text/csv",
        key="dl-segments",
    )
    from custseg.commands.common import AUDIENCE_COLUMNS, audience_name

    st.markdown("**Audiences**: one file per persona, ready for an email or ads tool.")
    audience = st.selectbox("Persona", personas, key="audience-persona")
    chosen_rows = customers[customers["persona"] == audience][list(AUDIENCE_COLUMNS)]
    st.download_button(
        f"Audience: {audience} ({len(chosen_rows):,} customers, CSV)",
        csv_safe(chosen_rows).to_csv(index=False).encode(),
        audience_name(str(audience)),
        "text/csv",
        key="dl-audience",
    )
