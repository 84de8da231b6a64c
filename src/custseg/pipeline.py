"""The pipeline: the only module that knows the order of the stages.

``segment`` computes everything in memory; ``write_outputs`` writes the files atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from custseg.cleaning import EXACT_AMOUNT, CleaningResult, clean_orders, staging_sql
from custseg.clustering import SegmentModel, relabel
from custseg.cohorts import cohort_table, persona_retention
from custseg.config import CleaningConfig, Settings
from custseg.errors import UserError
from custseg.features import FEATURES, id_text, rfm_sql, rfm_table, split_cutoff
from custseg.io import (
    ColumnMapping,
    LoadedOrders,
    csv_safe,
    detect_date_format,
    file_sha256,
    first_line,
    load_orders,
    sql_literal,
    staged_folder,
)
from custseg.model_selection import AUTO_RULE, select_k_and_fit
from custseg.personas import assign_personas, persona_by_name, playbook
from custseg.preprocessing import LogStandardScaler
from custseg.progress import ProgressFactory, StageTimer, logger
from custseg.reporting import render_report
from custseg.results import RunResult
from custseg.scores import SCORE_COLUMNS, rfm_scores, segment_map

__all__ = [
    "DEFAULT_INPUT",
    "OUTPUT_FILES",
    "SYNTHETIC_INPUT",
    "Migration",
    "RunResult",
    "audience_name",
    "load_model_file",
    "migrate",
    "plan_campaigns",
    "resolve_input",
    "score",
    "segment",
    "segment_summary",
    "stage_orders",
    "write_audiences",
    "write_cohorts",
    "write_migration",
    "write_outputs",
    "write_plan",
    "write_scores",
]

DEFAULT_INPUT = Path("data/raw/online-retail.xlsx")
SYNTHETIC_INPUT = Path("data/interim/synthetic-orders.parquet")
SEGMENT_COLUMNS = (
    "cluster",
    "persona",
    "description",
    "action",
    "channel",
    "timing",
    "customers",
    "share",
    "recency_days_mean",
    "frequency_mean",
    "monetary_mean",
    "revenue",
    "revenue_share",
)
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


def resolve_input(path: Path | str | None, settings: Settings) -> tuple[Path | str, str]:
    """Pick the input: the given path, else the downloaded workbook, else synthetic data.

    Parameters
    ----------
    path : Path, str or None
        The user's input (a str for a URL Spark reads).
    settings : Settings
        For the synthetic default's size and seed.

    Returns
    -------
    tuple of (Path or str, str)
        The input and a sentence saying which it is.
    """
    if path is not None:
        return path, f"input: {path}"
    if DEFAULT_INPUT.is_file():
        return DEFAULT_INPUT, f"input: {DEFAULT_INPUT} (the UCI Online Retail workbook)"
    from custseg.synth import write_synthetic

    n, seed = settings.synthetic_customers, 0
    write_synthetic(SYNTHETIC_INPUT, customers=n, seed=seed)
    return SYNTHETIC_INPUT, (
        f"input: synthetic default ({n:,} customers, seed {seed}) written to {SYNTHETIC_INPUT}, "
        f"because {DEFAULT_INPUT} is absent (run `custseg download` to fetch it)"
    )


def stage_orders(
    con: duckdb.DuckDBPyConnection, loaded: LoadedOrders, settings: Settings, source: str
) -> tuple[dict[str, str], str | None]:
    """Create the view ``orders_staged`` (canonical ``cs_*`` columns) over ``orders_raw``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Holds ``orders_raw``, as :func:`custseg.io.load_orders` registered it.
    loaded : LoadedOrders
        What ``load_orders`` returned.
    settings : Settings
        For the date format and the decimal separator.
    source : str
        The input's name, for messages.

    Returns
    -------
    tuple of (dict, str or None)
        The DuckDB type of each input column, and the date layout detected in text dates
        (None when given, ISO or not needed).

    Raises
    ------
    UserError
        When text dates are ambiguous between day-first and month-first.
    """
    types = dict(
        con.execute("SELECT column_name, column_type FROM (DESCRIBE orders_raw)").fetchall()
    )
    date_format, detected = settings.csv.date_format, None
    if date_format is None and types.get(loaded.mapping.date) == "VARCHAR":
        date_format = detected = detect_date_format(con, loaded.mapping.date, source)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW orders_staged AS "
        + staging_sql(
            loaded.mapping,
            types,
            date_format=date_format,
            decimal_comma=settings.csv.decimal == ",",
        )
    )
    return types, detected


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB with the configured memory limit, spill folder and threads."""
    engine = settings.engine
    try:
        Path(engine.temp_directory).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"Cannot use {engine.temp_directory} as DuckDB's spill folder (--temp-dir): "
            f"{exc.strerror}."
        ) from exc
    con = duckdb.connect()
    con.execute(f"SET temp_directory = {sql_literal(engine.temp_directory)}")
    if engine.memory_limit is not None:
        con.execute(f"SET memory_limit = {sql_literal(engine.memory_limit)}")
    if engine.threads is not None:
        con.execute(f"SET threads = {int(engine.threads)}")
    # Insertion order is not needed by any stage; dropping it lets DuckDB stream with less memory.
    con.execute("SET preserve_insertion_order = false")
    return con


def _versions() -> dict[str, str]:
    names = ["custseg", "numpy", "pandas", "scikit-learn", "duckdb", "fastexcel", "pyarrow"]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except Exception:  # pragma: no cover - a missing optional reader
            out[name] = "absent"
    return out


def segment_summary(
    customers: pd.DataFrame, plays: dict[str, dict[str, str]] | None = None
) -> pd.DataFrame:
    """Aggregate customers into one row per cluster (the segments.csv table).

    Parameters
    ----------
    customers : pandas.DataFrame
        With columns cluster, persona and the RFM features.

    Returns
    -------
    pandas.DataFrame
        cluster, persona, description, action, customers, share, recency_days_mean,
        frequency_mean, monetary_mean, revenue, revenue_share; ordered by cluster.
    """
    grouped = customers.groupby(["cluster", "persona"], sort=True)
    seg = grouped.agg(
        customers=("customer_id", "size"),
        recency_days_mean=("recency_days", "mean"),
        frequency_mean=("frequency", "mean"),
        monetary_mean=("monetary", "mean"),
        revenue=("monetary", "sum"),
    ).reset_index()
    return _summary_from_totals(seg, plays)


def _summary_from_totals(
    seg: pd.DataFrame, plays: dict[str, dict[str, str]] | None = None
) -> pd.DataFrame:
    """Finish segments.csv from per-cluster counts, means and revenue (either engine)."""
    seg = seg.sort_values("cluster", kind="mergesort").reset_index(drop=True)
    seg["share"] = seg["customers"] / seg["customers"].sum()
    seg["revenue_share"] = seg["revenue"] / seg["revenue"].sum()
    seg["description"] = [persona_by_name(p).description for p in seg["persona"]]
    plays = plays or playbook()
    for key in ("action", "channel", "timing"):
        seg[key] = [plays[p][key] for p in seg["persona"]]
    seg = seg.round(
        {
            "share": 4,
            "revenue_share": 4,
            "recency_days_mean": 2,
            "frequency_mean": 2,
            "monetary_mean": 2,
            "revenue": 2,
        }
    )
    out: pd.DataFrame = seg[list(SEGMENT_COLUMNS)]
    return out


