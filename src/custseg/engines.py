"""The engines that run custseg's SQL: DuckDB on this machine (Spark: :mod:`custseg.spark`).

An engine reads the input into a relation, runs queries, keeps tables it is asked to keep,
and hands back rows or pandas frames. The session (:mod:`custseg.session`) is its only user:
relation names are created here and held in :class:`Relation` handles, never spelled by the
stages.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

from custseg.config import EngineConfig, Settings
from custseg.errors import UserError
from custseg.io.cache import file_sha256
from custseg.io.columns import ColumnMapping, detect_date_format
from custseg.io.database import is_database, source_of, stage_source
from custseg.io.readers import detect_format, load_orders
from custseg.sql import DUCKDB, Dialect, sql_literal

__all__ = ["DuckDBEngine", "Engine", "InputInfo", "Relation"]

_names = itertools.count(1)
_hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custseg-sha256")


@dataclass(frozen=True)
class Relation:
    """A table or view an engine holds; ``sql`` names it inside a query.

    Only an engine creates one (with a name no user column can clash with), so no module
    needs to know, or can mistype, another module's table names.
    """

    sql: str

    @classmethod
    def new(cls, kind: str) -> Relation:
        """Return a fresh name for a relation of the given kind."""
        return cls(f"custseg_{kind}_{next(_names)}")

    def __str__(self) -> str:
        return self.sql


@dataclass
class InputInfo:
    """What reading the input found.

    Attributes
    ----------
    format : str
        ``xlsx``, ``csv`` or ``parquet``.
    columns : list of str
        The input's columns.
    mapping : ColumnMapping
        The column of each field.
    types : dict
        The DuckDB type name of each column (the vocabulary of the staging SQL).
    options : dict
        Reader options in force (recorded in data_quality.json).
    date_format : str or None
        The layout detected in text dates (None when given, ISO or not needed).
    sha_pending : str or Future
        SHA-256 of a local input file ("" for folders and URLs), perhaps still being
        computed: read :attr:`sha`.
    cache : str
        Whether a workbook's Parquet copy was used (run_log.json only).
    raw : Relation
        The order lines as read.
    note : str
        What was read, for the log.
    sniff : str
        How a CSV file's column types were found ("" for other formats).
    """

    format: str
    columns: list[str]
    mapping: ColumnMapping
    types: dict[str, str]
    options: dict[str, str]
    date_format: str | None
    sha_pending: str | Future[str]
    cache: str
    raw: Relation
    note: str
    sniff: str = ""

    @property
    def sha(self) -> str:
        """SHA-256 of the input file ("" for folders and URLs)."""
        pending = self.sha_pending
        return pending if isinstance(pending, str) else pending.result()


class Engine(Protocol):
    """What the session needs of an engine."""

    name: str
    dialect: Dialect

    def read(self, source: str, settings: Settings) -> InputInfo:
        """Read the input into a relation and map its columns."""
        ...

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Run a query and return its rows."""
        ...

    def frame(self, query: str) -> pd.DataFrame:
        """Run a query and return a pandas frame."""
        ...

    def keep(self, query: str, kind: str) -> Relation:
        """Compute a query once and keep the result for later queries."""
        ...

    def register(self, frame: pd.DataFrame, kind: str) -> Relation:
        """Make a pandas frame readable by queries."""
        ...

    def drop(self, relation: Relation) -> None:
        """Forget a kept table and give its memory back."""
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...


#: The least memory DuckDB gets by default (see :func:`default_memory_limit`).
MIN_MEMORY_LIMIT = 1 << 30


def default_memory_limit(input_bytes: int = 0) -> str:
    """Return DuckDB's memory limit when none is set: 1 GiB, or the input's size if larger.

    At most 80% of the machine's memory (DuckDB's own default). What DuckDB needs grows
    with the orders and customers, not with the lines: 1 GiB holds 100M lines' order facts
    (the process then peaks at 1.3 GiB, 23 s); DuckDB spills to ``--temp-dir`` beyond the
    limit, so a larger input still runs, and a larger input file raises the limit with it.
    """
    import os

    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        ram = 4 * MIN_MEMORY_LIMIT
    limit = min(max(MIN_MEMORY_LIMIT, input_bytes), int(ram * 0.8))
    return f"{limit}B"


#: The project's own folder for intermediate files; outside a project custseg creates none.
PROJECT_INTERIM = Path("data/interim")


def local_folder(configured: str, default: str, fallback: Path) -> Path:
    """Return where custseg keeps intermediate files, without creating ``data/`` anywhere.

    The default (``data/interim/...``) is used inside a project (``data/interim`` exists, as
    in a clone); elsewhere ``fallback``. A folder the user configured is used as given.
    """
    if configured != default or PROJECT_INTERIM.is_dir():
        return Path(configured)
    return fallback


def user_cache_dir() -> Path:
    """Return custseg's cache folder outside a project: ``$XDG_CACHE_HOME/custseg``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "custseg"


def connect(engine: EngineConfig, spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB with the configured memory limit, spill folder and threads.

    Parameters
    ----------
    engine : EngineConfig
        The settings.
    spill : Path, optional
        The spill folder to use when the configured one is the default and the working
        folder is no project (default: the configured one, created).

    Raises
    ------
    UserError
        When the spill folder cannot be created.
    """
    default = EngineConfig.model_fields["temp_directory"].default
    folder = local_folder(engine.temp_directory, default, spill or Path(engine.temp_directory))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"Cannot use {folder} as DuckDB's spill folder (--temp-dir): {exc.strerror}."
        ) from exc
    con = duckdb.connect()
    con.execute(f"SET temp_directory = {sql_literal(str(folder))}")
    con.execute(f"SET memory_limit = {sql_literal(engine.memory_limit or default_memory_limit())}")
    if engine.threads is not None:
        con.execute(f"SET threads = {int(engine.threads)}")
    # Insertion order is not needed by any stage; dropping it lets DuckDB stream with less memory.
    con.execute("SET preserve_insertion_order = false")
    return con


