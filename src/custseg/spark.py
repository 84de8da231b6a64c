"""The same SQL on Apache Spark, for order lines that outgrow one machine.

Nothing here re-implements a rule: :mod:`custseg.cleaning`, :mod:`custseg.features` and
:mod:`custseg.cohorts` build the queries for both engines (their few differing spellings are
:class:`custseg.sql.Dialect`). This module opens the Spark session, reads the input
(:class:`SparkEngine`, the engine a :class:`custseg.session.Session` uses with
``--engine spark``); :mod:`custseg.mllib` clusters customer tables too large to collect
where they lie.

PySpark is optional (``pip install 'custseg[spark]'``); it is imported only when
``--engine spark`` is used.
"""

from __future__ import annotations

import contextlib
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
from custseg.io.cache import file_sha256
from custseg.io.columns import ColumnMapping, detect_date_format, resolve_columns
from custseg.io.readers import detect_format, load_orders
from custseg.sql import SPARK, Dialect, sql_literal

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


__all__ = [
    "SESSION_CONF",
    "SparkEngine",
    "SparkInput",
    "duckdb_type",
    "load_orders_spark",
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
    if _starts_jvm():
        # Spark's own start-up warnings (hostname, native Hadoop, its default profile) went
        # to the terminal between custseg's lines: errors only, unless the user says else.
        quiet = Path(__file__).with_name("data") / "log4j2-quiet.properties"
        settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={quiet.as_uri()}"
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


def _starts_jvm() -> bool:
    """Whether this process will start Spark's JVM, with no logging set up by the user."""
    from pyspark import SparkContext

    conf_dir = Path(os.environ.get("SPARK_CONF_DIR", "/nonexistent"))
    defaults = conf_dir / "spark-defaults.conf"
    return (
        SparkContext._active_spark_context is None
        and "PYSPARK_GATEWAY_PORT" not in os.environ  # spark-submit started it
        and "PYSPARK_SUBMIT_ARGS" not in os.environ
        and not (conf_dir / "log4j2.properties").exists()
        and not (
            defaults.is_file()
            and "spark.driver.extraJavaOptions" in defaults.read_text(errors="replace")
        )
    )


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
        self._cached: dict[Relation, Any] = {}  # named views (with their cached frame)
        self._frames: list[DataFrame] = []  # cached frames without a name

    def read(self, source: str, settings: Settings) -> InputInfo:
        """Register the input (see :func:`load_orders_spark`) and map its columns."""
        raw = Relation.new("lines")
        loaded = load_orders_spark(
            self.spark, source, settings, Path(self._work.name), relation=raw.sql
        )
        self._cached[raw] = None  # the view is dropped at close
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
        """Compute ``query`` once into Spark's cache, under a temporary view.

        The view holds the analysed plan over the cached data, so it stays readable when
        the tables it was computed from are dropped (the session drops the order facts).
        """
        table = Relation.new(kind)
        frame = self.spark.sql(query).cache()
        frame.count()  # computed now: the one scan happens here, not at the first use
        frame.createOrReplaceTempView(table.sql)
        self._cached[table] = frame
        return table

    def view_frame(self, frame: DataFrame, kind: str) -> Relation:
        """Name a Spark DataFrame as a temporary view."""
        name = Relation.new(kind)
        frame.createOrReplaceTempView(name.sql)
        self._cached[name] = None  # dropped at close
        return name

    def cached(self, frame: DataFrame) -> DataFrame:
        """Cache a Spark DataFrame until :meth:`close` (MLlib reads the RFM table often)."""
        self._frames.append(frame.cache())
        return frame

    def register(self, frame: pd.DataFrame, kind: str) -> Relation:
        """Send a (small) pandas frame to Spark as a temporary view."""
        import pyarrow as pa

        name = Relation.new(kind)
        self.spark.createDataFrame(
            pa.Table.from_pandas(frame, preserve_index=False)
        ).createOrReplaceTempView(name.sql)
        self._cached[name] = None  # dropped at close
        return name

    def drop(self, relation: Relation) -> None:
        """Drop a cached table."""
        frame = self._cached.pop(relation, None)
        if frame is not None:
            frame.unpersist()
        self.spark.catalog.dropTempView(relation.sql)

    def close(self) -> None:
        """Drop the views and cached tables (the Spark session stays, for spark-submit)."""
        for table in list(self._cached):
            with contextlib.suppress(Exception):  # a stopped session has nothing to free
                self.drop(table)
        for frame in self._frames:
            with contextlib.suppress(Exception):
                frame.unpersist()
        self._frames.clear()
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
        reader_path = str(workdir / "workbook.parquet")
        with duckdb.connect() as con:
            loaded = load_orders(
                con, Path(path), settings.columns, settings.csv, relation="workbook"
            )
            con.execute(f"COPY workbook TO {sql_literal(reader_path)} (FORMAT parquet)")
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
        with duckdb.connect() as con:
            row = con.execute(f"SELECT Delimiter FROM sniff_csv({sql_literal(path)})").fetchone()
    except duckdb.Error:
        return ","
    return str(row[0]) if row else ","


def _detect_dates(spark: SparkSession, column: str, source: str, relation: str) -> str | None:
    """Return the date layout of a sample of text dates, by the rule used on DuckDB."""
    quoted = '"' + column.replace('"', '""') + '"'
    sample = spark.sql(
        f"SELECT {quoted} FROM {relation} WHERE {quoted} IS NOT NULL LIMIT 50000"
    ).toArrow()
    with duckdb.connect() as con:
        con.register("sample", sample)
        return detect_date_format(con, column, source, relation="sample")


def new_workdir() -> tempfile.TemporaryDirectory[str]:
    """Return a private scratch folder for one run (a workbook's Parquet copy)."""
    return tempfile.TemporaryDirectory(prefix="custseg-spark-")