def _k_values(
    settings: Settings, n_customers: int, source: str, profiles: int
) -> tuple[list[int], list[str]]:
    """Return the k values to score and warnings for a range lowered by tiny data.

    An explicit k the data cannot support is an error; the auto range is lowered to what the
    data supports (at most customers - 1 and the number of distinct profiles), with a warning.
    """
    cfg = settings.model
    if profiles < 2:
        raise UserError(
            f"{source}: every customer left after cleaning has the same recency, frequency "
            "and spend; there is nothing to segment."
        )
    if n_customers < 3:
        raise UserError(
            f"{source}: only {n_customers} customer(s) left after cleaning; "
            "segmentation needs at least 3."
        )
    if isinstance(cfg.k, int) and cfg.k > profiles:
        raise UserError(
            f"--k {cfg.k} is more than the {profiles} distinct customer profiles (recency, "
            f"frequency, spend) of {source}; choose k of at most {profiles}."
        )
    if isinstance(cfg.k, int) and cfg.k >= n_customers:
        raise UserError(
            f"--k {cfg.k} is not smaller than the {n_customers} customers of {source}; "
            f"choose k below {n_customers}."
        )
    top = min(cfg.k_max, n_customers - 1, profiles)
    warnings = []
    if top < cfg.k_max:
        why = (
            f"{n_customers} customers"
            if n_customers - 1 <= profiles
            else f"{profiles} distinct customer profiles"
        )
        warnings.append(
            f"Tiny data: k was scored up to {top} instead of {cfg.k_max} (--k-max) because "
            f"there are only {why}."
        )
    ks = set(range(cfg.k_min, top + 1))
    if isinstance(cfg.k, int):
        ks.add(cfg.k)
    if not ks:
        raise UserError(
            f"--k-min {cfg.k_min} leaves no k below the {n_customers} customers of {source}."
        )
    return sorted(ks), warnings


def _constant_features(customers: pd.DataFrame) -> list[str]:
    """Warn of features with one value for every customer: they cannot separate segments."""
    return [
        f"{name} is {customers[name].iloc[0]:g} for every customer, so it cannot separate "
        "segments (it is scaled to 0 and ignored by K-Means)."
        for name in FEATURES
        if customers[name].nunique() == 1
    ]


@dataclass
class Aggregated:
    """What the order-line engine hands to the modelling stages.

    Attributes
    ----------
    engine : str
        ``duckdb`` or ``spark``.
    format : str
        The input's format.
    columns : list of str
        The input's columns.
    mapping : ColumnMapping
        The column of each field.
    reader_options : dict
        Reader options in force (recorded in data_quality.json).
    cache : str
        Whether a workbook's Parquet copy was used (run_log.json only).
    sha : str
        SHA-256 of a local input file ("" for folders and URLs).
    cleaned : CleaningResult
        The counts of the cleaning stage.
    customers : pandas.DataFrame or None
        The RFM table; None when it stays in Spark (too many customers to collect).
    customers_spark : pyspark.sql.DataFrame or None
        The RFM table in Spark, when not collected.
    holdout_customers : pandas.DataFrame or None
        The RFM table as of the holdout cut-off, from the same cleaned rows (see
        :func:`holdout_check`); None when it needs its own run.
    daily : pandas.DataFrame or None
        customer_id, day, spend per purchase day, when asked for.
    monthly : pandas.DataFrame or None
        customer_id, month, revenue per purchase month (cohorts; DuckDB only).
    """

    engine: str
    format: str
    columns: list[str]
    mapping: ColumnMapping
    reader_options: dict[str, str]
    cache: str
    sha: str
    cleaned: CleaningResult
    customers: pd.DataFrame | None
    customers_spark: Any = None
    holdout_customers: pd.DataFrame | None = None
    daily: pd.DataFrame | None = None
    monthly: pd.DataFrame | None = None


def _clean_and_aggregate(
    con: Any,
    mapping: ColumnMapping,
    columns: list[str],
    settings: Settings,
    source: str,
    timer: StageTimer,
    collect_max: int | None = None,
) -> tuple[CleaningResult, pd.DataFrame | None]:
    """Run the clean and rfm stages on either engine (``con`` is DuckDB's or a SparkConnection)."""
    with timer.stage("clean") as notes:
        # Neither engine reports progress through this API: a running timer shows it is alive.
        done = timer.progress("cleaning: one scan of the order lines", 1)
        cleaned = clean_orders(
            con,
            mapping,
            columns,
            as_of=settings.as_of,
            switches=settings.cleaning,
            source=source,
            count_customers=collect_max is not None,
        )
        done(1)
        dropped = ", ".join(f"{k} {v:,}" for k, v in cleaned.dropped.items() if v)
        notes.append(
            f"{cleaned.rows_kept:,} of {cleaned.rows_read:,} rows kept"
            + (f"; dropped: {dropped}" if dropped else "")
        )
        if cleaned.returns.get("return_lines"):
            notes.append(str(cleaned.returns["effect"]))
    if collect_max is not None and cleaned.customers > collect_max:
        return cleaned, None
    with timer.stage("rfm") as notes:
        done = timer.progress("RFM: aggregating per customer", 1)
        # The holdout check's snapshot comes from the same scan when every rule is row-level
        # (returns dropped) and the engine is DuckDB: the kept rows before the cut-off.
        cutoff = None
        if (
            settings.model.holdout_days
            and settings.cleaning.returns == "drop"
            and collect_max is None
        ):
            cutoff = cleaned.as_of - dt.timedelta(days=settings.model.holdout_days)
        customers = rfm_table(
            con,
            cleaned.as_of,
            has_invoice=mapping.invoice is not None,
            net_returns=settings.cleaning.returns == "net",
            cutoff=cutoff,
        )
        done(1)
        notes.append(f"{len(customers):,} customers, as of {cleaned.as_of:%Y-%m-%d %H:%M}")
    return cleaned, customers


