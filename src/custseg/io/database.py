"""Order lines from a database: PostgreSQL and SQLite through ADBC, staged as Parquet.

``custseg run postgresql://user@host:5432/shop --table order_lines`` (or ``--query "SELECT
..."``; ``sqlite:///path/to/shop.db`` alike) reads the lines as Arrow record batches and
writes them, batch by batch, into a Parquet file in the command's temporary folder: memory
stays flat in the number of lines, and every later stage reads that file as it reads any
Parquet input (column mapping, layouts and cleaning alike). The file is removed when the
command ends.

Passwords come from the environment (``PGPASSWORD``) or ``~/.pgpass``, as libpq reads them;
one written in the URL is used to connect but never shown: every message and output names
the source by :func:`redact`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from custseg.errors import UserError, first_line
from custseg.progress import logger
from custseg.sql import sql_ident

__all__ = [
    "DatabaseSource",
    "connect",
    "is_database",
    "redact",
    "sentence",
    "source_of",
    "stage_source",
]

#: URL schemes read as databases.
POSTGRES = ("postgresql://", "postgres://")
SQLITE = "sqlite:///"


def is_database(source: str | Path) -> bool:
    """Tell whether an input names a database (a URL custseg reads through ADBC)."""
    text = str(source)
    return text.startswith((*POSTGRES, SQLITE))


def redact(url: str) -> str:
    """Return ``url`` without its password, for every message and output.

    Both places libpq takes one are cleared: ``user:secret@host`` becomes ``user@host`` and
    a ``password=`` (or ``passfile=``) query parameter is dropped.
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo.split(':', 1)[0]}@{hostport}" if at else parts.netloc
    query = "&".join(
        item
        for item in parts.query.split("&")
        if item and item.split("=", 1)[0].lower() not in ("password", "passfile")
    )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing to hide (and sqlite:///x keeps its three slashes)
    return (
        f"{parts.scheme}://{netloc}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def _secrets(url: str) -> list[str]:
    """Return the password(s) written in ``url``, to scrub them from any message."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    for item in parts.query.split("&"):
        key, _, value = item.partition("=")
        if key.lower() == "password" and value:
            found.append(value)
    return found


@dataclass(frozen=True)
class DatabaseSource:
    """A database input: where it is, and which rows (a table or a query).

    Attributes
    ----------
    url : str
        As given (it may hold a password: never shown, see :attr:`shown`).
    table, query : str or None
        Exactly one is set.
    """

    url: str
    table: str | None = None
    query: str | None = None

    @property
    def shown(self) -> str:
        """The source in messages and outputs: the URL without password, and what is read."""
        what = f"table {self.table}" if self.table else "query"
        return f"{redact(self.url)} ({what})"

    def sql(self) -> str:
        """Return the statement that reads the order lines."""
        if self.query:
            return self.query
        assert self.table is not None
        return f"SELECT * FROM {quote_table(self.table)}"


def quote_table(name: str) -> str:
    """Quote a table name, schema-qualified or not (``sales.order_lines``)."""
    parts = name.split(".")
    if not all(parts) or len(parts) > 2:
        raise UserError(f"--table {name!r} is not a table name (use name or schema.name).")
    return ".".join(sql_ident(p) for p in parts)


def source_of(url: str, table: str | None, query: str | None) -> DatabaseSource:
    """Check the options that go with a database input and return the source.

    Raises
    ------
    UserError
        When neither or both of --table and --query are given.
    """
    if (table is None) == (query is None):
        raise UserError(
            f"{redact(url)}: give the order lines' table with --table NAME, or a query with "
            '--query "SELECT ..." (one of the two).'
        )
    return DatabaseSource(url, table, query)


def connect(source: DatabaseSource, create: bool = False) -> Any:
    """Open an ADBC connection (autocommit off) or say in one sentence why not.

    A SQLite file must exist unless ``create`` (a database written to): SQLite would
    otherwise make an empty one from a mistyped path.
    """
    url = source.url
    try:
        if url.startswith(SQLITE):
            import adbc_driver_sqlite.dbapi as sqlite

            path = Path(url[len(SQLITE) :])
            if not create and not path.is_file():
                raise UserError(f"{source.shown}: no such database file {path}.")
            return sqlite.connect(str(path))
        import adbc_driver_postgresql.dbapi as postgres

        return postgres.connect(url)
    except ImportError as exc:
        raise UserError(
            f"Reading {redact(url)} needs the ADBC driver ({exc.name}); install custseg's "
            "requirements (make install)."
        ) from exc
    except UserError:
        raise
    except Exception as exc:
        raise UserError(sentence(source, exc)) from exc


def sentence(source: DatabaseSource, exc: BaseException) -> str:
    """Say a database error in one sentence, never with the password."""
    text = first_line(exc)
    for secret in _secrets(source.url):
        text = text.replace(secret, "***")
    lower = text.lower()
    if "password authentication failed" in lower or "no password supplied" in lower:
        user = urlsplit(source.url).username or "the user"
        return (
            f"{source.shown}: the database refused the password of {user} (set PGPASSWORD or "
            "~/.pgpass; custseg never writes a password anywhere)."
        )
    if "does not exist" in lower and ("relation" in lower or "no such table" in lower):
        return f"{source.shown}: no such table ({text})."
    if "no such table" in lower:
        return f"{source.shown}: no such table ({text})."
    if "connection refused" in lower or "could not connect" in lower or "timeout" in lower:
        return f"{source.shown}: cannot connect ({text}); is the server running and reachable?"
    if re.search(r"database \".*\" does not exist", lower):
        return f"{source.shown}: no such database ({text})."
    return f"{source.shown}: the database said: {text}"


def stage_source(source: DatabaseSource, folder: Path) -> tuple[Path, int]:
    """Read the order lines into a Parquet file in ``folder``, batch by batch.

    Parameters
    ----------
    source : DatabaseSource
        The database and the table or query.
    folder : Path
        The command's temporary folder (the file goes with it).

    Returns
    -------
    tuple of (Path, int)
        The Parquet file and the number of lines.

    Raises
    ------
    UserError
        For a refused connection, a wrong password, an unknown table, a failing query.
    """
    import pyarrow.parquet as pq

    target = folder / "database-lines.parquet"
    rows = 0
    conn = connect(source)
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(source.sql())
            reader = cursor.fetch_record_batch()
            with pq.ParquetWriter(target, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        except UserError:
            raise
        except Exception as exc:
            raise UserError(sentence(source, exc)) from exc
        finally:
            cursor.close()
    finally:
        conn.close()
    logger.info("database %s lines read from %s", f"{rows:,}", source.shown)
    return target, rows
