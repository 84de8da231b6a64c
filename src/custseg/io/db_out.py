"""Results written into a database (``--to-db URL``), in one transaction, with a schema version.

Tables (all names start ``custseg_``; the schema is documented in docs/database.md):

- ``custseg_schema``: one row, the schema ``version`` these tables follow.
- ``custseg_runs``: every run, kept (run_id, command, started_at, recorded_at (when its
  results were written, to the microsecond), input, as_of, k, parameters as JSON).
- ``custseg_persona_history``: (run_id, customer_id, persona) of every run that assigns
  personas, kept: a BI tool charts movement over time with plain SQL.
- The latest results, replaced by each run of the command that writes them, each row with
  its run_id: ``custseg_customers``, ``custseg_segments``, ``custseg_k_selection`` (run),
  ``custseg_clv`` and ``custseg_clv_personas`` (clv), ``custseg_cohorts`` and
  ``custseg_cohort_personas`` (cohorts), ``custseg_migration`` and ``custseg_movers``
  (migrate).

Everything is written in one transaction: a failure (or a killed process) leaves the
previous results whole. A database whose tables a newer custseg wrote is refused in one
sentence; tables of an older schema are migrated in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from custseg.errors import UserError
from custseg.io.database import SQLITE, DatabaseSource, connect, redact, sentence
from custseg.progress import logger
from custseg.sql import sql_literal

__all__ = ["SCHEMA_VERSION", "check_target", "write_results"]

#: The version of the tables' layout this custseg writes.
SCHEMA_VERSION = 1

_RUNS_COLUMNS = (
    "run_id",
    "command",
    "started_at",
    "recorded_at",
    "input",
    "as_of",
    "k",
    "parameters",
)


def _arrow(frame: pd.DataFrame, run_id: str) -> Any:
    """Return ``frame`` with its run_id as an Arrow table of plain types (text, numbers)."""
    import pyarrow as pa

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
            out[name] = column.astype("string")
        elif pd.api.types.is_datetime64_any_dtype(column) and column.dt.tz is not None:
            out[name] = column.dt.tz_convert("UTC").dt.tz_localize(None)  # an instant, in UTC
    out.insert(0, "run_id", run_id)
    return pa.Table.from_pandas(out, preserve_index=False)


def _schema(cursor: Any, shown: str) -> None:
    """Create or check the schema version (in the caller's transaction)."""
    cursor.execute("CREATE TABLE IF NOT EXISTS custseg_schema (version INTEGER NOT NULL)")
    cursor.execute("SELECT max(version) FROM custseg_schema")
    found = cursor.fetchone()[0]
    if found is None:
        cursor.execute(f"INSERT INTO custseg_schema (version) VALUES ({SCHEMA_VERSION})")
    elif int(found) > SCHEMA_VERSION:
        raise UserError(
            f"--to-db {shown}: its custseg tables follow schema version {found}, written by a "
            f"newer custseg (this one writes version {SCHEMA_VERSION}); upgrade custseg, or "
            "write to another database."
        )
    elif int(found) < SCHEMA_VERSION:  # no older schema exists yet: nothing to migrate
        cursor.execute(f"UPDATE custseg_schema SET version = {SCHEMA_VERSION}")
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS custseg_runs (run_id TEXT PRIMARY KEY, command TEXT NOT "
        "NULL, started_at TEXT NOT NULL, recorded_at TEXT NOT NULL, input TEXT NOT NULL, "
        "as_of TEXT, k BIGINT, parameters TEXT NOT NULL)"
    )
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS custseg_persona_history (run_id TEXT NOT NULL, "
        "customer_id TEXT NOT NULL, persona TEXT NOT NULL)"
    )


def _open(url: str) -> Any:
    """Connect to ``--to-db``'s database; a failure is one sentence naming the option."""
    target = DatabaseSource(url, table="custseg_runs")
    try:
        return connect(target, create=True)
    except UserError as exc:  # a connection, not the table, failed: name the option
        raise UserError(str(exc).replace(target.shown, f"--to-db {redact(url)}")) from exc


def check_target(url: str, out_dir: Path | None = None) -> None:
    """Refuse, before any work, a ``--to-db`` database that cannot be reached.

    A PostgreSQL server is connected to (and let go); for SQLite the file's folder must
    exist (connecting would create the file, and its driver says "failed to allocate
    memory" for a missing folder), unless it is ``out_dir`` or lies in it: the outputs,
    written first, make it. It must be writable, too.

    Raises
    ------
    UserError
        Saying why, in one sentence.
    """
    if url.startswith(SQLITE):
        path = Path(url[len(SQLITE) :])
        if path.is_dir():
            raise UserError(f"--to-db {redact(url)}: {path} is a folder, not a database file.")
        folder = path.parent.absolute()
        made = out_dir is not None and (
            folder == out_dir.absolute() or out_dir.absolute() in folder.parents
        )
        if not folder.is_dir() and not made:
            raise UserError(
                f"--to-db {redact(url)}: the folder {path.parent} does not exist (sqlite:///"
                "a/b.db is relative to the working folder, sqlite:////a/b.db absolute)."
            )
        there = folder
        while not there.exists() and there != there.parent:
            there = there.parent
        if not os.access(there, os.W_OK | os.X_OK):
            raise UserError(f"--to-db {redact(url)}: {there} is not writable by this user.")
        return
    _open(url).close()


def write_results(
    url: str,
    *,
    command: str,
    started_at: str,
    source: str,
    as_of: str | None,
    k: int | None,
    parameters: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    personas: pd.DataFrame | None = None,
    forget: frozenset[str] = frozenset(),
) -> str:
    """Write one run's results into the database at ``url`` in one transaction.

    Parameters
    ----------
    url : str
        ``postgresql://...`` or ``sqlite:///...`` (a password comes from PGPASSWORD or
        ``~/.pgpass``, or the URL; it is never written or shown).
    command : str
        The command that produced the results (run, clv, cohorts, migrate).
    started_at, source, as_of, k, parameters
        The run's record (``custseg_runs``); ``source`` is the input as shown (no password).
    tables : mapping of str to DataFrame
        The latest results: table name (without ``custseg_``) to its rows; each replaces
        the table of that name.
    personas : DataFrame, optional
        ``customer_id`` and ``persona`` of the run, appended to the persona history.
    forget : frozenset of str
        Customer keys of the suppression list (lowercase): their rows of earlier runs (the
        persona history and the per-customer tables) are deleted in the same transaction.

    Returns
    -------
    str
        The run's id in ``custseg_runs``.

    Raises
    ------
    UserError
        When the database cannot be reached or written (nothing is changed), or its tables
        follow a newer schema.
    """
    import pyarrow as pa

    shown = redact(url)
    text = json.dumps(parameters, sort_keys=True, default=str)
    # Two runs of the same command on the same input within a second are two runs.
    run_id = f"{started_at}-{command}-{uuid.uuid4().hex[:12]}"
    recorded_at = dt.datetime.now(dt.timezone.utc).isoformat()
    target = DatabaseSource(url, table="custseg_runs")
    conn = _open(url)
    try:
        cursor = conn.cursor()
        try:
            _schema(cursor, shown)
            row = dict(
                zip(
                    _RUNS_COLUMNS,
                    (run_id, command, started_at, recorded_at, source, as_of, k, text),
                    strict=True,
                )
            )
            runs = pa.Table.from_pylist([row], schema=_runs_schema())
            cursor.adbc_ingest("custseg_runs", runs, mode="append")
            for name, frame in tables.items():
                cursor.adbc_ingest(f"custseg_{name}", _arrow(frame, run_id), mode="replace")
            if forget:  # customers who objected leave every table of earlier runs
                keys = ", ".join(sql_literal(k) for k in sorted(forget))
                for table in _tables_with_customers(cursor, url):
                    cursor.execute(f"DELETE FROM {table} WHERE lower(customer_id) IN ({keys})")
            if personas is not None:
                history = personas[["customer_id", "persona"]]
                cursor.adbc_ingest(
                    "custseg_persona_history", _arrow(history, run_id), mode="append"
                )
            conn.commit()
        except BaseException as exc:
            conn.rollback()
            if isinstance(exc, UserError):
                raise
            if isinstance(exc, Exception):
                raise UserError(
                    sentence(target, exc).replace(target.shown, f"--to-db {shown}")
                    + " Nothing was written there."
                ) from exc
            raise
        finally:
            cursor.close()
    finally:
        conn.close()
    logger.info(
        "database %s written to %s (run %s)",
        ", ".join(f"custseg_{n}" for n in tables) or "custseg_runs",
        shown,
        run_id,
    )
    return run_id


#: The tables that hold one row per customer (and so a customer_id column).
_PER_CUSTOMER = ("custseg_persona_history", "custseg_customers", "custseg_clv", "custseg_movers")


def _tables_with_customers(cursor: Any, url: str) -> list[str]:
    """Return those of :data:`_PER_CUSTOMER` that exist in the database."""
    names = ", ".join(sql_literal(t) for t in _PER_CUSTOMER)
    if url.startswith("sqlite:"):
        cursor.execute(f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({names})")
    else:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"current_schema() AND table_name IN ({names})"
        )
    return sorted(str(row[0]) for row in cursor.fetchall())


def _runs_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("run_id", pa.string()),
            ("command", pa.string()),
            ("started_at", pa.string()),
            ("recorded_at", pa.string()),
            ("input", pa.string()),
            ("as_of", pa.string()),
            ("k", pa.int64()),
            ("parameters", pa.string()),
        ]
    )
