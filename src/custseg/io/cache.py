"""The Parquet copy of a workbook's sheets: keyed by content, written whole, checked on read.

Reading a workbook takes seconds; its sheets are kept as Parquet under
``engine.cache_dir``, named by the file's sha256, size, mtime, sheet and id typing. A copy is
written under a temporary name of its own and renamed into place, with a note of its size
and sha256 beside it (``<copy>.sha256``); a copy whose note does not match is rebuilt.
``custseg clear-cache`` removes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

import duckdb

from custseg.config import ColumnsConfig
from custseg.io.columns import ColumnMapping, resolve_columns
from custseg.progress import logger
from custseg.sql import sql_literal

__all__ = ["cache_file", "clear_cache", "file_sha256", "read_cached", "write_cache"]


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def cache_file(cache_dir: Path, path: Path, sha: str, sheet: str, forced: set[str]) -> Path:
    """Name the Parquet copy of one sheet: a changed file, sheet or id typing misses it."""
    stat = path.stat()
    key = f"v1|{sha}|{stat.st_size}|{stat.st_mtime_ns}|{sheet}|{sorted(forced)}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_dir / f"{path.stem}-{digest}.parquet"


def _cache_valid(cached: Path) -> bool:
    """Tell whether a cached copy is whole: its size and sha256 match the note beside it.

    The note is written after the copy is in place, so a copy without a matching note (a
    writer killed midway, a damaged disk block) is rebuilt, never read.
    """
    note = cached.with_name(cached.name + ".sha256")
    try:
        size_text, digest = note.read_text(encoding="ascii").split()
        return cached.stat().st_size == int(size_text) and file_sha256(cached) == digest
    except (OSError, ValueError):
        return False


def read_cached(
    con: duckdb.DuckDBPyConnection,
    cached: Path,
    columns: ColumnsConfig,
    source: str,
    relation: str,
) -> tuple[list[str], ColumnMapping] | None:
    """Use the cache if it is whole and holds the mapped id columns as text; else None."""
    if not _cache_valid(cached):
        logger.warning("cache    %s is incomplete or damaged: rebuilt from the workbook", cached)
        return None
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {relation} AS SELECT * FROM "
            f"read_parquet({sql_literal(str(cached))})"
        )
        types = dict(
            con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})").fetchall()
        )
    except duckdb.Error:
        return None  # an unreadable cache is rebuilt
    mapping = resolve_columns(list(types), columns, source)
    ids = [c for c in (mapping.raw("customer"), mapping.raw("invoice")) if c is not None]
    if any(types[c] != "VARCHAR" for c in ids):
        return None
    return list(types), mapping


def write_cache(table: object, cached: Path) -> None:
    """Write the Parquet copy under a name of its own, then move it and its note into place.

    Runs that build the same copy at once each write their own temporary file; the last
    rename wins, and every reader sees a whole file (or none).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp: str | None = None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=cached.parent, prefix=f".{cached.name}.", suffix=".tmp")
        os.close(handle)
        pq.write_table(
            pa.Table.from_batches([table]) if isinstance(table, pa.RecordBatch) else table, tmp
        )
        note = f"{os.path.getsize(tmp)} {file_sha256(Path(tmp))}\n"
        os.replace(tmp, cached)
        tmp = None
        atomic_note = cached.with_name(cached.name + ".sha256")
        handle, tmp = tempfile.mkstemp(dir=cached.parent, prefix=f".{atomic_note.name}.")
        with os.fdopen(handle, "w", encoding="ascii") as fh:
            fh.write(note)
        os.replace(tmp, atomic_note)
        tmp = None
    except OSError as exc:  # a cache that cannot be written only costs time
        logger.warning("cache    not written to %s (%s)", cached.parent, exc.strerror or exc)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


#: The names :func:`cache_file` and :func:`write_cache` give: a copy, its note, and their
#: temporary names while written (``.<name>.<random>[.tmp]``). A user's own Parquet file in
#: the folder does not match.
_OURS = re.compile(
    r"[^/]+-[0-9a-f]{24}\.parquet(\.sha256)?"
    r"|\.[^/]+-[0-9a-f]{24}\.parquet(\.sha256)?\.[a-z0-9_]+(\.tmp)?"
)


def clear_cache(cache_dir: Path) -> int:
    """Remove the cached copies (and their notes and temporary files) custseg wrote.

    Only files named as :func:`cache_file` names them are removed; anything else in the
    folder stays. Returns how many files were removed.
    """
    removed = 0
    if not cache_dir.is_dir():
        return 0
    for item in cache_dir.iterdir():
        if item.is_file() and _OURS.fullmatch(item.name):
            item.unlink()
            removed += 1
    return removed