def _aggregate_duckdb(
    input_path: Path, settings: Settings, timer: StageTimer, *, daily: bool = False
) -> Aggregated:
    """Ingest, clean and aggregate with DuckDB on this machine.

    With ``daily``, also return each customer's spend per purchase day (kept purchases), the
    input of the lifetime-value models.
    """
    source = str(input_path)
    # The DuckDB phase: a transcoded CSV copy, if any, lives in `work` until it ends.
    con = _connect(settings)
    work = tempfile.TemporaryDirectory(prefix="custseg-")
    try:
        with timer.stage("ingest") as notes:
            # Reading a workbook takes seconds and reports no progress of its own: show a timer.
            done = timer.progress(f"reading {input_path.name}", 1)
            sha = file_sha256(input_path) if input_path.is_file() else ""
            engine = settings.engine
            loaded = load_orders(
                con,
                input_path,
                settings.columns,
                settings.csv,
                cache=(Path(engine.cache_dir), sha) if engine.cache else None,
                workdir=Path(work.name),
            )
            # Whether the cache was used changes nothing in the results: it goes to run_log only.
            reader_options = {k: v for k, v in loaded.options.items() if k != "cache"}
            done(1)
            types, detected = stage_orders(con, loaded, settings, source)
            if detected is not None:
                reader_options["date_format"] = f"{detected} (detected)"
            _say_ignored(settings, loaded.format, types.get(loaded.mapping.date), loaded.mapping)
            mapped = ", ".join(f"{k}={v!r}" for k, v in loaded.mapping.as_dict().items() if v)
            notes.append(f"{loaded.format} file {input_path}; columns {mapped}")
        cleaned, customers = _clean_and_aggregate(
            con, loaded.mapping, loaded.columns, settings, source, timer
        )
        holdout_customers = None
        if customers is not None and "cut_frequency" in customers:
            customers, holdout_customers = split_cutoff(customers)
        monthly = con.execute(
            "SELECT cs_customer AS customer_id, "
            "CAST(date_trunc('month', cs_ts) AS TIMESTAMP) AS month, "
            f"CAST(sum({EXACT_AMOUNT}) AS DOUBLE) AS revenue FROM orders_kept "
            "WHERE NOT cs_return GROUP BY 1, 2"
        ).df()
        monthly["customer_id"] = id_text(monthly["customer_id"])
        days = None
        if daily:
            days = con.execute(
                "SELECT cs_customer AS customer_id, CAST(CAST(cs_ts AS DATE) AS TIMESTAMP) AS day, "
                f"CAST(sum({EXACT_AMOUNT}) AS DOUBLE) AS spend FROM orders_kept "
                "WHERE NOT cs_return GROUP BY 1, 2 ORDER BY 1, 2"
            ).df()
            days["customer_id"] = id_text(days["customer_id"])
    except duckdb.Error as exc:
        # The reader checks the header; a damaged page shows only when the rows are read.
        raise UserError(
            f"{source}: cannot be read ({first_line(exc)}); the file may be damaged."
        ) from exc
    finally:
        con.close()
        work.cleanup()
    return Aggregated(
        engine="duckdb",
        format=loaded.format,
        columns=loaded.columns,
        mapping=loaded.mapping,
        reader_options=reader_options,
        cache=loaded.options.get("cache", "not a workbook"),
        sha=sha,
        cleaned=cleaned,
        customers=customers,
        holdout_customers=holdout_customers,
        daily=days,
        monthly=monthly,
    )


def _say_ignored(
    settings: Settings, fmt: str, date_type: str | None, mapping: ColumnMapping
) -> None:
    if settings.columns.sheet is not None and fmt != "xlsx":
        logger.warning("note     --sheet is ignored: the input is a %s file", fmt)
    date_type = (date_type or "VARCHAR").upper()
    if settings.csv.date_format is not None and date_type != "VARCHAR":
        logger.warning(
            "note     --date-format is ignored: column %r already holds %s values",
            mapping.date,
            date_type.lower(),
        )


def _aggregate_spark(source: str, settings: Settings, timer: StageTimer) -> Aggregated:
    """Ingest, clean and aggregate with Spark SQL: the same queries, collected RFM table."""
    from custseg.cleaning import SPARK
    from custseg.spark import SparkConnection, load_orders_spark, new_workdir, spark_session

    with timer.stage("ingest") as notes:
        done = timer.progress("starting Spark", 1)
        spark = spark_session(settings.engine.spark_master)
        done(1)
        work = new_workdir()
        local = Path(source)
        sha = file_sha256(local) if "://" not in source and local.is_file() else ""
        loaded = load_orders_spark(spark, source, settings, Path(work.name))
        reader_options = dict(loaded.options)
        date_format = settings.csv.date_format or loaded.date_format
        if loaded.date_format is not None:
            reader_options["date_format"] = f"{loaded.date_format} (detected)"
        con = SparkConnection(spark)
        con.execute(
            "CREATE OR REPLACE TEMP VIEW orders_staged AS "
            + staging_sql(
                loaded.mapping,
                loaded.types,
                date_format=date_format,
                decimal_comma=settings.csv.decimal == ",",
                dialect=SPARK,
            )
        )
        _say_ignored(settings, loaded.format, loaded.types.get(loaded.mapping.date), loaded.mapping)
        mapped = ", ".join(f"{k}={v!r}" for k, v in loaded.mapping.as_dict().items() if v)
        notes.append(
            f"{loaded.format} input {source} on Spark {spark.version} "
            f"({spark.sparkContext.master}); columns {mapped}"
        )
    collect_max = settings.engine.spark_collect_max_customers
    try:
        cleaned, customers = _clean_and_aggregate(
            con, loaded.mapping, loaded.columns, settings, source, timer, collect_max
        )
        customers_spark = None
        if customers is None:
            logger.info(
                "rfm      %s customers: above %s (engine.spark_collect_max_customers), the RFM "
                "table stays in Spark and MLlib clusters it",
                f"{cleaned.customers:,}",
                f"{collect_max:,}",
            )
            customers_spark = spark.sql(
                rfm_sql(
                    cleaned.as_of,
                    has_invoice=loaded.mapping.invoice is not None,
                    net_returns=settings.cleaning.returns == "net",
                )
            )
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{source}: Spark could not process it ({first_line(exc)}).") from exc
    finally:
        work.cleanup()
    return Aggregated(
        engine="spark",
        format=loaded.format,
        columns=loaded.columns,
        mapping=loaded.mapping,
        reader_options=reader_options,
        cache="not used by Spark",
        sha=sha,
        cleaned=cleaned,
        customers=customers,
        customers_spark=customers_spark,
    )


@dataclass
class _Fit:
    """What either clustering path hands to the records (see :func:`segment`)."""

    customers: pd.DataFrame
    n_customers: int
    table: pd.DataFrame
    k: int
    reason: str
    scaler: LogStandardScaler
    centroids: np.ndarray
    names: list[str]
    inertia: float
    segments: pd.DataFrame
    ks: list[int]
    warnings: list[str]
    scaled: np.ndarray
    silhouette_n: int
    silhouette_metric: str
    sweep_n: int
    sweep_note: str
    customers_spark: Any = None


def _spend_check(bad: int, example: tuple[Any, float] | None, source: str) -> None:
    if bad:
        shown = f" (e.g. customer {example[0]}: {example[1]:g})" if example else ""
        raise UserError(
            f"{source}: {bad:,} customer(s) have a total spend <= 0{shown} because returns, "
            "cancellations or zero prices are kept; turn those cleaning rules back on, or use "
            "--returns net to subtract returns from purchases."
        )


def _quality_record(agg: Aggregated, source: str, customers: int) -> dict[str, Any]:
    """Return the data-quality record (data_quality.json) of a run or a scoring."""
    cleaned = agg.cleaned
    return {
        "input": {
            "path": source,
            "sha256": agg.sha,
            "format": agg.format,
            "columns": agg.columns,
            "mapping": agg.mapping.as_dict(),
            "reader_options": agg.reader_options,
        },
        "rows_read": cleaned.rows_read,
        "rows_kept": cleaned.rows_kept,
        "dropped": cleaned.dropped,
        "examples": cleaned.examples,
        "rules": cleaned.rules,
        "rule_order": "each row is counted under the first rule that drops it",
        "customers": customers,
        "orders": cleaned.orders,
        "revenue": round(cleaned.revenue, 6),
        "returns": cleaned.returns,
        "first_purchase": cleaned.first_purchase.isoformat(timespec="seconds"),
        "last_purchase": cleaned.last_purchase.isoformat(timespec="seconds"),
        "as_of": cleaned.as_of.isoformat(timespec="seconds"),
        "as_of_source": cleaned.as_of_source,
    }


