"""The HTML report and the static figures, built from a run's results.

``report.html`` is one self-contained file: Plotly's JavaScript is inlined once, so it opens
without a network. Element ids are fixed, so the same results give the same bytes.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from custseg.charts import (
    PERSONA_COLORS,
    cohort_heatmap,
    crosstab_chart,
    customer_scatter,
    holdout_chart,
    k_selection_chart,
    persona_retention_chart,
    profile_heatmap,
    quality_chart,
    rfm_distribution_chart,
    sankey_chart,
    segment_share_chart,
)
from custseg.errors import UserError
from custseg.io import staged_folder
from custseg.labels import cell_text, column_kind, label
from custseg.preprocessing import LogStandardScaler
from custseg.results import ModelRecord, QualityRecord, RunResult
from custseg.scores import persona_crosstab

__all__ = [
    "INPUT_NOTE",
    "SECTIONS",
    "figure_html",
    "figures",
    "html_page",
    "load_run",
    "migration_page",
    "quality_notes",
    "quality_table",
    "render_report",
    "stability_note",
    "table_html",
    "write_figures",
]

#: How the note on how the input was read begins (:func:`quality_notes`).
INPUT_NOTE = "Input read as: "
#: The report's sections: (id, heading).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("data-quality", "Data quality"),
    ("k-selection", "Choosing k"),
    ("segments", "Segment sizes and revenue shares"),
    ("profiles", "RFM profiles per persona"),
    ("personas", "Personas and actions"),
    ("rfm-scores", "Cluster personas and rule-based RFM segments"),
    ("holdout", "Do the personas predict what customers do next?"),
    ("cohorts", "Cohort retention"),
)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:1150px;margin:0 auto;padding:24px 32px 64px}
h1{margin-bottom:4px}h2{margin-top:40px;border-bottom:2px solid #eee;padding-bottom:6px}
.meta{color:#666;font-size:.92rem}
table{border-collapse:collapse;font-size:.9rem;margin:12px 0}.wide{overflow-x:auto;max-width:100%}
td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}
th{background:#f2f2f2}td.t{text-align:left}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:14px}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px;
border-left-width:8px}
.card h3{margin:0 0 6px}.card p{margin:6px 0}.muted{color:#666}
.reason{background:#eef4fb;border-radius:6px;padding:10px 14px}
"""


def quality_table(quality: QualityRecord) -> pd.DataFrame:
    """Return the cleaning rules in order with what each drops, whether it ran, and its count.

    Parameters
    ----------
    quality : QualityRecord
        The data-quality record (``data_quality.json``).

    Returns
    -------
    pandas.DataFrame
        Columns rule, what it drops, applied, rows dropped, and example (the first example
        row of the unreadable-value reasons, as ``column='value'`` pairs).
    """
    examples = quality.examples

    def example(reason: str) -> str:
        rows = examples.get(reason) or []
        return ", ".join(f"{c}={v!r}" for c, v in rows[0].items()) if rows else ""

    table: pd.DataFrame = pd.DataFrame(
        [
            {
                "rule": r["reason"],
                "what it drops": r["description"],
                "applied": r["applied"],
                "rows dropped": quality.dropped[str(r["reason"])],
                "example": example(str(r["reason"])),
            }
            for r in quality.rules
        ]
    )
    return table


def stability_note(table: pd.DataFrame) -> str:
    """Say which k have a stability score, where some are blank (report and dashboard).

    Stability, the costly score, is measured only for the k the choice can use (the
    business range, or a k set by the user); the others' cells are empty.
    """
    if "stability" not in table:
        return ""
    ks = sorted(int(k) for k in table.loc[table["stability"].notna(), "k"])
    if not ks or len(ks) == len(table):
        return ""
    span = f"{ks[0]}..{ks[-1]}" if ks == list(range(ks[0], ks[-1] + 1)) else ", ".join(map(str, ks))
    return (
        f"Stability is measured for k = {span} only: the k the choice can use (the costly score)."
    )


