import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from typer.testing import CliRunner

from custseg.cli import app
from custseg.config import load_settings
from custseg.errors import UserError
from custseg.pipeline import segment, write_outputs
from custseg.reporting import (
    SECTIONS,
    figures,
    is_custseg_page,
    load_run,
    render_report,
    write_figures,
)


@pytest.fixture(scope="module")
def run_dir(synthetic: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    write_outputs(segment(synthetic, load_settings(None, {})), out)
    return out


class _Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.section_ids: list[str] = []
        self.figure_ids: list[str] = []
        self._section: str | None = None
        self.figures_by_section: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in {"script", "img", "link", "iframe"}:
            for key in ("src", "href"):
                if values.get(key):
                    self.sources.append(str(values[key]))
        if tag == "section":
            self._section = str(values["id"])
            self.section_ids.append(self._section)
            self.figures_by_section[self._section] = []
        if tag == "div" and str(values.get("id", "")).startswith("fig-") and self._section:
            self.figures_by_section[self._section].append(str(values["id"]))


def test_report_has_every_section_with_a_chart(run_dir: Path) -> None:
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    parser = _Sources()
    parser.feed(text)
    assert parser.section_ids == [sid for sid, _ in SECTIONS]
    for sid, title in SECTIONS:
        assert f"<h2>{title}</h2>" in text
        if sid != "personas":
            assert parser.figures_by_section[sid], f"no chart in {sid}"
    segments = pd.read_csv(run_dir / "segments.csv")
    for persona, action in zip(segments["persona"], segments["action"], strict=True):
        assert persona in text and action in text
    assert "Suggested action:" in text
    assert re.search(r"<b>\d[\d,]*</b> rows read = <b>[\d,]+</b> kept", text)


def test_report_makes_no_external_requests(run_dir: Path) -> None:
    parser = _Sources()
    parser.feed((run_dir / "report.html").read_text(encoding="utf-8"))
    assert not [s for s in parser.sources if re.match(r"(https?:)?//", s)]
    # Plotly's library is inlined, not fetched: its cartesian build, which has every trace
    # the report draws (1.5 MB instead of 4.8 MB).
    assert "cdn.plot.ly" not in " ".join(parser.sources)
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "plotly.js (cartesian - minified) v" in text[:20000]
    assert 1_400_000 < len(text) < 3_000_000


def test_a_page_with_another_trace_gets_the_full_bundle() -> None:
    import plotly.graph_objects as go

    from custseg.reporting import figure_html, plotly_bundle

    bars = figure_html(go.Figure(go.Bar(x=[1], y=[2])), "a")
    sankey = figure_html(go.Figure(go.Sankey(node={"label": ["a", "b"]})), "b")
    assert "(cartesian - minified)" in plotly_bundle(bars)[:200]
    full = plotly_bundle(bars + sankey)
    assert "(cartesian" not in full[:200] and len(full) > 4_000_000


def test_every_chart_is_drawn_once_the_page_is_parsed(run_dir: Path) -> None:
    # Drawing a chart while the page is parsed laid it out again each time (the report
    # opened in 2.4 s instead of 1.8 s): each Plotly.newPlot waits for DOMContentLoaded.
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    calls = re.findall(r"<script[^>]*>([^<]*Plotly\.newPlot[^<]*)</script>", text)
    assert len(calls) == text.count("Plotly.newPlot(") >= 10
    for call in calls:
        assert call.startswith('document.addEventListener("DOMContentLoaded", function () {')
        assert call.endswith("});")


def test_histograms_are_counted_into_equal_bins() -> None:
    import numpy as np

    from custseg.charts import _histogram_bars

    bars = _histogram_bars(np.array([0.0, 1.0, 1.0, 4.0, np.nan]), "#000", bins=4)
    assert list(bars.y) == [1, 2, 0, 1]  # bins [0,1) [1,2) [2,3) [3,4], the NaN left out
    assert list(bars.x) == [0.5, 1.5, 2.5, 3.5]
    assert list(bars.width) == [1.0, 1.0, 1.0, 1.0]
    assert [list(edge) for edge in bars.customdata] == [[0, 1], [1, 2], [2, 3], [3, 4]]
    assert len(_histogram_bars(np.array([np.nan]), "#000").y) == 0


def test_long_tails_of_raw_orders_and_spend_are_cut_at_the_99th_percentile_and_said() -> None:
    # Over the whole range of spend, 50 bins put nearly every customer in the first bar (a
    # chart that said nothing); the raw panels stop at the 99th percentile and say so.
    import numpy as np

    from custseg.charts import rfm_distribution_chart

    n = 200
    customers = pd.DataFrame(
        {
            "recency_days": np.arange(n, dtype=float),
            "frequency": np.r_[np.ones(n - 2), 500.0, 900.0],
            "monetary": np.r_[np.linspace(10, 100, n - 1), 1e6],
        }
    )
    fig = rfm_distribution_chart(customers, np.zeros((n, 3)))
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:3] == [
        "recency_days (raw)",  # bounded by the data's span: drawn whole
        "frequency (raw; 2 above 6 not drawn)",  # the 99th percentile: 1 + 0.01 x 499
        "monetary (raw; 2 above 100 not drawn)",
    ]
    assert [int(sum(t.y)) for t in fig.data[:6:2]] == [n, n - 2, n - 2]
    assert [fig.layout[f"xaxis{i}"].title.text for i in (1, 2, 3, 4)] == [
        "days", "orders", "spend", "standard deviations"
    ]  # fmt: skip