def _fit_locally(
    customers: pd.DataFrame, settings: Settings, source: str, timer: StageTimer
) -> _Fit:
    """Scale, score k, fit K-Means and name personas with scikit-learn on this machine."""
    spent = customers["monetary"] <= 0
    first = customers.loc[spent].iloc[0] if spent.any() else None
    _spend_check(
        int(spent.sum()),
        (first["customer_id"], float(first["monetary"])) if first is not None else None,
        source,
    )
    with timer.stage("scale") as notes:
        scaler = LogStandardScaler()
        scaled = scaler.fit_transform(customers[list(FEATURES)].to_numpy(dtype=np.float64))
        notes.append("log1p, then standardised to mean 0 and unit variance")
    # K-Means cannot find more clusters than there are distinct customer profiles.
    profiles = len(np.unique(customers[list(FEATURES)].to_numpy(), axis=0))
    ks, warnings = _k_values(settings, len(customers), source, profiles)
    warnings += _constant_features(customers)
    for warning in warnings:
        logger.warning("warning  %s", warning)
    cfg = settings.model
    with timer.stage("k-select") as notes:
        advance = timer.progress(f"K-Means for k={ks[0]}..{ks[-1]}", len(ks))
        choice = select_k_and_fit(scaled, ks, cfg, on_step=lambda _k: advance(1))
        table, k = choice.table, choice.k
        best = table.loc[table["k"] == k].iloc[0]
        if choice.sweep_sample_size < len(scaled):
            notes.append(
                f"scores on a seeded sample of {choice.sweep_sample_size:,} customers, "
                f"then K-Means on all {len(scaled):,}"
            )
        notes.append(
            f"scored k={ks[0]}..{ks[-1]}; k={k} "
            + ("chosen by the auto rule" if cfg.k == "auto" else "set by k (option or YAML)")
            + f" (silhouette {best['silhouette']:.3f}, Davies-Bouldin {best['davies_bouldin']:.3f})"
        )
    with timer.stage("segment") as notes:
        centroids, labels, inertia = relabel(choice.model, scaled)
        names = assign_personas(centroids)
        customers["cluster"] = labels
        customers["persona"] = [names[i] for i in labels]
        customers = pd.concat([customers, rfm_scores(customers)], axis=1)
        segments = segment_summary(customers, playbook(settings.playbook))
        notes.append(
            ", ".join(
                f"{p} {n:,}"
                for p, n in zip(segments["persona"], segments["customers"], strict=True)
            )
        )
    n = len(customers)
    return _Fit(
        customers=customers,
        n_customers=n,
        table=table,
        k=k,
        reason=choice.reason,
        scaler=scaler,
        centroids=centroids,
        names=names,
        inertia=inertia,
        segments=segments,
        ks=ks,
        warnings=warnings,
        scaled=scaled,
        silhouette_n=choice.silhouette_sample_size,
        silhouette_metric="euclidean (scikit-learn)",
        sweep_n=choice.sweep_sample_size,
        sweep_note="all customers"
        if choice.sweep_sample_size == n
        else f"scores on a seeded sample of {choice.sweep_sample_size:,} of {n:,} customers; "
        "the final K-Means ran on all customers from the chosen k's centroids (one "
        "initialisation)",
    )


def _spark_scores(assigned: Any, n: int) -> Any:
    """Add the RFM scores and rule segment in Spark, by the formula of :mod:`custseg.scores`."""
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.window import Window

    def score(column: Any) -> Any:
        rank = F.rank().over(Window.orderBy(column))
        return (F.lit(1) + F.floor(F.lit(5) * (rank - 1) / F.lit(max(n, 1)))).cast("int")

    scored = (
        assigned.withColumn("r_score", score(-F.col("recency_days")))
        .withColumn("f_score", score(F.col("frequency")))
        .withColumn("m_score", score(F.col("monetary")))
    )
    segment = None
    for name, (r0, r1, f0, f1, m0, m1) in segment_map():
        test = (
            F.col("r_score").between(r0, r1)
            & F.col("f_score").between(f0, f1)
            & F.col("m_score").between(m0, m1)
        )
        segment = F.when(test, name) if segment is None else segment.when(test, name)
    return scored.withColumn(
        "rfm_code", F.concat_ws("", "r_score", "f_score", "m_score")
    ).withColumn("rfm_segment", segment)


#: Customers collected from Spark for the report's charts when the table stays in Spark.
REPORT_SAMPLE = 20_000


