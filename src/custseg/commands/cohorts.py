"""``custseg cohorts``: monthly cohort retention and revenue, and a curve per persona.

The cohort tables are counted by the engine from the session's one scan. The personas are
those ``run`` would give (k chosen by the same rule), or a saved model's (``--model``, no
refit: then no K-Means runs and scikit-learn is not even imported).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from custseg.commands.score import assign, check_collectable, load_model_file, model_settings
from custseg.config import Settings
from custseg.errors import UserError
from custseg.io.writers import staged_folder, write_csv, write_json
from custseg.lazy import FITTING, REPORT, preload
from custseg.progress import ProgressFactory, StageTimer
from custseg.results import RunLog, RunResult
from custseg.session import Session

__all__ = ["COHORT_FILES", "CohortResult", "cohorts", "write_cohorts"]

COHORT_FILES = ("cohorts.csv", "cohort_personas.csv", "cohorts.html", "run_log.json")


@dataclass
class CohortResult:
    """What ``custseg cohorts`` computed.

    Attributes
    ----------
    cohorts : pandas.DataFrame
        cohorts.csv (see :func:`custseg.cohorts.cohort_table`).
    persona_retention : pandas.DataFrame
        cohort_personas.csv (see :func:`custseg.cohorts.persona_retention`).
    personas : str
        Where the personas came from, in words.
    log : dict
        run_log.json.
    meta : str
        The input and the as-of date, in words (the top line of cohorts.html).
    """

    cohorts: pd.DataFrame
    persona_retention: pd.DataFrame
    personas: str = ""
    log: RunLog = field(default_factory=RunLog)
    meta: str = ""


def cohorts(
    input_path: Path | str,
    settings: Settings,
    *,
    model_path: Path | None = None,
    progress: ProgressFactory | None = None,
) -> CohortResult:
    """Compute the cohort table and the per-persona retention curves of ``input_path``.

    Parameters
    ----------
    input_path : Path or str
        Order lines.
    settings : Settings
        As for ``run``.
    model_path : Path, optional
        Take the personas from this model.json (and its cleaning rules) instead of fitting.
    progress : ProgressFactory, optional
        Progress bars.

    Returns
    -------
    CohortResult
        The two tables and the log.
    """
    timer = StageTimer(progress)
    started = time.time()
    preload(*REPORT) if model_path is not None else preload(*FITTING, *REPORT)
    model = None
    if model_path is not None:
        model, record = load_model_file(model_path)
        settings = model_settings(settings, record)
    with Session(input_path, settings, timer=timer) as session:
        cleaned = session.cleaning()
        check_collectable(session, cleaned.customers, "cohorts")
        customers = session.rfm()
        if model is not None:
            customers = assign(customers, model)
            source = f"assigned by the model {model_path} (no refit)"
        else:
            from custseg.segmentation import fit_segments

            customers = fit_segments(
                customers, settings, session.source, timer, every_k=False
            ).customers
            source = "fitted as custseg run fits them"
        with timer.stage("cohorts") as notes:
            table, curves = session.cohorts(customers)
            n = table["cohort"].nunique()
            notes.append(f"{n} monthly cohort{'' if n == 1 else 's'}; personas {source}")
        log = session.log_record(timer, started, personas=source)
        meta = f"Input {session.source}, as of {cleaned.as_of:%Y-%m-%d %H:%M}; personas {source}."
    return CohortResult(table, curves, source, log, meta)


def write_cohorts(result: CohortResult | RunResult, out_dir: Path) -> list[Path]:
    """Write cohorts.csv, cohort_personas.csv, cohorts.html (heatmap and curves), run_log.json.

    ``result`` may also be the :class:`~custseg.results.RunResult` of ``custseg run`` (what
    this function took before ``custseg cohorts`` had a result of its own).
    """
    import html

    from custseg.charts import cohort_heatmap, persona_retention_chart
    from custseg.cohorts import PERSONA_CURVES, headline
    from custseg.reporting import figure_html, html_page

    if isinstance(result, RunResult):
        if result.cohorts.empty:
            raise UserError(
                "This result has no cohort tables (a scoring result has none); pass the "
                "result of segment() or use cohorts()."
            )
        result = CohortResult(result.cohorts, result.persona_retention, log=result.run_log)

    with staged_folder(out_dir, "--out") as stage:
        write_csv(result.cohorts, stage / "cohorts.csv", safe=False)
        write_csv(result.persona_retention, stage / "cohort_personas.csv")
        body = (
            f"<p>{html.escape(headline(result.cohorts))} Cohort = month of a customer's first "
            "kept purchase; retention = share of the cohort with a kept purchase that many "
            "calendar months later (cohorts.csv); the curves per persona count only customers "
            "observable that long (cohort_personas.csv).</p>"
            + figure_html(cohort_heatmap(result.cohorts), "cohort-heatmap")
            + figure_html(persona_retention_chart(result.persona_retention), "persona-retention")
            + f"<p class='muted'>{html.escape(PERSONA_CURVES)}</p>"
        )
        page = html_page(
            "custseg: cohort retention", "Cohort retention", html.escape(result.meta), body
        )
        (stage / "cohorts.html").write_text(page, encoding="utf-8")
        write_json(result.log, stage / "run_log.json")
    return [out_dir / n for n in COHORT_FILES]