def test_blank_stability_cells_are_explained() -> None:
    from custseg.reporting import stability_note

    table = pd.DataFrame({"k": range(2, 11), "stability": [None, *[0.9] * 6, None, None]})
    assert stability_note(table) == (
        "Stability is measured for k = 3..8 only: the k the choice can use (the costly score)."
    )
    fixed = pd.DataFrame({"k": [2, 3, 6], "stability": [None, 0.9, 0.8]})
    assert stability_note(fixed) == (
        "Stability is measured for k = 3, 6 only: the k the choice can use (the costly score)."
    )
    # Every k measured, or none (stability_resamples: 0), or no column: nothing to explain.
    assert stability_note(table.fillna(0.5)) == ""
    assert stability_note(table.assign(stability=None)) == ""
    assert stability_note(table.drop(columns="stability")) == ""


def test_a_persona_without_a_curve_is_named_not_dropped() -> None:
    from custseg.charts import persona_retention_chart

    curves = pd.DataFrame(
        {
            "persona": ["Champions", "Champions", "Hibernating", "Hibernating", "New Customers"],
            "month_index": [0, 1, 0, 1, 0],
            "retention": [1.0, 0.5, 1.0, 0.0, 1.0],
            "through_month": "2011-11",
        }
    )
    fig = persona_retention_chart(curves)
    # Hibernating's 0% is a line; New Customers have no month after their first to draw.
    assert [t.name for t in fig.data] == ["Champions", "Hibernating"]
    assert list(fig.data[1].y) == [0.0]
    assert "No curve for New Customers: no whole month since" in fig.layout.title.text
    assert "No curve" not in persona_retention_chart(curves[:4]).layout.title.text
    # The legend in the catalogue's order (Champions before Need Attention before
    # Hibernating), not cohort_personas.csv's by name; a name outside it comes last.
    named = pd.DataFrame(
        {
            "persona": ["Hibernating", "Mixed", "Need Attention", "Champions"],
            "month_index": [1, 1, 1, 1],
            "retention": [0.1, 0.2, 0.3, 0.4],
        }
    )
    drawn = persona_retention_chart(named).data
    assert [t.name for t in drawn] == ["Champions", "Need Attention", "Hibernating", "Mixed"]


def test_load_run_rebuilds_the_results(run_dir: Path) -> None:
    result = load_run(run_dir)
    assert render_report(result) == (run_dir / "report.html").read_text(encoding="utf-8")
    assert set(figures(result)) == {
        "data_quality",
        "rfm_distributions",
        "k_selection",
        "segment_shares",
        "rfm_profiles",
        "customers",
        "rfm_crosstab",
        "holdout",
        "cohorts",
        "persona_retention",
    }


def test_load_run_of_an_empty_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not hold a complete custseg run"):
        load_run(tmp_path)


def test_figures_without_a_browser_is_one_sentence(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UserError, match="PNG figures need a Chrome or Chromium browser"):
        write_figures(load_run(run_dir), tmp_path / "figs")
    assert not (tmp_path / "figs").exists()