def _fit_with_mllib(agg: Aggregated, settings: Settings, source: str, timer: StageTimer) -> _Fit:
    """Cluster a customer table too large to collect with Spark MLlib, where it lies."""
    from pyspark.sql import functions as F  # noqa: N812

    from custseg.spark import fit_mllib

    rfm = agg.customers_spark
    assert rfm is not None
    rfm = rfm.cache()
    n = agg.cleaned.customers
    bad = rfm.filter("monetary <= 0")
    first = bad.take(1)
    _spend_check(bad.count(), (first[0][0], float(first[0][3])) if first else None, source)
    profiles = rfm.select(*FEATURES).distinct().count()
    ks, warnings = _k_values(settings, n, source, profiles)
    for warning in warnings:
        logger.warning("warning  %s", warning)
    with timer.stage("k-select") as notes:
        advance = timer.progress(f"MLlib K-Means for k={ks[0]}..{ks[-1]}", 1)
        fit = fit_mllib(rfm, ks, settings.model)
        advance(1)
        notes.append(f"Spark MLlib on all {n:,} customers; k={fit.k}")
    with timer.stage("segment") as notes:
        names = assign_personas(fit.centroids)
        persona = F.create_map(*[F.lit(v) for i, name in enumerate(names) for v in (i, name)])
        assigned = fit.assigned.withColumn("persona", persona[F.col("cluster")])
        assigned = _spark_scores(assigned, n)
        if dict(assigned.dtypes)["customer_id"] in ("double", "float"):
            # 13085.0 is written "13085", as on the local path.
            whole = F.col("customer_id") == F.floor("customer_id")
            assigned = assigned.withColumn(
                "customer_id",
                F.when(whole, F.col("customer_id").cast("bigint").cast("string")).otherwise(
                    F.col("customer_id").cast("string")
                ),
            )
        per = (
            assigned.groupBy("cluster", "persona")
            .agg(
                F.count("*").alias("customers"),
                F.avg("recency_days").alias("recency_days_mean"),
                F.avg("frequency").alias("frequency_mean"),
                F.avg("monetary").alias("monetary_mean"),
                F.sum("monetary").alias("revenue"),
            )
            .toArrow()
            .to_pandas()
        )
        segments = _summary_from_totals(per, playbook(settings.playbook))
        fraction = min(1.0, REPORT_SAMPLE / max(n, 1))
        sample = (
            assigned.sample(fraction=fraction, seed=settings.model.seed)
            .orderBy("customer_id")
            .toArrow()
            .to_pandas()
        )
        sample["customer_id"] = sample["customer_id"].astype(str)
        sample = sample[["customer_id", *FEATURES, "cluster", "persona", *SCORE_COLUMNS]]
        notes.append(
            ", ".join(
                f"{p} {c:,}"
                for p, c in zip(segments["persona"], segments["customers"], strict=True)
            )
        )
    scaler = LogStandardScaler()
    scaler.mean_, scaler.scale_ = fit.mean, np.where(fit.scale > 0, fit.scale, 1.0)
    return _Fit(
        customers=sample,
        n_customers=n,
        table=fit.table,
        k=fit.k,
        reason=fit.reason,
        scaler=scaler,
        centroids=fit.centroids,
        names=names,
        inertia=float(fit.table.loc[fit.table["k"] == fit.k, "inertia"].iloc[0]),
        segments=segments,
        ks=ks,
        warnings=warnings,
        scaled=scaler.transform(sample[list(FEATURES)].to_numpy(dtype=np.float64)),
        silhouette_n=n,
        silhouette_metric="squared euclidean (Spark MLlib ClusteringEvaluator)",
        sweep_n=n,
        sweep_note=f"Spark MLlib K-Means on all {n:,} customers; the report's charts show a "
        f"seeded sample of {len(sample):,}",
        customers_spark=assigned,
    )


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
    source = str(input_path)
    if settings.engine.name == "spark":
        agg = _aggregate_spark(source, settings, timer)
    else:
        agg = _aggregate_duckdb(Path(input_path), settings, timer)
    cleaned = agg.cleaned
    fit = (
        _fit_locally(agg.customers, settings, source, timer)
        if agg.customers is not None
        else _fit_with_mllib(agg, settings, source, timer)
    )
    customers, table, k, reason = fit.customers, fit.table, fit.k, fit.reason
    scaler, centroids, names, inertia = fit.scaler, fit.centroids, fit.names, fit.inertia
    segments, ks, warnings, cfg = fit.segments, fit.ks, fit.warnings, settings.model
    model = SegmentModel(scaler, centroids, names)
    as_of = cleaned.as_of.isoformat(timespec="seconds")
    quality = _quality_record(agg, source, fit.n_customers)
    model_record: dict[str, Any] = {
        "features": list(FEATURES),
        **model.to_dict(),
        "k": k,
        "k_selection": {
            "mode": "auto" if cfg.k == "auto" else "fixed",
            "rule": AUTO_RULE.format(lo=cfg.business_k_min, hi=cfg.business_k_max),
            "reason": reason,
            "k_range": [ks[0], ks[-1]],
            "warnings": warnings,
            "silhouette_sample_size": fit.silhouette_n,
            "silhouette_exact": fit.silhouette_n == fit.n_customers,
            "silhouette_metric": fit.silhouette_metric,
            "sweep_sample_size": fit.sweep_n,
            "sweep_note": fit.sweep_note,
        },
        "kmeans": {
            "n_init": cfg.n_init,
            "init": "k-means++",
            "algorithm": "lloyd",
            "inertia": inertia,
        },
        "seed": cfg.seed,
        "as_of": as_of,
        "mapping": agg.mapping.as_dict(),
        "cleaning": settings.cleaning.model_dump(),
        "settings": settings.model_dump(mode="json"),
        "versions": _versions(),
    }
    run_log = {
        "started_at": dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "seconds": timer.timings,
        "engine": agg.engine,
        "workbook_cache": agg.cache,
        "total_seconds": round(time.time() - started, 3),
    }
    holdout: dict[str, Any] = {}
    if cfg.holdout_days and fit.customers_spark is None:
        with timer.stage("holdout") as notes:
            holdout = holdout_check(
                input_path, settings, cleaned.as_of, k, customers, agg.holdout_customers
            )
            notes.append(str(holdout["sentence"]))
        model_record["holdout"] = holdout
        run_log["total_seconds"] = round(time.time() - started, 3)
    cohorts, persona_curves = pd.DataFrame(), pd.DataFrame()
    if agg.monthly is not None and fit.customers_spark is None:
        with timer.stage("cohorts") as notes:
            cohorts = cohort_table(agg.monthly, cleaned.last_purchase)
            persona_curves = persona_retention(agg.monthly, customers)
            notes.append(f"{cohorts['cohort'].nunique()} monthly cohorts")
        run_log["total_seconds"] = round(time.time() - started, 3)
    return RunResult(
        customers=customers,
        segments=segments,
        k_table=table,
        quality=quality,
        model=model_record,
        run_log=run_log,
        scaled=fit.scaled,
        customers_spark=fit.customers_spark,
        holdout=holdout,
        cohorts=cohorts,
        persona_retention=persona_curves,
    )


