"""Writing outputs: atomically, formula-safe, the same bytes for the same results.

Every output file goes through :func:`staged_folder` (a whole folder of outputs moved into
place at the end) or :func:`atomic_write_bytes`; tables go through :func:`write_csv`, so
the command line and the dashboard's downloads write the same bytes.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from custseg.errors import UserError, first_line
from custseg.io.outputs import commit, writable
from custseg.signals import CLEANUPS, deferred, pid_alive, raise_for, stopped_by

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "COMMITTED",
    "FORMULA_PREFIXES",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_out_dir",
    "csv_bytes",
    "csv_safe",
    "json_text",
    "remove_stale_staging",
    "staged_folder",
    "write_csv",
    "write_json",
]


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _plain_mode() -> int:
    """Return the mode ``open()`` gives a new file under the current umask."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, _plain_mode())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file and a rename."""
    with _staging(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: Path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``target`` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))


def _refuse_a_file(folder: Path, option: str) -> None:
    """Refuse an output folder that is a file, or that cannot be made or written into.

    Checked before any work: found when the outputs are written, the mistake cost the
    whole run first.
    """
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{option} {folder} is a file; give a folder.")
    there = folder.absolute()
    while not there.exists() and there != there.parent:
        there = there.parent
    if not there.is_dir():
        raise UserError(f"{option} {folder} cannot be made: {there} is a file; give a folder.")
    if not os.access(there, os.W_OK | os.X_OK):
        raise UserError(
            f"{option} {folder} cannot be written: {there} is not writable by this user; "
            "give another folder."
        )
    try:  # a folder the permissions allow can still refuse (/proc, a read-only mount)
        os.rmdir(tempfile.mkdtemp(prefix=".custseg-probe-", dir=there))
    except OSError as exc:
        raise UserError(
            f"{option} {folder} cannot be written: {there} refuses new folders "
            f"({exc.strerror}); give another folder."
        ) from exc


@contextlib.contextmanager
def staged_folder(folder: Path, option: str) -> Iterator[Path]:
    """Write files into a staging folder inside ``folder``; on success move them into place.

    ``folder`` must be custseg's (see :mod:`custseg.io.outputs`; ``--force`` writes beside
    a user's files). A failure, in the body or while moving, leaves ``folder`` as it was
    (moves are undone, the staging folder is removed); the files keep the mode a plain
    ``open()`` would give them.

    Parameters
    ----------
    folder : Path
        The destination, created if needed.
    option : str
        How the user named it (e.g. ``--out``), for messages.

    Yields
    ------
    Path
        The staging folder to write into.

    Raises
    ------
    UserError
        If ``folder`` is a file or cannot be written.
    """
    folder = folder.expanduser()  # '~/results' given in quotes is still the home folder
    _refuse_a_file(folder, option)
    try:
        previous = writable(folder, option)
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(folder)
        stage = Path(tempfile.mkdtemp(dir=folder, prefix=f"{_STAGING}{os.getpid()}-"))
    except OSError as exc:
        raise UserError(
            f"Cannot write to {folder} ({option}): {exc.strerror or first_line(exc)}."
        ) from exc
    cleanup = functools.partial(shutil.rmtree, stage, ignore_errors=True)
    CLEANUPS.append(cleanup)  # a second signal ends the process at once: no debris either
    try:
        yield stage
        received = stopped_by()
        if received is not None:
            raise_for(received)  # a stop a library swallowed: nothing is committed
        # Held signals (SIGTERM, SIGHUP, Ctrl-C) are raised once every file is in place.
        with deferred():
            commit(stage, folder, option, previous, _plain_mode(), 0o777 & ~_umask())
            COMMITTED.append(folder)
    except OSError as exc:
        raise UserError(
            f"Cannot write to {folder} ({option}): {exc.strerror or first_line(exc)}; "
            "the outputs there are as they were."
        ) from exc
    finally:
        CLEANUPS.remove(cleanup)
        shutil.rmtree(stage, ignore_errors=True)


#: Name prefixes of custseg's staging folders (followed by the pid of the run).
_STAGING = ".custseg-staging-"
_OLD = ".custseg-old-"

#: The output folders this process has committed (for the message when it is stopped).
COMMITTED: list[Path] = []


def remove_stale_staging(folder: Path) -> list[Path]:
    """Remove the staging folders a killed run left in ``folder`` (its pid no longer runs).

    Folders of runs still going (a parallel run into the same folder) stay. Returns the
    folders removed.
    """
    removed = []
    for item in folder.iterdir():
        if not item.name.startswith((_STAGING, _OLD)) or not item.is_dir():
            continue
        prefix = _STAGING if item.name.startswith(_STAGING) else _OLD
        pid_text = item.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and pid_alive(int(pid_text)):
            continue
        shutil.rmtree(item, ignore_errors=True)
        removed.append(item)
    return removed


