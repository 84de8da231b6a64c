"""The same SQL on Apache Spark, for order lines that outgrow one machine.

Nothing here re-implements a rule: :mod:`custseg.cleaning`, :mod:`custseg.features` and
:mod:`custseg.cohorts` build the queries for both engines (their few differing spellings are
:class:`custseg.sql.Dialect`). This module opens the Spark session, reads the input
(:class:`SparkEngine`, the engine a :class:`custseg.session.Session` uses with
``--engine spark``) and, for customer tables too large to collect, clusters them with MLlib
where they lie (:func:`fit_with_mllib`).

PySpark is optional (``pip install 'custseg[spark]'``); it is imported only when
``--engine spark`` is used.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from custseg.config import EngineConfig, Settings
from custseg.engines import InputInfo, Relation
from custseg.errors import UserError, first_line
from custseg.features import FEATURES
from custseg.io.columns import ColumnMapping, detect_date_format, resolve_columns
from custseg.io.readers import detect_format, file_sha256, load_orders
from custseg.sql import SPARK, Dialect, sql_literal

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from custseg.cleaning import CleaningResult
    from custseg.progress import StageTimer
    from custseg.segmentation import Segmentation
    from custseg.session import Session

__all__ = [
    "SESSION_CONF",
    "SparkEngine",
    "SparkInput",
    "duckdb_type",
    "fit_with_mllib",
    "load_orders_spark",
    "persona_relation",
    "spark_session",
]

#: Session settings the shared SQL relies on (see :class:`custseg.sql.Dialect`).
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.ansi.enabled": "true",
}

INSTALL_HINT = (
    "--engine spark needs PySpark 4 and Java 17+: pip install 'custseg[spark]' "
    "(or make install-spark)."
)


def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """Return the active Spark session, or start one.

    Parameters
    ----------
    master : str, optional
        ``local[*]``, ``spark://host:7077``, ``yarn``, ...; None keeps what ``spark-submit``,
        ``SPARK_MASTER`` or the cluster configured (else PySpark's default, ``local[*]``).
    conf : dict, optional
        Extra settings (tests use a small driver and one shuffle partition).

    Returns
    -------
    pyspark.sql.SparkSession
        With :data:`SESSION_CONF` applied.

    Raises
    ------
    UserError
        When PySpark or Java is missing.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise UserError(INSTALL_HINT) from exc
    import warnings

    # PySpark warns that it does not support pandas 3; custseg reads Spark through Arrow.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    builder = SparkSession.builder.appName("custseg")
    master = master or os.environ.get("SPARK_MASTER")
    if master:
        builder = builder.master(master)
    settings = {"spark.ui.showConsoleProgress": "false", **SESSION_CONF}
    if (master or "local").startswith("local"):
        # 200 shuffle partitions (Spark's default, sized for clusters) slow one machine down.
        settings["spark.sql.shuffle.partitions"] = "8"
        # custseg creates no tables; keep Spark from making ./spark-warehouse wherever it runs.
        settings["spark.sql.warehouse.dir"] = str(
            Path(tempfile.gettempdir()) / "custseg-spark-warehouse"
        )
    for key, value in {**settings, **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # no Java, a bad master URL, ...
        raise UserError(f"Spark could not start ({first_line(exc)}). {INSTALL_HINT}") from exc
    for key, value in SESSION_CONF.items():  # an existing session keeps its own settings
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine:
    """Spark SQL as the session's engine: the input read by Spark, the order facts cached.

    Parameters
    ----------
    settings : EngineConfig
        The Spark master.
    """

    name = "spark"
    dialect: Dialect = SPARK

    def __init__(self, settings: EngineConfig) -> None:
        self.spark = spark_session(settings.spark_master)
        self._work = new_workdir()
        self._cached: list[Relation] = []

    def read(self, source: str, settings: Settings) -> InputInfo:
        """Register the input (see :func:`load_orders_spark`) and map its columns."""
        raw = Relation.new("lines")
        loaded = load_orders_spark(
            self.spark, source, settings, Path(self._work.name), relation=raw.sql
        )
        local = Path(source)
        sha = file_sha256(local) if "://" not in source and local.is_file() else ""
        mapped = ", ".join(f"{k}={v!r}" for k, v in loaded.mapping.as_dict().items() if v)
        return InputInfo(
            format=loaded.format,
            columns=loaded.columns,
            mapping=loaded.mapping,
            types=loaded.types,
            options=dict(loaded.options),
            date_format=loaded.date_format,
            sha_pending=sha,
            cache="not used by Spark",
            raw=raw,
            note=f"{loaded.format} input {source} on Spark {self.spark.version} "
            f"({self.spark.sparkContext.master}); columns {mapped}",
        )

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Run ``query`` and collect its rows."""
        return [tuple(row) for row in self.spark.sql(query).collect()]

    def frame(self, query: str) -> pd.DataFrame:
        """Run ``query`` and return a pandas frame (through Arrow)."""
        # PySpark's own toPandas does not support pandas 3 yet.
        frame: pd.DataFrame = self.spark.sql(query).toArrow().to_pandas()
        return frame

    def keep(self, query: str, kind: str) -> Relation:
        """Compute ``query`` once into Spark's cache (``CACHE TABLE`` is eager)."""
        table = Relation.new(kind)
        self.spark.sql(f"CACHE TABLE {table} AS {query}")
        self._cached.append(table)
        return table

    def view(self, query: str, kind: str) -> Relation:
        """Name ``query`` as a temporary view."""
        name = Relation.new(kind)
        self.spark.sql(query).createOrReplaceTempView(name.sql)
        return name

    def view_frame(self, frame: DataFrame, kind: str) -> Relation:
        """Name a Spark DataFrame as a temporary view."""
        name = Relation.new(kind)
        frame.createOrReplaceTempView(name.sql)
        return name

    def register(self, frame: pd.DataFrame, kind: str) -> Relation:
        """Send a (small) pandas frame to Spark as a temporary view."""
        import pyarrow as pa

        name = Relation.new(kind)
        self.spark.createDataFrame(
            pa.Table.from_pandas(frame, preserve_index=False)
        ).createOrReplaceTempView(name.sql)
        return name

    def drop(self, relation: Relation) -> None:
        """Drop a cached table."""
        self.spark.sql(f"UNCACHE TABLE IF EXISTS {relation}")
        self.spark.catalog.dropTempView(relation.sql)
        if relation in self._cached:
            self._cached.remove(relation)

    def close(self) -> None:
        """Drop the cached tables (the Spark session stays, for spark-submit's caller)."""
        for table in self._cached:
            try:
                self.spark.sql(f"UNCACHE TABLE IF EXISTS {table}")
                self.spark.catalog.dropTempView(table.sql)
            except Exception:  # pragma: no cover - a stopped session has nothing to free
                pass
        self._work.cleanup()


_SPARK_TYPES = {
    "string": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "date": "DATE",
}


def duckdb_type(spark_type: str) -> str:
    """Name a Spark column type as DuckDB does, the vocabulary of :func:`staging_sql`."""
    if spark_type.startswith("decimal"):
        return "DECIMAL"
    return _SPARK_TYPES.get(spark_type, spark_type.upper())


@dataclass(frozen=True)
class SparkInput:
    """What :func:`load_orders_spark` registered as ``orders_raw``.

    Attributes
    ----------
    format : str
        ``parquet``, ``csv`` or ``xlsx``.
    columns : list of str
        The input's columns.
    mapping : ColumnMapping
        The column of each field.
    types : dict
        DuckDB type name of each column.
    options : dict
        Reader options in force.
    date_format : str or None
        A layout detected in text dates.
    """

    format: str
    columns: list[str]
    mapping: ColumnMapping
    types: dict[str, str]
    options: dict[str, str]
    date_format: str | None


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _guess_format(path: str) -> str:
    """Return a local file's format from its bytes, a folder's or URL's from file names."""
    local = Path(path.removeprefix("file://"))
    if _is_local(path) and local.is_file():
        return detect_format(local)
    if _is_local(path) and local.is_dir():
        names = [p.name.lower() for p in local.rglob("*") if p.is_file()]
        if any(n.endswith(".parquet") for n in names):
            return "parquet"
        if any(n.endswith((".csv", ".csv.gz", ".txt")) for n in names):
            return "csv"
        raise UserError(f"{path}: the folder holds no .parquet or .csv files.")
    if _is_local(path):
        raise UserError(f"Input {path} does not exist; check the path.")
    return "csv" if path.lower().rstrip("/").endswith((".csv", ".csv.gz")) else "parquet"


def load_orders_spark(
    spark: SparkSession,
    path: str,
    settings: Settings,
    workdir: Path,
    relation: str = "orders_raw",
) -> SparkInput:
    """Register the input as the temp view ``relation`` and map its columns.

    Parameters
    ----------
    spark : SparkSession
        The session.
    path : str
        A local file or folder, or any URL Spark reads (``s3a://``, ``hdfs://``, ...).
        A local workbook is read by custseg's own reader and handed over as Parquet.
    settings : Settings
        Column names, CSV dialect.
    workdir : Path
        A private folder for the Parquet copy of a workbook.
    relation : str
        The name to give the order lines (the caller owns it).

    Returns
    -------
    SparkInput
        The columns, their mapping and types.

    Raises
    ------
    UserError
        For an unreadable input or a column that cannot be mapped.
    """
    fmt = _guess_format(path)
    options: dict[str, str] = {}
    reader_path = path
    if fmt == "xlsx":
        # One workbook fits one machine; read it (and its sheet choice) the usual way.
        con = duckdb.connect()
        loaded = load_orders(con, Path(path), settings.columns, settings.csv, relation="workbook")
        reader_path = str(workdir / "workbook.parquet")
        con.execute(f"COPY workbook TO {sql_literal(reader_path)} (FORMAT parquet)")
        con.close()
        options = {k: v for k, v in loaded.options.items() if k != "cache"}
    try:
        if fmt == "csv":
            csv = settings.csv
            sep = csv.delimiter or _sniff_delimiter(path)
            # Recorded as on DuckDB: the encoding, and the dialect options the user gave.
            options = {"encoding": csv.encoding or "utf-8"}
            if csv.delimiter is not None:
                options["delimiter"] = csv.delimiter
            frame = spark.read.csv(
                reader_path,
                header=True,
                sep=sep,
                encoding=csv.encoding or "utf-8",
                multiLine=True,
                escape='"',
                inferSchema=False,
            )
        else:
            frame = spark.read.parquet(reader_path)
        frame.createOrReplaceTempView(relation)
        types = {f.name: duckdb_type(f.dataType.simpleString()) for f in frame.schema.fields}
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{path}: Spark cannot read it ({first_line(exc)}).") from exc
    columns = list(types)
    mapping = resolve_columns(columns, settings.columns, path)
    date_format = settings.csv.date_format
    detected = None
    if date_format is None and types.get(mapping.date) == "VARCHAR":
        detected = _detect_dates(spark, mapping.date, path, relation)
    return SparkInput(fmt, columns, mapping, types, options, detected)


def _sniff_delimiter(path: str) -> str:
    """DuckDB's CSV sniffer on a local file; ',' elsewhere (give --delimiter)."""
    if not _is_local(path) or not Path(path).is_file():
        return ","
    try:
        row = (
            duckdb.connect()
            .execute(f"SELECT Delimiter FROM sniff_csv({sql_literal(path)})")
            .fetchone()
        )
    except duckdb.Error:
        return ","
    return str(row[0]) if row else ","


def _detect_dates(spark: SparkSession, column: str, source: str, relation: str) -> str | None:
    """Return the date layout of a sample of text dates, by the rule used on DuckDB."""
    quoted = '"' + column.replace('"', '""') + '"'
    sample = spark.sql(
        f"SELECT {quoted} FROM {relation} WHERE {quoted} IS NOT NULL LIMIT 50000"
    ).toArrow()
    con = duckdb.connect()
    con.register("sample", sample)
    return detect_date_format(con, column, source, relation="sample")


def new_workdir() -> tempfile.TemporaryDirectory[str]:
    """Return a private scratch folder for one run (a workbook's Parquet copy)."""
    return tempfile.TemporaryDirectory(prefix="custseg-spark-")


@dataclass
class MllibFit:
    """K-Means fitted by Spark MLlib on a customer table too large to collect.

    Attributes
    ----------
    table : pandas.DataFrame
        k, inertia, silhouette (squared Euclidean, MLlib's), davies_bouldin,
        calinski_harabasz, chosen.
    k : int
        The chosen k.
    reason : str
        Why, in words.
    centroids : numpy.ndarray of shape (k, 3)
        Standardised centroids in canonical order.
    mean, scale : numpy.ndarray
        MLlib's StandardScaler mean and (sample) standard deviation of the log1p features.
    assigned : pyspark.sql.DataFrame
        customer_id, recency_days, frequency, monetary, cluster (canonical labels).
    """

    table: pd.DataFrame
    k: int
    reason: str
    centroids: Any
    mean: Any
    scale: Any
    assigned: Any


def fit_mllib(rfm: DataFrame, ks: list[int], cfg: Any) -> MllibFit:
    """Score each k with MLlib K-Means, choose one by the same rule, assign customers.

    Parameters
    ----------
    rfm : pyspark.sql.DataFrame
        customer_id, recency_days, frequency, monetary (one row per customer).
    ks : list of int
        The k values to score.
    cfg : ModelConfig
        k, business range, seed.

    Returns
    -------
    MllibFit
        Scores, choice, centroids and the labelled customers (still in Spark).

    Notes
    -----
    MLlib's ``ClusteringEvaluator`` computes the silhouette on squared Euclidean distances
    (scikit-learn's uses Euclidean), so its values run higher; Davies-Bouldin and
    Calinski-Harabasz are computed here from the definitions with Euclidean distances.
    """
    import numpy as np
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F  # noqa: N812

    from custseg.clustering import canonical_order
    from custseg.model_selection import choose_k

    logged = rfm.select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        *[F.log1p(F.col(c)).alias(f"log_{c}") for c in ("recency_days", "frequency", "monetary")],
    )
    raw = VectorAssembler(
        inputCols=["log_recency_days", "log_frequency", "log_monetary"], outputCol="raw"
    ).transform(logged)
    scaler = StandardScaler(inputCol="raw", outputCol="features", withMean=True, withStd=True)
    scaler_model = scaler.fit(raw)
    data = scaler_model.transform(raw).cache()
    n = data.count()
    parts = vector_to_array(F.col("features"))
    squares = data.select(sum((parts[i] * parts[i] for i in range(3)), F.lit(0.0)).alias("s"))
    total_ss = float(squares.agg(F.sum("s")).collect()[0][0])
    evaluator = ClusteringEvaluator(distanceMeasure="squaredEuclidean")
    rows, models = [], {}
    for k in ks:
        model = KMeans(k=k, seed=cfg.seed, featuresCol="features", maxIter=100).fit(data)
        predicted = model.transform(data)
        centers = np.asarray(model.clusterCenters(), dtype=np.float64)
        inertia = float(model.summary.trainingCost)
        rows.append(
            {
                "k": k,
                "inertia": inertia,
                "silhouette": float(evaluator.evaluate(predicted)),
                "davies_bouldin": _davies_bouldin(predicted, centers),
                "calinski_harabasz": ((total_ss - inertia) / (k - 1)) / (inertia / (n - k))
                if inertia > 0
                else float("inf"),
                "chosen": False,
            }
        )
        models[k] = (model, centers)
    table = pd.DataFrame(rows)
    if cfg.k == "auto":
        k, reason = choose_k(
            table, business_min=cfg.business_k_min, business_max=cfg.business_k_max
        )
    else:
        k, reason = int(cfg.k), f"k={cfg.k} was set by the user (--k)."
    table.loc[table["k"] == k, "chosen"] = True
    model, centers = models[k]
    order = canonical_order(centers)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    relabel = F.create_map(*[F.lit(v) for i, r in enumerate(rank) for v in (i, int(r))])
    assigned = model.transform(data).select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        relabel[F.col("prediction")].alias("cluster"),
    )
    data.unpersist()
    return MllibFit(
        table=table,
        k=k,
        reason=reason,
        centroids=centers[order],
        mean=np.asarray(scaler_model.mean.toArray(), dtype=np.float64),
        scale=np.asarray(scaler_model.std.toArray(), dtype=np.float64),
        assigned=assigned,
    )