def quality_notes(quality: QualityRecord, model: ModelRecord) -> list[str]:
    """Return the sentences a reader should see beside the counts: returns, fallbacks.

    Parameters
    ----------
    quality : QualityRecord
        The data-quality record (``data_quality.json``).
    model : ModelRecord
        The model record (``model.json``), for warnings of the k selection.

    Returns
    -------
    list of str
        Plain sentences, possibly none.
    """
    notes = []
    if quality.returns.get("return_lines"):
        notes.append(str(quality.returns["effect"]))
    if quality.non_product.get("lines") or quality.non_product.get("dropped"):
        notes.append(str(quality.non_product["effect"]))
    if quality.orders_counted_as != "distinct invoice ids":
        notes.append(f"Orders are {quality.orders_counted_as}.")
    if quality.input.layout not in ("none", "orders") or quality.input.currency:
        from custseg.io.layouts import layout_named

        layout = layout_named(quality.input.layout)
        said = [f"the {layout.title} layout" if layout else f"layout {quality.input.layout}"]
        if quality.input.currency:
            said.append(f"spend in {quality.input.currency}")
        if quality.input.timezone:
            said.append(
                f"times with UTC offsets read as instants, calendar in {quality.input.timezone}"
            )
        notes.append(INPUT_NOTE + "; ".join(said) + ".")
    notes.extend(str(w) for w in model.k_selection.warnings or [])
    return notes


def figures(result: RunResult) -> dict[str, go.Figure]:
    """Return the report's figures by name (also the PNG file names).

    Parameters
    ----------
    result : RunResult
        A run's results.

    Returns
    -------
    dict
        Name -> Plotly figure.
    """
    cfg = result.model.settings["model"]
    auto = result.model.k_selection.mode == "auto"
    business = (cfg["business_k_min"], cfg["business_k_max"]) if auto else None
    return {
        "data_quality": quality_chart(result.quality),
        "rfm_distributions": rfm_distribution_chart(result.customers, result.scaled),
        "k_selection": k_selection_chart(result.k_table, business),
        "segment_shares": segment_share_chart(result.segments),
        "rfm_profiles": profile_heatmap(result.segments, result.model.centroids),
        # 2,000 points: the report opens with every chart drawn in about 2 s (an SVG
        # point costs about 0.17 ms to draw); the dashboard shows up to 6,000.
        "customers": customer_scatter(result.customers, max_points=2000),
        "rfm_crosstab": crosstab_chart(persona_crosstab(result.customers)),
        **(
            {"holdout": holdout_chart(pd.DataFrame(holdout["table"]), int(holdout["days"]))}
            if (holdout := result.holdout) and holdout.get("table")
            else {}
        ),
        **(
            {
                "cohorts": cohort_heatmap(result.cohorts),
                "persona_retention": persona_retention_chart(result.persona_retention),
            }
            if not result.cohorts.empty
            else {}
        ),
    }


def _cell(value: Any, shown: str) -> str:
    if isinstance(value, (bool, np.bool_)):
        return f"<td class='t'>{'yes' if value else 'no'}</td>"
    if isinstance(value, (int, float, np.integer, np.floating)):
        # Undefined numbers (a baseline's counts, a standard error at a bound) are blank.
        return f"<td>{cell_text(shown, value)}</td>"
    return f"<td class='t'>{html.escape(str(value))}</td>"


def table_html(frame: pd.DataFrame) -> str:
    """Return a DataFrame as an HTML table: readable headers, numbers by kind, text escaped.

    Shares and probabilities read as percentages, money with two decimals and separators,
    counts as whole numbers, other numbers with one count of decimals per column
    (:mod:`custseg.labels`); the CSV files keep full precision.
    """
    kinds = [column_kind(str(c), frame[c]) for c in frame.columns]
    head = "".join(f"<th>{html.escape(label(str(c)))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(_cell(v, k) for v, k in zip(row, kinds, strict=True)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    # A table wider than the page scrolls inside its box instead of running off it.
    return (
        f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
        "</table></div>"
    )


def figure_html(fig: go.Figure, name: str) -> str:
    """Return a figure as an HTML fragment with a fixed element id (the same bytes each run).

    The fragment names its trace types (``data-traces``), from which :func:`html_page`
    chooses the Plotly bundle the page needs. The chart is drawn when the page has been
    parsed (``DOMContentLoaded``).
    """
    import re

    traces = " ".join(sorted({str(t.type) for t in fig.data}))
    plot = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"fig-{name}",
        config={"displaylogo": False},
    )  # fmt: skip
    # Drawn once the page is parsed, not while it is: each chart drawn during parsing laid
    # the page out again, and the report opened with every chart drawn in 2.4 s instead of
    # 1.8 s in Chromium (its text shows after 0.5 s).
    plot = re.sub(
        r"<script([^>]*)>(\s*window\.PLOTLYENV.*?)</script>",
        r'<script\1>document.addEventListener("DOMContentLoaded", function () {\2});</script>',
        plot,
        flags=re.DOTALL,
    )
    return f"<div data-traces='{traces}'>{plot}</div>"


