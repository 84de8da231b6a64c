"""The same cleaning and RFM SQL on Apache Spark, for order lines that outgrow one machine.

Nothing here re-implements a rule: :func:`custseg.cleaning.staging_sql`,
:func:`custseg.cleaning.clean_orders` and :func:`custseg.features.rfm_sql` build the queries for
both engines (their few differing spellings are :class:`custseg.cleaning.Dialect`). This
module only opens the session, registers the input as ``orders_raw`` and runs the queries
through :class:`SparkConnection`, a four-method stand-in for a DuckDB connection.

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

from custseg.config import Settings
from custseg.errors import UserError
from custseg.io import (
    ColumnMapping,
    detect_date_format,
    detect_format,
    first_line,
    load_orders,
    resolve_columns,
    sql_literal,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "SESSION_CONF",
    "SparkConnection",
    "SparkInput",
    "duckdb_type",
    "load_orders_spark",
    "spark_session",
]

#: Session settings the shared SQL relies on (see :class:`custseg.cleaning.Dialect`).
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


class _Result:
    """The result of :meth:`SparkConnection.execute`, read like DuckDB's."""

    def __init__(self, frame: DataFrame) -> None:
        self.frame = frame

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.frame.collect()]

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.frame.take(1)
        return tuple(rows[0]) if rows else None

    def df(self) -> pd.DataFrame:
        # Through Arrow: PySpark's own toPandas does not support pandas 3 yet.
        frame: pd.DataFrame = self.frame.toArrow().to_pandas()
        return frame


class SparkConnection:
    """Run SQL on Spark through the part of DuckDB's connection API the stages use."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def execute(self, query: str) -> _Result:
        """Run one statement (views are session-scoped ``TEMP VIEW``s on both engines)."""
        return _Result(self.spark.sql(query))


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
    spark: SparkSession, path: str, settings: Settings, workdir: Path
) -> SparkInput:
    """Register the input as the temp view ``orders_raw`` and map its columns.

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
        loaded = load_orders(con, Path(path), settings.columns, settings.csv)
        reader_path = str(workdir / "workbook.parquet")
        con.execute(f"COPY orders_raw TO {sql_literal(reader_path)} (FORMAT parquet)")
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
        frame.createOrReplaceTempView("orders_raw")
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
        detected = _detect_dates(spark, mapping.date, path)
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


def _detect_dates(spark: SparkSession, column: str, source: str) -> str | None:
    """Return the date layout of a sample of text dates, by the rule used on DuckDB."""
    quoted = '"' + column.replace('"', '""') + '"'
    sample = spark.sql(
        f"SELECT {quoted} FROM orders_raw WHERE {quoted} IS NOT NULL LIMIT 50000"
    ).toArrow()
    con = duckdb.connect()
    con.register("orders_raw", sample)
    return detect_date_format(con, column, source)


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