#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Characters a spreadsheet skips before a formula: whitespace and control characters.
_LEADING = "".join(chr(c) for c in range(33))

#: Characters that would break a CSV record (or a reader): replaced by a space.
_BREAKS = "[\r\n\x00]"


def _text_only(values: pd.Series) -> pd.Series:
    """Return the text cells of a column (others missing), for the ``.str`` methods."""
    if values.dtype != object:
        return values
    is_text = values.map(lambda v: isinstance(v, str)).astype(bool)
    kept: pd.Series = values.where(is_text)
    return kept


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    r"""Return a copy whose text cells cannot run as spreadsheet formulas nor break records.

    A carriage return, line feed or NUL in text becomes a space (a record is one line, and
    NUL stops many readers). Text whose first character after any leading whitespace or
    control characters is ``=``, ``+``, ``-`` or ``@``, or that starts with a tab, is
    prefixed with ``'`` (OWASP's advice against CSV injection); numbers are left alone.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table about to be written as CSV.

    Returns
    -------
    pandas.DataFrame
        The neutralised copy.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"id": ["=1+1", "42", " =2", "ab\r=3"], "n": [-1, 2, 3, 4]})
    >>> csv_safe(frame)["id"].tolist()
    ["'=1+1", '42', "' =2", 'ab =3']
    """
    out: pd.DataFrame = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            # Vectorised (1.2M ids: 0.05 s, where a loop over the values took 4 s); cells that
            # are not text (numbers in an object column, missing values) are left alone.
            text = _text_only(values)
            broken = text.str.contains(_BREAKS, regex=True).fillna(False).astype(bool)
            if broken.any():
                values = values.where(~broken, text.str.replace(_BREAKS, " ", regex=True))
                text = _text_only(values)
            risky = text.str.lstrip(_LEADING).str.startswith(
                FORMULA_PREFIXES[:4]
            ) | text.str.startswith(FORMULA_PREFIXES[4:])
            risky = risky.fillna(False).astype(bool)
            if risky.any():
                values = values.where(~risky, "'" + values.where(risky, ""))
            out[column] = values
    return out


def csv_bytes(frame: pd.DataFrame, *, safe: bool = True) -> bytes:
    """Return a table as the CSV bytes :func:`write_csv` writes (for a download button).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    safe : bool
        Neutralise spreadsheet formulas in text cells (see :func:`csv_safe`).

    Returns
    -------
    bytes
        UTF-8, newline line ends, no index.
    """
    with tempfile.TemporaryDirectory(prefix="custseg-csv-") as folder:
        path = write_csv(frame, Path(folder) / "table.csv", safe=safe)
        return path.read_bytes()


def _csv_select(frame: pd.DataFrame, relation: str, *, safe: bool) -> str | None:
    """Return the SELECT that makes DuckDB write what pandas' to_csv writes; None if it cannot.

    pandas writes booleans as True/False and an empty text cell unquoted; DuckDB writes
    true/false and "" (numbers and quoting agree, checked on 40,000 doubles and the text
    cases in the tests). With ``safe`` the SELECT does what :func:`csv_safe` does (in DuckDB:
    0.3 s less for 160,000 customers' files).
    """
    from custseg.sql import sql_ident, sql_literal

    parts = []
    for column in frame.columns:
        if not isinstance(column, str):
            return None
        values = frame[column]
        ident = sql_ident(column)
        if pd.api.types.is_bool_dtype(values):
            parts.append(
                f"CASE WHEN {ident} THEN 'True' WHEN NOT {ident} THEN 'False' END AS {ident}"
            )
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            if not pd.api.types.is_string_dtype(values):  # numbers mixed with text
                return None
            text = f"NULLIF({ident}, '')"
            if safe:
                # As csv_safe: record breaks become spaces, then a formula after leading
                # whitespace or control characters (or a leading tab) is prefixed with '.
                clean = f"regexp_replace({ident}, {sql_literal(_BREAKS)}, ' ', 'g')"
                formula = sql_literal("^[\\x00-\\x20]*[-=+@]")
                risky = f"regexp_matches({clean}, {formula}) OR left({ident}, 1) = chr(9)"
                # Nearly every cell passes a cheap test of its first character and its
                # breaks: the regular expressions run only on the others (customers.csv of
                # 1.2M customers: 1.0 s, where 1.15 s with them on every cell).
                plain = (
                    f"ascii({ident}) > 32 AND left({ident}, 1) NOT IN ('-', '=', '+', '@') "
                    f"AND NOT contains({ident}, chr(10)) AND NOT contains({ident}, chr(13)) "
                    f"AND NOT contains({ident}, chr(0))"
                )
                text = (
                    f"CASE WHEN {plain} THEN {ident} WHEN {risky} THEN "
                    f"{sql_literal(chr(39))} || {clean} ELSE NULLIF({clean}, '') END"
                )
            parts.append(f"{text} AS {ident}")
        elif pd.api.types.is_numeric_dtype(values):
            parts.append(ident)
        else:
            return None
    return f"SELECT {', '.join(parts)} FROM {relation}" if parts else None