#: Trace types in plotly.js's "cartesian" bundle (1.5 MB, where the full one is 4.8 MB).
CARTESIAN = frozenset(
    {"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
     "image", "pie", "scatter", "violin"}
)  # fmt: skip


def plotly_bundle(body: str) -> str:
    """Return the Plotly JavaScript a page needs: the cartesian bundle when it suffices.

    A page whose charts are all bars, scatters, heatmaps, histograms (the report, clv.html,
    cohorts.html) gets plotly.js's cartesian build of the same version, packaged with
    custseg (MIT licence): parsing it takes a third of the time, so the page opens with
    every chart drawn in about 2 s instead of 3 in Chromium. Any other trace (the Sankey of
    migration.html), or another plotly.js version, gets the full bundle.
    """
    import re
    from importlib.resources import files

    from plotly.offline import get_plotlyjs_version

    used = {t for found in re.findall(r"data-traces='([^']*)'", body) for t in found.split()}
    vendored = files("custseg").joinpath("data/plotly-cartesian.min.js")
    if used <= CARTESIAN and vendored.is_file():
        text = vendored.read_text(encoding="utf-8")
        if f"v{get_plotlyjs_version()}\n" in text[:200]:
            return text
    return str(get_plotlyjs())


def _prediction_line(row: Any, horizon: int) -> str:
    """Return the card's line on expected revenue and churn risk (``--with-clv``), or ""."""
    revenue = getattr(row, "expected_revenue", None)
    if revenue is None or pd.isna(revenue):
        return ""
    churn = row.churn_probability_mean
    risk = (
        f"mean churn risk <b>{churn:.0%}</b>"
        if pd.notna(churn)
        else "churn risk not measurable here (the model sees nobody drop out)"
    )
    return f"<p>Expected revenue <b>{revenue:,.0f}</b> in the next {horizon} days; {risk}</p>"


def _cards(segments: pd.DataFrame, horizon: int) -> str:
    out = []
    for row in segments.itertuples():
        color = PERSONA_COLORS.get(str(row.persona), "#999999")
        out.append(
            f"<div class='card' style='border-left-color:{color}'>"
            f"<h3>{html.escape(str(row.persona))} <span class='muted'>cluster {row.cluster}</span>"
            f"</h3><p><b>{row.customers:,}</b> customers ({row.share:.1%}), "
            f"<b>{row.revenue_share:.1%}</b> of revenue</p>"
            f"<p>Mean recency {row.recency_days_mean:,.0f} days, {row.frequency_mean:,.1f} "
            f"orders, spend {row.monetary_mean:,.2f}</p>"
            + _prediction_line(row, horizon)
            + f"<p class='muted'>{html.escape(str(row.description))}</p>"
            f"<p><b>Suggested action:</b> {html.escape(str(row.action))}</p>"
            f"<p class='muted'>Channel: {html.escape(str(getattr(row, 'channel', '')))}; "
            f"when: {html.escape(str(getattr(row, 'timing', '')))}.</p></div>"
        )
    return "<div class='cards'>" + "".join(out) + "</div>"