class DuckDBEngine:
    """DuckDB on this machine: files are read where they lie, tables kept in memory (or spilled).

    Parameters
    ----------
    settings : EngineConfig
        Memory limit, spill folder, threads, workbook cache.
    """

    name = "duckdb"
    dialect: Dialect = DUCKDB

    def __init__(self, settings: EngineConfig) -> None:
        self.settings = settings
        # A transcoded CSV copy, and outside a project the spill files, live here until the
        # engine closes.
        self._work = tempfile.TemporaryDirectory(prefix="custseg-")
        self.con = connect(settings, spill=Path(self._work.name) / "spill")
        self._limit = settings.memory_limit or default_memory_limit()

    def read(self, source: str, settings: Settings) -> InputInfo:
        """Read a local file (see :func:`custseg.io.readers.load_orders`).

        Raises
        ------
        UserError
            For a missing, unreadable or unmappable input.
        """
        path = Path(source)
        shown = source
        if is_database(source):
            # The lines are staged as Parquet in this command's folder, read like any file.
            db = source_of(source, settings.columns.table, settings.columns.query)
            path, _ = stage_source(db, Path(self._work.name))
            shown = db.shown
        raw = Relation.new("lines")
        engine = self.settings
        if engine.memory_limit is None and path.is_file():
            self._limit = default_memory_limit(path.stat().st_size)
            self.con.execute(f"SET memory_limit = {sql_literal(self._limit)}")
        cache = None
        if path.is_file() and engine.cache and detect_format(path) == "xlsx":
            # A workbook's cache is keyed by its hash: needed before reading.
            sha: str | Future[str] = file_sha256(path)
            default = EngineConfig.model_fields["cache_dir"].default
            folder = local_folder(engine.cache_dir, default, user_cache_dir())
            cache = (folder, str(sha))
        else:
            # Otherwise only the record needs it: hashed while the engine scans (637 MB take
            # half a second; both release the GIL).
            sha = _hasher.submit(file_sha256, path) if path.is_file() else ""
        try:
            loaded = load_orders(
                self.con,
                path,
                settings.columns,
                settings.csv,
                cache=cache,
                workdir=Path(self._work.name),
                relation=raw.sql,
            )
        except UserError as exc:
            if shown == source:
                raise
            raise UserError(str(exc).replace(str(path), shown)) from exc  # the staged copy
        types = dict(self.rows(f"SELECT column_name, column_type FROM (DESCRIBE {raw})"))
        detected = None
        if settings.csv.date_format is None and types.get(loaded.mapping.date) == "VARCHAR":
            detected = detect_date_format(self.con, loaded.mapping.date, shown, relation=raw.sql)
        options = {k: v for k, v in loaded.options.items() if k not in ("cache", "sniff")}
        mapped = ", ".join(f"{k}={v!r}" for k, v in loaded.mapping.as_dict().items() if v)
        return InputInfo(
            format=loaded.format,
            columns=loaded.columns,
            mapping=loaded.mapping,
            types=types,
            options=options,
            date_format=detected,
            sha_pending=sha,
            cache=loaded.options.get("cache", "not a workbook"),
            raw=raw,
            note=(
                f"database {shown}; columns {mapped}"
                if shown != source
                else f"{loaded.format} file {path}; columns {mapped}"
            ),
            sniff=loaded.options.get("sniff", ""),
        )

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Run ``query`` and return every row."""
        return self.con.execute(query).fetchall()

    def frame(self, query: str) -> pd.DataFrame:
        """Run ``query`` and return a pandas frame."""
        frame: pd.DataFrame = self.con.execute(query).df()
        return frame

    def keep(self, query: str, kind: str) -> Relation:
        """Compute ``query`` into a temporary table (DuckDB spills it beyond the limit)."""
        table = Relation.new(kind)
        self.con.execute(f"CREATE TEMP TABLE {table} AS {query}")
        return table

    def register(self, frame: pd.DataFrame, kind: str) -> Relation:
        """Make ``frame`` readable by queries (no copy)."""
        name = Relation.new(kind)
        self.con.register(name.sql, frame)
        return name

    def drop(self, relation: Relation) -> None:
        """Drop a kept table and return DuckDB's freed memory to the system.

        DuckDB keeps freed memory for reuse; lowering its limit to what it still holds
        makes it give the rest back (at 100M lines, 0.6 GiB the Python stages then use).
        """
        self.con.execute(f"DROP TABLE IF EXISTS {relation}")
        row = self.con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
        held = int(row[0] or 0) if row else 0
        self.con.execute(f"SET memory_limit = '{max(held + (held >> 3), 64 << 20)}B'")
        self.con.execute("SELECT 1").fetchall()
        self.con.execute(f"SET memory_limit = {sql_literal(self._limit)}")

    def close(self) -> None:
        """Close the connection and remove the work folder."""
        self.con.close()
        self._work.cleanup()
