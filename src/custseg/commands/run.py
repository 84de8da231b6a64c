"""``custseg run``: segment the customers of one input and write every output.

One session reads and cleans the input once; from it come the RFM table (and, in the same
query, the RFM as of the holdout cut-off), the segmentation, the holdout check and the
cohort tables.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from custseg.cleaning import CleaningResult
from custseg.commands.common import churn_filter_warning, write_audiences
from custseg.config import PredictionsConfig, Settings
from custseg.features import split_cutoff
from custseg.holdout import holdout_check, holdout_cutoff
from custseg.io.writers import json_text, staged_folder, write_csv
from custseg.lazy import FITTING, REPORT, background, preload
from custseg.progress import ProgressFactory, StageTimer, logger
from custseg.results import ModelRecord, RunResult
from custseg.segmentation import Segmentation, fit_segments, model_record
from custseg.session import Session

T = TypeVar("T")

__all__ = [
    "HOLDOUT_COLUMNS",
    "OUTPUT_FILES",
    "Fitted",
    "fit_model",
    "segment",
    "segment_session",
    "write_outputs",
]

OUTPUT_FILES = (
    "customers.csv",
    "customers.parquet",
    "segments.csv",
    "k_selection.csv",
    "data_quality.json",
    "model.json",
    "report.html",
    "run_log.json",
    "holdout.csv",
    "cohorts.csv",
    "cohort_personas.csv",
    "audiences",
)
HOLDOUT_COLUMNS = [
    "persona",
    "customers",
    "bought_again",
    "holdout_orders_mean",
    "holdout_spend_mean",
]


def segment(
    input_path: Path | str, settings: Settings, *, progress: ProgressFactory | None = None
) -> RunResult:
    """Run every stage on ``input_path`` and return the results (nothing is written).

    Parameters
    ----------
    input_path : Path or str
        An .xlsx, .csv(.gz) or .parquet file of order lines; with ``engine.name = "spark"``
        also a folder of such files or a URL Spark reads (``s3a://``, ``hdfs://``).
    settings : Settings
        Validated parameters.
    progress : ProgressFactory, optional
        Progress bars for long steps.

    Returns
    -------
    RunResult
        Tables, records and the model.

    Raises
    ------
    UserError
        For any problem with the input or the options.
    """
    timer = StageTimer(progress)
    started = time.time()
    preload(*FITTING, *REPORT)
    with Session(input_path, settings, timer=timer) as session:
        return segment_session(session, timer, started)


@dataclass
class Fitted:
    """A segmentation with its records: what ``run`` and ``migrate`` fit.

    Attributes
    ----------
    cleaned : CleaningResult
        The cleaning it was fitted after.
    fit : Segmentation
        Customers, segments, k table, model.
    record : ModelRecord
        model.json, the holdout check included.
    holdout : dict
        The holdout check (empty when off).
    """

    cleaned: CleaningResult
    fit: Segmentation
    record: ModelRecord
    holdout: dict[str, Any]


def fit_model(
    session: Session,
    settings: Settings,
    timer: StageTimer,
    *,
    then_release: bool = False,
    alongside: Callable[[Segmentation], None] | None = None,
) -> Fitted:
    """Segment the session's customers as of ``settings.as_of`` and check on the holdout.

    ``settings`` are the session's, but for the as-of date (``migrate`` fits on its first
    snapshot). With ``then_release`` the order lines are released once every table the
    run needs from them is computed (the monthly spend included), before the modelling.
    ``alongside(fit)`` runs while the holdout is checked on a second thread: the check's
    K-Means and the engine's queries run outside the GIL (``run``'s cohorts: 0.2 s less at
    20M lines). If it fails, the check is waited for before the error goes on.
    """
    from custseg.timezones import utc_to_calendar

    as_of = settings.as_of
    cleaned = session.cleaning(as_of)
    engine = settings.engine
    before = None
    if engine.name == "spark" and cleaned.customers > engine.spark_collect_max_customers:
        from custseg.mllib import fit_with_mllib

        fit = fit_with_mllib(session, cleaned, timer)
    else:
        # The holdout's snapshot comes from the same query when every rule is row-level
        # (returns dropped); with --returns net it is the kept lines as of the cut-off.
        checked = bool(settings.model.holdout_days)
        cutoff = holdout_cutoff(settings, cleaned.as_of, session.zone) if checked else None
        same_query = checked and settings.cleaning.returns == "drop"
        rfm = session.rfm(as_of, cutoff=cutoff if same_query else None)
        customers, before = split_cutoff(rfm) if same_query else (rfm, None)
        if cutoff is not None and not same_query:
            # The session reads as-of dates as times of the calendar; the cut-off is UTC.
            before = session.rfm(utc_to_calendar(cutoff, session.zone))
        if then_release:
            session.monthly(as_of)
            session.release_lines()
        fit = fit_segments(customers, settings, session.source, timer)
    record = model_record(
        fit,
        settings,
        as_of=cleaned.as_of.isoformat(timespec="seconds"),
        mapping=session.input.mapping.as_dict(),
    )
    holdout: dict[str, Any] = {}
    pending = None
    if settings.model.holdout_days and fit.customers_spark is None:
        assert before is not None  # set above whenever the holdout runs
        check = functools.partial(
            holdout_check,
            before,
            fit.customers,
            settings,
            cleaned.as_of,
            fit.k,
            session.source,
            first_purchase=cleaned.first_purchase,
            zone=session.zone,
        )
        pending = background(_timed, check)
    try:
        if alongside is not None:
            alongside(fit)
    except BaseException:
        if pending is not None:  # leave no K-Means running behind the error
            with contextlib.suppress(Exception):
                pending()
        raise
    if pending is not None:
        holdout, seconds = pending()
        timer.record("holdout", seconds, [str(holdout["sentence"])])
        record = dataclasses.replace(record, holdout=holdout)
    return Fitted(cleaned, fit, record, holdout)


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    """Return ``work()`` and the seconds it took (for a stage run on another thread)."""
    start = time.perf_counter()
    return work(), time.perf_counter() - start


def segment_session(session: Session, timer: StageTimer, started: float) -> RunResult:
    """Do what :func:`segment` does with an open session."""
    predictions = session.settings.predictions
    # The purchase days come before the lines are released.
    days = session.daily(zero_amount=True) if predictions.with_clv else None
    tables: list[tuple[pd.DataFrame, pd.DataFrame]] = []

    def cohorts_of(fit: Segmentation) -> None:
        with timer.stage("cohorts") as notes:
            cohorts, curves = _cohorts(session, fit)
            tables.append((cohorts, curves))
            n = cohorts["cohort"].nunique()
            notes.append(f"{n} monthly cohort{'' if n == 1 else 's'}")

    # The cohorts are computed while the holdout is checked.
    fitted = fit_model(session, session.settings, timer, then_release=True, alongside=cohorts_of)
    fit = fitted.fit
    cohorts, curves = tables[0]
    customers, segments = fit.customers, fit.segments
    if days is not None:
        customers, segments = _predictions(customers, segments, days, fit, predictions, timer)
    return RunResult(
        customers=customers,
        segments=segments,
        k_table=fit.table,
        quality=session.quality_record(fitted.cleaned, fit.n_customers),
        model=fitted.record,
        run_log=session.log_record(timer, started),
        scaled=fit.scaled,
        customers_spark=fit.customers_spark,
        holdout=fitted.holdout,
        cohorts=cohorts,
        persona_retention=curves,
        audience_filter=predictions,
    )


def _predictions(
    customers: pd.DataFrame,
    segments: pd.DataFrame,
    days: pd.DataFrame,
    fit: Segmentation,
    config: PredictionsConfig,
    timer: StageTimer,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add custseg clv's per-customer predictions (``--with-clv``)."""
    from custseg.commands.clv import predict_for_run
    from custseg.errors import UserError
    from custseg.predictions import with_predictions

    if fit.customers_spark is not None:
        raise UserError(
            "--with-clv needs the customer table on the driver, and this run segments it on "
            "Spark MLlib: run custseg clv on the same input instead."
        )
    with timer.stage("clv") as notes:
        try:
            table, sentence, informative, warned = predict_for_run(
                days, config.horizon_days, config.discount_rate, config.draws
            )
        except UserError as exc:  # too little data to choose a model: the segments stand
            logger.warning("clv      skipped: %s", exc)
            return customers, segments
        notes.append(sentence)
        for warning in warned:  # as custseg clv says them
            logger.warning("warning  %s", warning)
        if churn_filter := churn_filter_warning(config, informative, table["churn_probability"]):
            logger.warning("warning  %s", churn_filter)
        return with_predictions(customers, segments, table, churn_informative=informative)