def render_report(result: RunResult) -> str:
    """Render the self-contained HTML report.

    Parameters
    ----------
    result : RunResult
        A run's results.

    Returns
    -------
    str
        The whole HTML document.
    """
    q, model = result.quality, result.model
    figs = figures(result)
    dropped = quality_table(q)
    selection = model.k_selection
    sample = (
        "all customers"
        if selection.silhouette_exact
        else f"a seeded sample of {selection.silhouette_sample_size:,} customers"
    )
    body = {
        "data-quality": (
            f"<p><b>{q.rows_read:,}</b> rows read = <b>{q.rows_kept:,}</b> kept + "
            f"{q.rows_read - q.rows_kept:,} dropped; each row is counted under the first "
            f"rule that drops it. {q.customers:,} customers, "
            + (f"{q.orders:,} orders, " if q.orders is not None else "")
            + f"revenue {q.revenue:,.2f}, purchases from {q.first_purchase[:10]} to "
            f"{q.last_purchase[:10]}.</p>"
            + "".join(f"<p>{html.escape(n)}</p>" for n in quality_notes(q, model))
            + figure_html(figs["data_quality"], "data_quality")
            + table_html(dropped)
            + figure_html(figs["rfm_distributions"], "rfm_distributions")
        ),
        "k-selection": (
            f"<p class='reason'><b>k = {model.k}.</b> {html.escape(selection.reason)}</p>"
            + figure_html(figs["k_selection"], "k_selection")
            + "<p class='muted'>"
            + " ".join(filter(None, [f"Silhouette on {sample}.", stability_note(result.k_table)]))
            + "</p>"
            + table_html(result.k_table)
        ),
        "segments": figure_html(figs["segment_shares"], "segment_shares")
        + table_html(result.segments.drop(columns=["description", "action"])),
        "profiles": figure_html(figs["rfm_profiles"], "rfm_profiles")
        + figure_html(figs["customers"], "customers"),
        "personas": _cards(result.segments, result.model.horizon_days),
        "rfm-scores": (
            "<p>Each customer also has R, F and M scores 1-5 (quintiles; equal values share a "
            "score; fewer days since the last purchase scores higher), the 3-digit code and "
            "the segment a fixed rule map gives that code (customers.csv: r_score, f_score, "
            "m_score, rfm_code, rfm_segment). The clusters are learnt from the data; the rule "
            "segments are the names marketing tools use. Where they agree, two independent "
            "methods say the same of a customer.</p>"
            + figure_html(figs["rfm_crosstab"], "rfm_crosstab")
            + table_html(persona_crosstab(result.customers).reset_index())
        ),
        "holdout": _holdout_html(result.holdout, figs),
        "cohorts": _cohorts_html(result, figs),
    }
    sections = "".join(
        f"<section id='{sid}'><h2>{title}</h2>{body[sid]}</section>" for sid, title in SECTIONS
    )
    versions = ", ".join(f"{k} {v}" for k, v in model.versions.items())
    meta = (
        f"Input {html.escape(q.input.path)} ({q.input.format}, sha256 "
        f"{q.input.sha256[:16]}...), as of {q.as_of.replace('T', ' ')} "
        f"({html.escape(q.as_of_source)}), seed {model.seed}. {html.escape(versions)}."
    )
    return html_page(
        f"custseg report: {model.k} customer segments", "Customer segments", meta, sections
    )


def _cohorts_html(result: RunResult, figs: dict[str, go.Figure]) -> str:
    if result.cohorts.empty:
        return "<p class='muted'>Not computed for this run (Spark MLlib path).</p>"
    from custseg.cohorts import PERSONA_CURVES, headline

    return (
        "<p>Cohort = month of a customer's first kept purchase; retention = share of the "
        "cohort with a kept purchase that many calendar months later (cohorts.csv). "
        f"{html.escape(headline(result.cohorts))} The last month is marked partial when the "
        "data ends before its end; "
        "the per-persona curves count only customers observable that long "
        "(cohort_personas.csv).</p>"
        + figure_html(figs["cohorts"], "cohorts")
        + figure_html(figs["persona_retention"], "persona_retention")
        + f"<p class='muted'>{html.escape(PERSONA_CURVES)}</p>"
    )


def _holdout_html(holdout: dict[str, Any], figs: dict[str, go.Figure]) -> str:
    if not holdout:
        return "<p class='muted'>Not run (model.holdout_days is 0).</p>"
    text = f"<p>{html.escape(str(holdout['sentence']))}</p>"
    if holdout["table"]:
        text += figure_html(figs["holdout"], "holdout") + (
            "<p class='muted'>Bought again: share of the persona's customers with an order "
            "after the cut-off; means are over all the persona's customers (holdout.csv: "
            "bought_again, holdout_orders_mean, holdout_spend_mean).</p>"
            + table_html(pd.DataFrame(holdout["table"]))
        )
    return text


#: Marks custseg's pages: ``report --html`` replaces only a page that has it.
GENERATOR = "<meta name='generator' content='custseg'>"


def is_custseg_page(head: bytes) -> bool:
    """Tell whether a file's first bytes are those of a page custseg wrote (:data:`GENERATOR`)."""
    return head.startswith(b"<!DOCTYPE html>") and GENERATOR.encode() in head[:200]


def html_page(title: str, heading: str, meta: str, body: str) -> str:
    """Wrap report sections in a self-contained page (styles and Plotly inlined)."""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{GENERATOR}"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style><script>{plotly_bundle(body)}</script></head><body><main>"
        f"<h1>{html.escape(heading)}</h1><p class='meta'>{meta}</p>{body}</main></body></html>\n"
    )