#: Below this many rows pandas writes the CSV: DuckDB's COPY costs 10 to 20 ms whatever the
#: size (registering the frame, planning), pandas about 5 us per row of 11 columns; a run
#: writes six tables of a few rows to a few hundred beside customers.csv.
_SMALL_CSV = 1_000

_WRITER: list[duckdb.DuckDBPyConnection] = []
_WRITER_LOCK = threading.Lock()


@contextlib.contextmanager
def _writer() -> Iterator[duckdb.DuckDBPyConnection]:
    """Lend the process's one DuckDB connection for writing files, to one thread at a time.

    Opening a connection costs about 30 ms; a run writes ten CSV files or more.
    """
    import duckdb

    with _WRITER_LOCK:
        if not _WRITER:
            _WRITER.append(duckdb.connect())
        yield _WRITER[0]


def write_csv(frame: pd.DataFrame, path: Path, *, safe: bool = True) -> Path:
    """Write a table as CSV to ``path`` (usually in a staging folder): formula-safe, fast.

    DuckDB writes the file (1.2M customers: 1.0 s, where pandas took 2.3 s), in exactly the
    layout pandas' ``to_csv(index=False)`` gives with newline line ends; tables DuckDB cannot
    take as they are (text mixed with numbers in a column), and tables under 1,000 rows, are
    written by pandas.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    path : Path
        The file to write.
    safe : bool
        Neutralise spreadsheet formulas in text cells (see :func:`csv_safe`); off only for
        tables of numbers and fixed labels.

    Returns
    -------
    Path
        ``path``.
    """
    from custseg.sql import sql_literal

    select = _csv_select(frame, "frame", safe=safe)
    if select is None or len(frame) < _SMALL_CSV:
        (csv_safe(frame) if safe else frame).to_csv(path, index=False, lineterminator="\n")
        return path
    import duckdb

    with _writer() as con:
        con.register("frame", frame)
        try:
            con.execute(f"COPY ({select}) TO {sql_literal(str(path))} (FORMAT csv, HEADER)")
        except duckdb.IOException as exc:
            # A full disk or a refused write: the OSError the callers turn into a sentence.
            raise OSError(errno.EIO, first_line(exc), str(path)) from exc
        finally:
            con.unregister("frame")
    return path


def check_out_dir(source: Path | str, folder: Path, option: str = "--out") -> None:
    """Refuse an output folder that is a file, holds the input or lies in an input folder.

    Outputs replace files of their names (``customers.csv``): written beside the input they
    could replace it, and a folder read as input would read them next time.

    Raises
    ------
    UserError
        Naming the folder and the input.
    """
    _refuse_a_file(folder.expanduser(), option)  # before any work, not after it
    if isinstance(source, str) and "://" in source:
        return
    src = Path(source).expanduser().resolve()
    if not src.exists():
        return  # the reader says so, in its own words
    out = folder.expanduser().resolve()
    if src.is_dir() and src in out.parents:
        raise UserError(
            f"{option} {folder} lies in the input folder {source}: the outputs would be "
            "read as input next time; write them to a folder outside it."
        )
    if src == out or out in src.parents:
        raise UserError(
            f"{option} {folder} holds the input {source}: the outputs could replace it "
            "(or be read as input next time); write them to another folder."
        )


def json_text(data: Any) -> str:
    """Return ``data`` (a dict or a record) as the JSON custseg writes: indented, in order."""
    if hasattr(data, "to_dict"):
        data = data.to_dict()
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write_json(data: Any, path: Path) -> Path:
    """Write ``data`` as :func:`json_text` to ``path``.

    Returns
    -------
    Path
        ``path``.
    """
    path.write_text(json_text(data), encoding="utf-8")
    return path