def _davies_bouldin(predicted: DataFrame, centers: Any) -> float:
    """Davies-Bouldin index from the definition: Euclidean scatter and centroid distances."""
    import numpy as np
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F  # noqa: N812

    parts = vector_to_array(F.col("features"))
    centre = F.array(*[F.lit(float(v)) for v in centers.ravel()])
    k, d = centers.shape
    idx = F.col("prediction") * d
    dist = F.sqrt(
        sum(
            ((parts[j] - F.element_at(centre, idx + j + 1)) ** 2 for j in range(d)),
            F.lit(0.0),
        )
    )
    scatter: dict[int, float] = dict(
        predicted.groupBy("prediction")
        .agg(F.avg(dist).alias("s"))
        .select("prediction", "s")
        .collect()
    )
    s = np.array([scatter.get(i, 0.0) for i in range(k)])
    gaps = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (s[:, None] + s[None, :]) / gaps
    np.fill_diagonal(ratio, -np.inf)
    return float(np.mean(np.max(ratio, axis=1)))


#: Customers collected from Spark for the report's charts when the table stays in Spark.
REPORT_SAMPLE = 20_000


def _spark_scores(assigned: Any, n: int) -> Any:
    """Add the RFM scores and rule segment in Spark, by the formula of :mod:`custseg.scores`."""
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.window import Window

    from custseg.scores import segment_map

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