def _cohorts(session: Session, fit: Segmentation) -> tuple[pd.DataFrame, pd.DataFrame]:
    if fit.customers_spark is not None:
        from custseg.mllib import persona_relation

        return session.cohorts(personas=persona_relation(session, fit))
    return session.cohorts(fit.customers)


def write_outputs(result: RunResult, out_dir: Path) -> list[Path]:
    """Write every output file into ``out_dir``, atomically.

    All files are first written into a staging folder inside ``out_dir`` and then moved
    into place; a failure leaves the folder as it was.

    Parameters
    ----------
    result : RunResult
        What :func:`segment` returned.
    out_dir : Path
        The output folder (created if needed).

    Returns
    -------
    list of Path
        The files written.
    """
    from custseg.lazy import background
    from custseg.reporting import render_report

    # The report is Python (Plotly) work; the tables are written by DuckDB and Arrow, which
    # release the GIL: drawing it on a second thread meanwhile saves most of its time. A
    # daemon thread: a stopped run never waits for it.
    with staged_folder(out_dir, "--out") as stage:
        report = background(render_report, result)
        customers = result.customers
        if result.customers_spark is not None:
            # Too many customers for the driver: the executors write a partitioned folder.
            result.customers_spark.write.partitionBy("persona").parquet(
                str(stage / "customers.parquet")
            )
        else:
            write_csv(customers, stage / "customers.csv")
            customers.to_parquet(stage / "customers.parquet", index=False)
        write_csv(result.segments, stage / "segments.csv")
        write_csv(result.k_table, stage / "k_selection.csv", safe=False)
        (stage / "data_quality.json").write_text(json_text(result.quality), encoding="utf-8")
        (stage / "model.json").write_text(json_text(result.model), encoding="utf-8")
        (stage / "run_log.json").write_text(json_text(result.run_log), encoding="utf-8")
        holdout = pd.DataFrame(result.holdout.get("table", []), columns=HOLDOUT_COLUMNS)
        write_csv(holdout, stage / "holdout.csv")
        write_csv(result.cohorts, stage / "cohorts.csv", safe=False)
        write_csv(result.persona_retention, stage / "cohort_personas.csv")
        if result.customers_spark is None:
            # (On the MLlib path customers.parquet is already one folder per persona.)
            write_audiences(result.customers, stage / "audiences", result.audience_filter)
        (stage / "report.html").write_text(report(), encoding="utf-8")
    return [out_dir / name for name in OUTPUT_FILES if (out_dir / name).exists()]