def migration_page(matrix: pd.DataFrame, moved: pd.DataFrame, meta: dict[str, Any]) -> str:
    """Render migration.html: the Sankey chart, the matrix and the customers who slipped."""
    fig = sankey_chart(matrix, str(meta["as_of_before"])[:10], str(meta["as_of_after"])[:10])
    order = " > ".join(html.escape(str(p)) for p in meta.get("value_order", []))
    body = (
        "<section><h2>Where each persona went</h2>"
        f"<p>{html.escape(str(meta['sentence']))}</p>"
        + "".join(f"<p>Warning: {html.escape(str(w))}</p>" for w in meta.get("warnings", []))
        + f"<p class='muted'>Value order (the model's clusters by standing, best first): "
        f"{order}.</p>"
        + figure_html(fig, "migration")
        + table_html(matrix)
        + "</section><section><h2>Customers who moved down the value order</h2>"
        # The most valuable first, where a list is cut: the customers to win back first.
        + (
            f"<p class='muted'>The {min(len(moved), 200):,} with the most spend before, of "
            f"{len(moved):,} (every one is in movers.csv).</p>"
            if len(moved) > 200
            else ""
        )
        + (
            table_html(
                moved.sort_values("monetary_before", ascending=False, kind="mergesort").head(200)
            )
            if len(moved)
            else "<p>None.</p>"
        )
        + "</section>"
    )
    return html_page(
        "custseg: persona migration",
        "Persona migration",
        html.escape(f"Input {meta['input']}; model {meta['model']}."),
        body,
    )


def write_figures(result: RunResult, folder: Path, *, scale: float = 2.0) -> list[Path]:
    """Write every report figure as a PNG (for slides) into ``folder``.

    Static export uses Kaleido, which drives a Chrome or Chromium browser installed on the
    machine (``/usr/bin/chromium`` from Debian's package works).

    Parameters
    ----------
    result : RunResult
        A run's results.
    folder : Path
        Destination, created if needed.
    scale : float
        Pixel density (2 = sharp on slides).

    Returns
    -------
    list of Path
        The PNG files.

    Raises
    ------
    UserError
        If no browser is available for the export.
    """
    figs = figures(result)
    if "BROWSER_PATH" not in os.environ:
        found = next(
            (shutil.which(b) for b in ("chromium", "google-chrome", "chrome") if shutil.which(b)),
            None,
        )
        if found is None:
            raise UserError(
                "PNG figures need a Chrome or Chromium browser for Plotly's static export; "
                "install one (e.g. `apt-get install chromium`) or set BROWSER_PATH."
            )
        os.environ["BROWSER_PATH"] = found
    import plotly.io as pio

    with staged_folder(folder, "--figures") as stage:
        try:
            # One batch: Kaleido starts the browser once (5 s for six figures instead of 16 s).
            pio.write_images(
                list(figs.values()),
                [stage / f"{name}.png" for name in figs],
                width=1100,
                height=[int(f.layout.height or 500) for f in figs.values()],
                scale=scale,
            )
        except RuntimeError as exc:  # Kaleido's browser failed
            raise UserError(f"Cannot export the PNG figures to {folder}: {exc}.") from exc
    return [folder / f"{name}.png" for name in figs]


def load_run(out_dir: Path) -> RunResult:
    """Rebuild a run's results from its output folder (as ``custseg run`` wrote it).

    Parameters
    ----------
    out_dir : Path
        A folder holding customers.parquet, segments.csv, k_selection.csv,
        data_quality.json and model.json.

    Returns
    -------
    RunResult
        The results, with the standardised features recomputed from model.json.

    Raises
    ------
    UserError
        If a file is missing or unreadable.
    """
    try:
        customers = pd.read_parquet(out_dir / "customers.parquet")
        segments = pd.read_csv(out_dir / "segments.csv")
        k_table = pd.read_csv(out_dir / "k_selection.csv")
        quality = QualityRecord.from_dict(
            json.loads((out_dir / "data_quality.json").read_text("utf-8"))
        )
        model = ModelRecord.from_dict(json.loads((out_dir / "model.json").read_text("utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"{out_dir} does not hold a complete custseg run ({exc}); run `custseg run` first."
        ) from exc
    scaler = LogStandardScaler.from_dict(model.scaler)
    scaled = scaler.transform(customers[model.features].to_numpy(dtype=np.float64))
    return RunResult(
        customers=customers,
        segments=segments,
        k_table=k_table,
        quality=quality,
        model=model,
        scaled=scaled,
        holdout=model.holdout or {},
        cohorts=_read_csv_or_empty(out_dir / "cohorts.csv"),
        persona_retention=_read_csv_or_empty(out_dir / "cohort_personas.csv"),
    )


def _read_csv_or_empty(path: Path) -> pd.DataFrame:
    frame: pd.DataFrame = pd.DataFrame()
    if path.is_file() and path.stat().st_size:
        frame = pd.read_csv(path)
    return frame