def fit_with_mllib(session: Session, cleaned: CleaningResult, timer: StageTimer) -> Segmentation:
    """Cluster a customer table too large to collect with Spark MLlib, where it lies.

    The RFM table stays in Spark; the k table, the choice of k and the personas follow the
    same rules as on the local path. The report's charts get a seeded sample of customers.
    """
    import numpy as np
    from pyspark.sql import functions as F  # noqa: N812

    from custseg.personas import assign_personas, playbook
    from custseg.preprocessing import LogStandardScaler
    from custseg.progress import logger
    from custseg.scores import SCORE_COLUMNS
    from custseg.segmentation import Segmentation, check_spend, k_values, summary_from_totals

    settings, source = session.settings, session.source
    engine = session.engine
    assert isinstance(engine, SparkEngine)
    n = cleaned.customers
    logger.info(
        "rfm      %s customers: above %s (engine.spark_collect_max_customers), the RFM "
        "table stays in Spark and MLlib clusters it",
        f"{n:,}",
        f"{settings.engine.spark_collect_max_customers:,}",
    )
    rfm = engine.spark.sql(session.rfm_query()).cache()
    bad = rfm.filter("monetary <= 0")
    first = bad.take(1)
    check_spend(bad.count(), (first[0][0], float(first[0][3])) if first else None, source)
    profiles = rfm.select(*FEATURES).distinct().count()
    ks, warnings = k_values(settings.model, n, source, profiles)
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
        # The engine's own customer keys with the personas, for the cohort tables.
        personas = engine.view_frame(
            assigned.select(F.col("customer_id").alias("customer"), "persona"), "personas"
        )
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
        segments = summary_from_totals(per, playbook(settings.playbook))
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
    return Segmentation(
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
        personas=personas,
    )


def persona_relation(session: Session, fit: Segmentation) -> Relation:
    """Return (customer, persona) of an MLlib segmentation, kept in Spark for the cohorts."""
    if not isinstance(fit.personas, Relation):
        raise TypeError("not a segmentation made by fit_with_mllib")
    return fit.personas