def holdout_check(
    input_path: Path | str,
    settings: Settings,
    as_of: dt.datetime,
    k: int,
    full: pd.DataFrame,
    before_rfm: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Segment the data before a cut-off and see what each persona did after it.

    The cut-off is ``as_of`` minus ``model.holdout_days``; the data before it is segmented
    with the run's k (no k sweep), and each customer's orders and spend after the cut-off
    are the full data's minus the earlier ones. ``before_rfm`` is the RFM table as of the
    cut-off when the caller has it (the same cleaned rows); else the input is run again.

    Returns
    -------
    dict
        cutoff, days, table (per persona: customers, bought_again, holdout_orders_mean,
        holdout_spend_mean) as records, and a sentence; or a note when the data is too short.
    """
    from custseg.migration import holdout_table

    days = settings.model.holdout_days
    cutoff = as_of - dt.timedelta(days=days)
    inner = settings.model_copy(
        update={
            "as_of": cutoff,
            "model": settings.model.model_copy(
                update={
                    "k": k,
                    "k_min": k,
                    "k_max": k,
                    "holdout_days": 0,
                    "stability_resamples": 0,
                    # Its scores are not used: a small silhouette sample keeps it cheap.
                    "silhouette_max_exact": 2_000,
                }
            ),
        }
    )
    sampled = ""
    cap = settings.model.sweep_max_customers
    if before_rfm is not None and len(before_rfm) > cap:
        # Shares and means per persona need no more: a seeded sample, said in the sentence.
        pick = np.random.default_rng(settings.model.seed).choice(
            len(before_rfm), cap, replace=False
        )
        sampled = f" (a seeded sample of {cap:,} of the {len(before_rfm):,} customers then)"
        before_rfm = before_rfm.iloc[np.sort(pick)].reset_index(drop=True)
    try:
        if before_rfm is not None:
            fitted = _fit_locally(before_rfm, inner, str(input_path), StageTimer(silent=True))
            before_customers, before_segments = fitted.customers, fitted.segments
        else:
            before = segment(input_path, inner)
            before_customers, before_segments = before.customers, before.segments
    except UserError as exc:
        return {
            "cutoff": cutoff.isoformat(timespec="seconds"),
            "days": days,
            "table": [],
            "sentence": f"No holdout check: the data before {cutoff:%Y-%m-%d} cannot be "
            f"segmented ({exc})",
        }
    order = list(dict.fromkeys(before_segments["persona"]))
    table = holdout_table(before_customers, full, order)
    top, bottom = table.iloc[0], table.iloc[-1]
    sentence = (
        f"Segmented on the data before {cutoff:%Y-%m-%d} ({days} days before the as-of date)"
        f"{sampled}: "
        f"{top['bought_again']:.0%} of {top['persona']} bought again in those {days} days "
        f"(mean spend {top['holdout_spend_mean']:,.2f}), against {bottom['bought_again']:.0%} "
        f"of {bottom['persona']} ({bottom['holdout_spend_mean']:,.2f})."
    )
    return {
        "cutoff": cutoff.isoformat(timespec="seconds"),
        "days": days,
        "table": table.to_dict("records"),
        "sentence": sentence,
    }


#: The columns of an audience file (CLV columns are added where they are known).
AUDIENCE_COLUMNS = (
    "customer_id",
    "persona",
    "rfm_segment",
    "recency_days",
    "frequency",
    "monetary",
)


def audience_name(persona: str) -> str:
    """Return the file name of a persona's audience: "Can't Lose Them" -> cant-lose-them.csv."""
    slug = "".join(ch.lower() if ch.isalnum() else " " for ch in persona.replace("'", ""))
    return "-".join(slug.split()) + ".csv"


def write_audiences(customers: pd.DataFrame, folder: Path) -> list[Path]:
    """Write one formula-safe CSV per persona: every customer in exactly one file.

    Parameters
    ----------
    customers : pandas.DataFrame
        With the :data:`AUDIENCE_COLUMNS`, and expected_revenue and p_alive if known.
    folder : Path
        Created; one ``<persona>.csv`` per persona present.

    Returns
    -------
    list of Path
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    extra = [c for c in ("expected_revenue", "p_alive") if c in customers]
    written = []
    for persona, group in customers.groupby("persona", sort=False):
        path = folder / audience_name(str(persona))
        csv_safe(group[[*AUDIENCE_COLUMNS, *extra]]).to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write_outputs(result: RunResult, out_dir: Path) -> list[Path]:
    """Write every output file into ``out_dir``, atomically.

    All files are first written into a staging folder inside ``out_dir`` and then moved
    into place with :func:`os.replace`; a failure leaves the folder as it was.

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
    with staged_folder(out_dir, "--out") as stage:
        customers = result.customers
        if result.customers_spark is not None:
            # Too many customers for the driver: the executors write a partitioned folder.
            result.customers_spark.write.partitionBy("persona").parquet(
                str(stage / "customers.parquet")
            )
        else:
            csv_safe(customers).to_csv(stage / "customers.csv", index=False, lineterminator="\n")
            customers.to_parquet(stage / "customers.parquet", index=False)
        csv_safe(result.segments).to_csv(stage / "segments.csv", index=False, lineterminator="\n")
        result.k_table.to_csv(stage / "k_selection.csv", index=False, lineterminator="\n")
        (stage / "data_quality.json").write_text(_json(result.quality), encoding="utf-8")
        (stage / "model.json").write_text(_json(result.model), encoding="utf-8")
        (stage / "run_log.json").write_text(_json(result.run_log), encoding="utf-8")
        (stage / "report.html").write_text(render_report(result), encoding="utf-8")
        holdout = pd.DataFrame(
            result.holdout.get("table", []),
            columns=[
                "persona",
                "customers",
                "bought_again",
                "holdout_orders_mean",
                "holdout_spend_mean",
            ],
        )
        csv_safe(holdout).to_csv(stage / "holdout.csv", index=False, lineterminator="\n")
        result.cohorts.to_csv(stage / "cohorts.csv", index=False, lineterminator="\n")
        csv_safe(result.persona_retention).to_csv(
            stage / "cohort_personas.csv", index=False, lineterminator="\n"
        )
        if result.customers_spark is None:
            # (On the MLlib path customers.parquet is already one folder per persona.)
            write_audiences(result.customers, stage / "audiences")
    return [out_dir / name for name in OUTPUT_FILES if (out_dir / name).exists()]


SCORE_FILES = ("customers.csv", "customers.parquet", "data_quality.json", "score_log.json")


def load_model_file(path: Path) -> tuple[SegmentModel, dict[str, Any]]:
    """Read and check a model.json written by ``custseg run``.

    Returns
    -------
    tuple of (SegmentModel, dict)
        The model, and the whole record (its settings, as-of date, ...).

    Raises
    ------
    UserError
        If the file is missing, not JSON, or not a valid custseg model.
    """
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"Cannot read the model {path} (--model): {exc.strerror}.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"The model {path} (--model) is not a JSON file ({exc}).") from exc
    model = SegmentModel.from_dict(record, source=str(path))
    return model, record


def score(
    input_path: Path,
    model_path: Path,
    settings: Settings,
    *,
    progress: ProgressFactory | None = None,
) -> RunResult:
    """Assign the customers of a new order file to a saved model's segments, without refitting.

    The order lines are read and cleaned as ``run`` does, with the cleaning rules recorded in
    the model; the as-of date follows the same rule (``--as-of``, else the file's last kept
    purchase + 1 day); the model's own scaler standardises the features and each customer
    goes to the nearest centroid.

    Parameters
    ----------
    input_path : Path
        Order lines, in any format ``run`` reads.
    model_path : Path
        A model.json.
    settings : Settings
        Column names, CSV dialect, as-of and engine options (cleaning comes from the model).
    progress : ProgressFactory, optional
        Progress bars.

    Returns
    -------
    RunResult
        ``customers`` in the layout ``run`` writes; ``quality`` and ``run_log``; the model
        record as ``model``; empty segment and k tables.
    """
    model, record = load_model_file(model_path)
    return score_with_model(input_path, model, record, settings, str(model_path), progress)


def score_with_model(
    input_path: Path,
    model: SegmentModel,
    record: dict[str, Any],
    settings: Settings,
    model_label: str,
    progress: ProgressFactory | None = None,
) -> RunResult:
    """Do what :func:`score` does with a model already in memory (``record``: its model.json)."""
    recorded = record.get("settings", {}).get("cleaning")
    if recorded is not None:
        settings = settings.model_copy(update={"cleaning": CleaningConfig(**recorded)})
    timer = StageTimer(progress)
    started = time.time()
    agg = _aggregate_duckdb(input_path, settings, timer)
    customers = agg.customers
    assert customers is not None
    with timer.stage("score") as notes:
        labels = model.predict(customers[list(FEATURES)].to_numpy(dtype=np.float64))
        customers["cluster"] = labels
        customers["persona"] = [model.personas[i] for i in labels]
        customers = pd.concat([customers, rfm_scores(customers)], axis=1)
        counts = customers["persona"].value_counts()
        notes.append(
            f"{len(customers):,} customers assigned with {model_label} (no refit): "
            + ", ".join(f"{p} {int(counts.get(p, 0)):,}" for p in dict.fromkeys(model.personas))
        )
    quality = _quality_record(agg, str(input_path), len(customers))
    run_log = {
        "model": model_label,
        "model_sha256": hashlib.sha256(_json(record).encode()).hexdigest(),
        "model_as_of": record.get("as_of"),
        "note": "scored with the saved scaler and centroids; nothing was refitted",
        "seconds": timer.timings,
        "total_seconds": round(time.time() - started, 3),
    }
    return RunResult(
        customers=customers,
        segments=pd.DataFrame(),
        k_table=pd.DataFrame(),
        quality=quality,
        model=record,
        run_log=run_log,
    )


def write_scores(result: RunResult, out_dir: Path) -> list[Path]:
    """Write a scoring's customers.csv/.parquet, data_quality.json and score_log.json."""
    with staged_folder(out_dir, "--out") as stage:
        customers = result.customers
        csv_safe(customers).to_csv(stage / "customers.csv", index=False, lineterminator="\n")
        customers.to_parquet(stage / "customers.parquet", index=False)
        (stage / "data_quality.json").write_text(_json(result.quality), encoding="utf-8")
        (stage / "score_log.json").write_text(_json(result.run_log), encoding="utf-8")
    return [out_dir / name for name in SCORE_FILES]


MIGRATION_FILES = (
    "migration.csv",
    "movers.csv",
    "model.json",
    "migration.html",
    "migration_log.json",
)


@dataclass
class Migration:
    """Two snapshots assigned by one model, and who moved where.

    Attributes
    ----------
    before, after : RunResult
        The customers at each as-of date (scored, the same model).
    matrix : pandas.DataFrame
        from_persona, to_persona, customers, share.
    moved : pandas.DataFrame
        Customers who went from a valuable persona to an at-risk one.
    model : dict
        The model record used (fitted on the first snapshot unless one was given).
    log : dict
        Dates, model source and the sentence describing them.
    """

    before: RunResult
    after: RunResult
    matrix: pd.DataFrame
    moved: pd.DataFrame
    model: dict[str, Any]
    log: dict[str, Any]


def migrate(
    input_path: Path,
    as_of_before: dt.datetime,
    as_of_after: dt.datetime,
    settings: Settings,
    *,
    model_path: Path | None = None,
    progress: ProgressFactory | None = None,
) -> Migration:
    """Segment two snapshots of the same order lines with one model and compare them.

    Snapshot A holds the order lines before ``as_of_before``, snapshot B those before
    ``as_of_after``. Without ``model_path`` the model is fitted on snapshot A (k chosen as
    ``run`` chooses it); both snapshots are then assigned with it, without refitting.

    Raises
    ------
    UserError
        When the dates are not in order, or as the stages do.
    """
    from custseg.migration import migration_matrix, movers

    if as_of_before >= as_of_after:
        raise UserError(
            f"--as-of {as_of_before:%Y-%m-%d} must come before --as-of {as_of_after:%Y-%m-%d}."
        )
    if model_path is None:
        fitted = segment(
            input_path, settings.model_copy(update={"as_of": as_of_before}), progress=progress
        )
        record = fitted.model
        model = SegmentModel.from_dict(record)
        label = f"fitted on the snapshot before {as_of_before:%Y-%m-%d}"
    else:
        model, record = load_model_file(model_path)
        label = str(model_path)
    snaps = [
        score_with_model(
            input_path, model, record, settings.model_copy(update={"as_of": when}), label, progress
        )
        for when in (as_of_before, as_of_after)
    ]
    order = list(dict.fromkeys(model.personas))
    matrix = migration_matrix(snaps[0].customers, snaps[1].customers, order)
    moved = movers(snaps[0].customers, snaps[1].customers)
    sentence = (
        f"Customers as of {as_of_before:%Y-%m-%d} ({len(snaps[0].customers):,}) and as of "
        f"{as_of_after:%Y-%m-%d} ({len(snaps[1].customers):,}), both assigned by the model "
        f"{label}."
    )
    log = {
        "input": str(input_path),
        "as_of_before": as_of_before.isoformat(timespec="seconds"),
        "as_of_after": as_of_after.isoformat(timespec="seconds"),
        "model": label,
        "customers_before": len(snaps[0].customers),
        "customers_after": len(snaps[1].customers),
        "moved_valuable_to_at_risk": len(moved),
        "sentence": sentence,
    }
    return Migration(snaps[0], snaps[1], matrix, moved, record, log)


def write_migration(result: Migration, out_dir: Path) -> list[Path]:
    """Write migration.csv, movers.csv, model.json, migration.html and migration_log.json."""
    from custseg.reporting import migration_page

    with staged_folder(out_dir, "--out") as stage:
        csv_safe(result.matrix).to_csv(stage / "migration.csv", index=False, lineterminator="\n")
        csv_safe(result.moved).to_csv(stage / "movers.csv", index=False, lineterminator="\n")
        (stage / "model.json").write_text(_json(result.model), encoding="utf-8")
        (stage / "migration.html").write_text(
            migration_page(result.matrix, result.moved, result.log), encoding="utf-8"
        )
        (stage / "migration_log.json").write_text(_json(result.log), encoding="utf-8")
    return [out_dir / name for name in MIGRATION_FILES]


CLV_FILES = (
    "clv.csv",
    "clv_personas.csv",
    "clv_params.json",
    "backtest.csv",
    "clv.html",
    "audiences",
)


@dataclass
class ClvResult:
    """What ``custseg clv`` computed.

    Attributes
    ----------
    customers : pandas.DataFrame
        The clv.csv table.
    personas : pandas.DataFrame
        Per persona: customers, expected_revenue, share, p_alive_mean, clv.
    params : dict
        clv_params.json.
    backtest : pandas.DataFrame or None
        One row per method, with --calibration-end.
    audiences : pandas.DataFrame
        The run's customers (scores, rule segment) with expected_revenue and p_alive.
    """

    customers: pd.DataFrame
    personas: pd.DataFrame
    params: dict[str, Any]
    backtest: pd.DataFrame | None
    audiences: pd.DataFrame = field(default_factory=pd.DataFrame)


def lifetime_value(
    input_path: Path,
    settings: Settings,
    *,
    calibration_end: dt.date | None = None,
    horizon: int = 90,
    discount_rate: float = 0.1,
    progress: ProgressFactory | None = None,
) -> ClvResult:
    """Fit BG/NBD and Gamma-Gamma, predict the next ``horizon`` days, optionally backtest.

    Parameters
    ----------
    input_path : Path
        Order lines (read and cleaned as ``run`` does).
    settings : Settings
        As for ``run``; personas come from a run as of the calibration end.
    calibration_end : datetime.date, optional
        Fit on purchase days up to and including it, predict the following ``horizon`` days
        and compare with what happened (backtest). Default: fit on all the data.
    horizon : int
        Days predicted.
    discount_rate : float
        Annual rate: clv = expected revenue / (1 + rate) ** (horizon / 365).
    progress : ProgressFactory, optional
        Progress bars.

    Returns
    -------
    ClvResult
        The tables and parameters.
    """
    from custseg.clv import backtest_metrics, fit_bg_nbd, fit_gamma_gamma, summary_from_days

    if horizon < 1:
        raise UserError(f"--horizon must be at least 1 day, got {horizon}.")
    timer = StageTimer(progress)
    agg = _aggregate_duckdb(Path(input_path), settings, timer, daily=True)
    days = agg.daily
    assert days is not None
    last_day = days["day"].max().date()
    end = calibration_end or last_day
    first_day = days["day"].min().date()
    if not first_day <= end < last_day + dt.timedelta(days=1):
        raise UserError(
            f"--calibration-end {end} is outside the purchase days of {input_path} "
            f"({first_day} to {last_day})."
        )
    calibration = days[days["day"] <= pd.Timestamp(end)]
    # Personas as a run as of the day after the calibration end would give them.
    as_of = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    run = segment(
        input_path,
        settings.model_copy(
            update={
                "as_of": as_of,
                "model": settings.model.model_copy(update={"holdout_days": 0}),
            }
        ),
    )
    with timer.stage("clv") as notes:
        summary = summary_from_days(calibration, end)
        bg = fit_bg_nbd(summary)
        gg = fit_gamma_gamma(summary)
        x = summary["frequency"].to_numpy()
        t_x = summary["recency"].to_numpy()
        big_t = summary["T"].to_numpy()
        purchases = bg.expected_purchases(float(horizon), x, t_x, big_t)
        spend = gg.expected_spend(x, summary["monetary"].to_numpy())
        revenue = purchases * spend
        table = pd.DataFrame(
            {
                "customer_id": summary.index.astype(str),
                "frequency": x,
                "recency": t_x,
                "T": big_t,
                "p_alive": bg.p_alive(x, t_x, big_t),
                "expected_purchases": purchases,
                "expected_avg_spend": spend,
                "expected_revenue": revenue,
                "clv": revenue / (1 + discount_rate) ** (horizon / 365),
            }
        )
        personas = run.customers[["customer_id", "persona"]]
        table = table.merge(personas, on="customer_id", how="left")
        table = table[
            [
                "customer_id",
                "persona",
                *[c for c in table.columns if c not in ("customer_id", "persona")],
            ]
        ]
        per = (
            table.groupby("persona", sort=False)
            .agg(
                customers=("customer_id", "size"),
                expected_revenue=("expected_revenue", "sum"),
                p_alive_mean=("p_alive", "mean"),
                clv=("clv", "sum"),
            )
            .reindex(list(dict.fromkeys(run.segments["persona"])))
            .reset_index()
        )
        per["share"] = per["expected_revenue"] / per["expected_revenue"].sum()
        notes.append(
            f"BG/NBD r={bg.r:.4g} alpha={bg.alpha:.4g} a={bg.a:.3g} b={bg.b:.3g}; "
            f"Gamma-Gamma p={gg.p:.4g} q={gg.q:.4g} v={gg.v:.4g}; "
            f"{len(table):,} customers, expected revenue {revenue.sum():,.2f} in {horizon} days"
        )
    warnings = [*bg.warnings, *gg.warnings]
    backtest = None
    if calibration_end is not None:
        window = days[
            (days["day"] > pd.Timestamp(end))
            & (days["day"] <= pd.Timestamp(end) + pd.Timedelta(days=horizon))
        ]
        actual = (
            window.groupby("customer_id")
            .agg(purchases=("day", "size"), revenue=("spend", "sum"))
            .reindex(summary.index, fill_value=0)
        )
        got_n = actual["purchases"].to_numpy(dtype=np.float64)
        got_rev = actual["revenue"].to_numpy(dtype=np.float64)
        rate = np.where(big_t > 0, x / np.where(big_t > 0, big_t, 1), 0.0) * horizon
        cal_rev = (
            calibration.groupby("customer_id")["spend"].sum().reindex(summary.index).to_numpy()
        )
        avg_day = cal_rev / (x + 1)
        rows = [
            {
                "method": "bg_nbd_gamma_gamma",
                **backtest_metrics(purchases, got_n, revenue, got_rev, revenue),
            },
            {
                "method": "baseline_rate",
                **backtest_metrics(rate, got_n, rate * avg_day, got_rev, rate * avg_day),
            },
            {
                "method": "baseline_calibration_revenue",
                **backtest_metrics(rate, got_n, rate * avg_day, got_rev, cal_rev),
            },
        ]
        table["actual_purchases"] = got_n
        table["actual_revenue"] = got_rev
        backtest = pd.DataFrame(rows)
        # The revenue ranking baseline predicts no counts: only its capture is its own.
        for col in backtest.columns:
            if col not in ("method", "top_decile_capture"):
                backtest.loc[2, col] = np.nan
        model_mae, base_mae = backtest.loc[0, "purchases_mae"], backtest.loc[1, "purchases_mae"]
        if model_mae >= base_mae:
            warnings.append(
                f"The model does not beat the naive rate baseline on purchases MAE "
                f"({model_mae:.3f} against {base_mae:.3f}); trust its rankings more than "
                "its counts."
            )
        agg_rev = backtest.loc[0, "revenue_aggregate_error_pct"]
        if abs(agg_rev) > 20:
            warnings.append(
                f"Revenue in the holdout window is {'under' if agg_rev < 0 else 'over'}-predicted "
                f"by {abs(agg_rev):.0f}% (seasonality or a trend the model does not know)."
            )
    for warning in warnings:
        logger.warning("warning  %s", warning)
    params = {
        "calibration_end": end.isoformat(),
        "horizon_days": horizon,
        "discount_rate": discount_rate,
        "summary": "purchase days; frequency = repeat days, recency and T in days",
        "bg_nbd": bg.as_dict(),
        "gamma_gamma": gg.as_dict(),
        "warnings": warnings,
    }
    audiences = run.customers.merge(
        table[["customer_id", "expected_revenue", "p_alive"]], on="customer_id", how="left"
    )
    return ClvResult(table, per, params, backtest, audiences)


def write_clv(result: ClvResult, out_dir: Path) -> list[Path]:
    """Write clv.csv, clv_personas.csv, clv_params.json, backtest.csv (if any) and clv.html."""
    from custseg.reporting import clv_page

    with staged_folder(out_dir, "--out") as stage:
        csv_safe(result.customers).to_csv(stage / "clv.csv", index=False, lineterminator="\n")
        csv_safe(result.personas).to_csv(
            stage / "clv_personas.csv", index=False, lineterminator="\n"
        )
        (stage / "clv_params.json").write_text(_json(result.params), encoding="utf-8")
        if result.backtest is not None:
            result.backtest.to_csv(stage / "backtest.csv", index=False, lineterminator="\n")
        (stage / "clv.html").write_text(clv_page(result), encoding="utf-8")
        if not result.audiences.empty:
            write_audiences(result.audiences, stage / "audiences")
    return [out_dir / n for n in CLV_FILES if (out_dir / n).exists()]


def write_cohorts(result: RunResult, out_dir: Path) -> list[Path]:
    """Write cohorts.csv, cohort_personas.csv and cohorts.html (heatmap and curves)."""
    from custseg.charts import cohort_heatmap, persona_retention_chart
    from custseg.reporting import html_page

    if result.cohorts.empty:
        raise UserError("Cohorts need the DuckDB engine (the Spark MLlib path has none).")
    with staged_folder(out_dir, "--out") as stage:
        result.cohorts.to_csv(stage / "cohorts.csv", index=False, lineterminator="\n")
        csv_safe(result.persona_retention).to_csv(
            stage / "cohort_personas.csv", index=False, lineterminator="\n"
        )
        body = "".join(
            fig.to_html(full_html=False, include_plotlyjs=False)
            for fig in (
                cohort_heatmap(result.cohorts),
                persona_retention_chart(result.persona_retention),
            )
        )
        (stage / "cohorts.html").write_text(
            html_page("custseg: cohort retention", "Cohort retention", "", body), encoding="utf-8"
        )
    return [out_dir / n for n in ("cohorts.csv", "cohort_personas.csv", "cohorts.html")]


def plan_campaigns(campaigns_file: Path, clv_dir: Path) -> pd.DataFrame:
    """Read a YAML list of campaigns and a clv folder; apply the planner's formula to each.

    Raises
    ------
    UserError
        For an unreadable file, an unknown key, a bad value or an unknown persona.
    """
    import yaml

    from custseg.planner import Campaign, plan_campaign

    try:
        entries = yaml.safe_load(Path(campaigns_file).read_text(encoding="utf-8"))
        personas = pd.read_csv(Path(clv_dir) / "clv_personas.csv")
    except OSError as exc:
        raise UserError(f"Cannot read {exc.filename}: {exc.strerror}.") from exc
    except yaml.YAMLError as exc:
        raise UserError(f"{campaigns_file} is not valid YAML: {exc}.") from exc
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{campaigns_file} must hold a list of campaigns (name, persona, ...).")
    rows = []
    for i, entry in enumerate(entries, 1):
        try:
            campaign = Campaign(**entry)
        except TypeError as exc:
            raise UserError(f"{campaigns_file}, campaign {i}: {exc}.") from exc
        rows.append(plan_campaign(campaign, personas))
    table: pd.DataFrame = pd.DataFrame(rows)
    return table


def write_plan(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write plan.csv."""
    with staged_folder(out_dir, "--out") as stage:
        csv_safe(table).to_csv(stage / "plan.csv", index=False, lineterminator="\n")
    return [out_dir / "plan.csv"]