@pytest.mark.e2e  # the whole report command, drawing in Chromium
@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists() and not os.environ.get("CI"), reason="no chromium"
)
def test_report_command_writes_pngs(run_dir: Path, tmp_path: Path) -> None:
    # r.html holds a page custseg wrote before (cut short): replaced.
    (tmp_path / "r.html").write_bytes((run_dir / "report.html").read_bytes()[:5000])
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(run_dir),
            "--figures",
            str(tmp_path / "figs"),
            "--html",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    pngs = sorted(p.name for p in (tmp_path / "figs").iterdir() if p.suffix == ".png")
    assert pngs == sorted(f"{n}.png" for n in figures(load_run(run_dir)))
    for name in pngs:
        assert (tmp_path / "figs" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "r.html").read_bytes() == (run_dir / "report.html").read_bytes()


def test_report_html_replaces_only_a_page_of_custseg(run_dir: Path, tmp_path: Path) -> None:
    # --html wrote over any file, a run's customers.csv included.
    def report(html: Path) -> Result:
        figures = ["--figures", str(tmp_path / "figs")]
        return CliRunner().invoke(app, ["report", str(run_dir), *figures, "--html", str(html)])

    customers = run_dir / "customers.csv"
    before = customers.read_bytes()
    refused = report(customers)
    assert refused.exit_code == 2 and customers.read_bytes() == before
    assert (
        f"--html {customers} exists and is not marked as a report page custseg wrote"
        in refused.output
    )
    assert not (tmp_path / "figs").exists()  # refused before anything is written
    folder = report(tmp_path)
    assert (
        folder.exit_code == 2 and "is a folder; give the report page's file name" in folder.output
    )
    # An earlier page of custseg's is replaced (test_report_command_writes_pngs).
    assert is_custseg_page((run_dir / "report.html").read_bytes()[:4096])
    assert not is_custseg_page(b"<!DOCTYPE html><html><head><title>notes</title>")


def test_the_sankey_keeps_both_columns_in_the_value_order() -> None:
    from custseg.charts import sankey_chart

    # The matrix's order is the value order: A > B > C, then new customers.
    matrix = pd.DataFrame(
        {
            "from_persona": ["A", "A", "B", "C", "(not a customer yet)"],
            "to_persona": ["C", "A", "B", "A", "B"],
            "customers": [10, 30, 20, 20, 20],
        }
    )
    node = sankey_chart(matrix, "d1", "d2").data[0].node
    assert list(node.label) == [
        "A (d1)", "B (d1)", "C (d1)", "(not a customer yet) (d1)", "A (d2)", "B (d2)", "C (d2)"
    ]  # fmt: skip
    # Pinned places, top to bottom, each column's nodes stacked by their customers.
    left, right = list(node.y[:4]), list(node.y[4:])
    assert left == sorted(left) and right == sorted(right)
    assert list(node.x) == [0.001] * 4 + [0.999] * 3
    gap = 0.03
    usable = 1 - 2 * gap  # three nodes on the right: 50, 40 and 10 customers of 100
    assert right == pytest.approx(
        [usable * 0.25, usable * 0.5 + gap + usable * 0.2, usable * 0.9 + 2 * gap + usable * 0.05]
    )


def test_a_cut_list_of_movers_shows_the_most_valuable_first() -> None:
    from custseg.reporting import migration_page

    moved = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(250)],
            "from_persona": "Champions",
            "to_persona": "Hibernating",
            "monetary_before": [float((i * 37) % 250) for i in range(250)],
        }
    )
    matrix = pd.DataFrame(
        {"from_persona": ["Champions"], "to_persona": ["Hibernating"], "customers": [250],
         "share": [1.0]}
    )  # fmt: skip
    meta = {
        "as_of_before": "2011-09-01",
        "as_of_after": "2011-12-10",
        "sentence": "s.",
        "input": "o.csv",
        "model": "m",
    }
    page = migration_page(matrix, moved, meta)
    assert "The 200 with the most spend before, of 250 (every one is in movers.csv)." in page
    rows = re.findall(r"<tr><td class='t'>(\d+)</td>", page.split("moved down the value order")[1])
    top = moved.sort_values("monetary_before", ascending=False)["customer_id"].head(200)
    assert rows == top.tolist()  # 200 rows, the largest spend first
