"""Reading order lines, mapping their columns, and writing outputs atomically.

Excel goes through fastexcel (calamine, Rust) straight to Arrow; CSV and Parquet are read
by DuckDB where they lie. Either way the result is a DuckDB relation named ``orders_raw``
that the SQL stages read; only the per-customer table ever becomes a pandas frame.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import gzip
import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from custseg.config import ColumnsConfig, CsvConfig
from custseg.errors import UserError
from custseg.progress import logger

__all__ = [
    "COLUMN_CANDIDATES",
    "DATE_LAYOUTS",
    "ColumnMapping",
    "InputFormat",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_workbook_container",
    "csv_safe",
    "detect_date_format",
    "detect_format",
    "file_sha256",
    "first_line",
    "load_orders",
    "read_columns",
    "resolve_columns",
    "sql_ident",
    "sql_literal",
    "staged_folder",
    "suggest_columns",
]

InputFormat = Literal["xlsx", "csv", "parquet"]

#: Names recognised for each field, compared after :func:`_normalise_name`: Online Retail,
#: Online Retail II, and plain order tables.
COLUMN_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "customer": ("CustomerID", "Customer ID", "customer_id", "customer", "client_id"),
    "invoice": ("InvoiceNo", "Invoice", "invoice_id", "order_id", "order_no", "order"),
    "date": ("InvoiceDate", "order_date", "date", "timestamp", "datetime", "purchase_date"),
    "quantity": ("Quantity", "qty", "units"),
    "price": ("UnitPrice", "Price", "unit_price"),
    "amount": ("amount", "total", "line_total", "revenue", "sales", "order_value", "value"),
}

#: Encodings DuckDB's CSV reader decodes itself; others are transcoded to UTF-8 first.
_DUCKDB_ENCODINGS = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "latin1": "latin-1",
    "latin-1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
    "utf-16": "utf-16",
    "utf16": "utf-16",
}


@dataclass(frozen=True)
class ColumnMapping:
    """The input column that holds each field (``None`` when the file has no such column).

    Attributes
    ----------
    customer, date : str
        Customer id and order timestamp columns (required).
    invoice : str or None
        Order id; without it each distinct (customer, timestamp) is one order.
    quantity, price : str or None
        Line quantity and unit price; used when ``amount`` is ``None``.
    amount : str or None
        Line total; replaces quantity x price.
    """

    customer: str
    date: str
    invoice: str | None = None
    quantity: str | None = None
    price: str | None = None
    amount: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """Return the mapping as a plain dict (field -> input column)."""
        return {
            "customer": self.customer,
            "invoice": self.invoice,
            "date": self.date,
            "quantity": self.quantity,
            "price": self.price,
            "amount": self.amount,
        }


def _normalise_name(name: str) -> str:
    return "".join(ch for ch in name.lower().lstrip("\ufeff") if ch.isalnum())


def _find(columns: list[str], wanted: str) -> str | None:
    if wanted in columns:
        return wanted
    key = _normalise_name(wanted)
    matches = [c for c in columns if _normalise_name(c) == key]
    return matches[0] if len(matches) == 1 else None


def _missing_column(field: str, wanted: str | None, columns: list[str], source: str) -> UserError:
    flag = f"--{field}-col"
    found = ", ".join(repr(c) for c in columns)
    if wanted is None:
        # A near miss of a known name ("Customr ID") is worth suggesting.
        known = [_normalise_name(c) for c in COLUMN_CANDIDATES[field]]
        near_known = [
            c
            for c in columns
            if difflib.get_close_matches(_normalise_name(c), known, n=1, cutoff=0.8)
        ]
        hint = f" Did you mean {near_known[0]!r}?" if near_known else ""
        return UserError(
            f"{source}: no {field} column found among {found}; name it with {flag}.{hint}"
        )
    near = difflib.get_close_matches(wanted, columns, n=1, cutoff=0.6)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    return UserError(
        f"{source}: column {wanted!r} ({flag}) not found; the columns are {found}.{hint}"
    )


def suggest_columns(columns: list[str]) -> dict[str, str | None]:
    """Return the detected column of each field (``None`` where no known name matches).

    Parameters
    ----------
    columns : list of str
        The input's columns.

    Returns
    -------
    dict
        Field (customer, invoice, date, quantity, price, amount) -> column or None.
    """
    return {
        field: next((h for c in names if (h := _find(columns, c)) is not None), None)
        for field, names in COLUMN_CANDIDATES.items()
    }


def resolve_columns(columns: list[str], config: ColumnsConfig, source: str) -> ColumnMapping:
    """Match the configured (or well-known) field names to the file's columns.

    Parameters
    ----------
    columns : list of str
        The columns of the input, in file order.
    config : ColumnsConfig
        Explicit names; ``None`` fields are detected from :data:`COLUMN_CANDIDATES`.
        Matching ignores case, spaces, punctuation and a byte-order mark.
    source : str
        The input's name, for error messages.

    Returns
    -------
    ColumnMapping
        The column used for each field.

    Raises
    ------
    UserError
        If a named column is absent, or no customer, date, or money column is found.
    """
    chosen = suggest_columns(columns)
    for field in chosen:
        wanted = getattr(config, field)
        if wanted is not None:
            hit = _find(columns, wanted)
            if hit is None:
                raise _missing_column(field, wanted, columns, source)
            chosen[field] = hit
    if not columns:
        raise UserError(f"{source}: no columns found; is the sheet or file empty?")
    for field in ("customer", "date"):
        if chosen[field] is None:
            raise _missing_column(field, None, columns, source)
    explicit = {f: getattr(config, f) for f in chosen if getattr(config, f) is not None}
    for field, column in chosen.items():
        others = [f for f, c in chosen.items() if c == column and f != field and c is not None]
        if others and (field in explicit or any(o in explicit for o in others)):
            raise UserError(
                f"{source}: column {column!r} is given two roles ({field} and {others[0]}); "
                f"name a different column with --{field}-col or --{others[0]}-col."
            )
    use_amount = config.amount is not None or (
        chosen["amount"] is not None and (chosen["quantity"] is None or chosen["price"] is None)
    )
    if use_amount:
        return ColumnMapping(
            customer=str(chosen["customer"]),
            date=str(chosen["date"]),
            invoice=chosen["invoice"],
            quantity=chosen["quantity"],
            price=None,
            amount=chosen["amount"],
        )
    for field in ("quantity", "price"):
        if chosen[field] is None:
            found = ", ".join(repr(c) for c in columns)
            raise UserError(
                f"{source}: no {field} column found among {found}; name it with "
                f"--{field}-col, or give a line total with --amount-col."
            )
    return ColumnMapping(
        customer=str(chosen["customer"]),
        date=str(chosen["date"]),
        invoice=chosen["invoice"],
        quantity=chosen["quantity"],
        price=chosen["price"],
        amount=None,
    )


def detect_format(path: Path) -> InputFormat:
    """Tell the input's format from its first bytes, not its name.

    Parameters
    ----------
    path : Path
        An existing file.

    Returns
    -------
    {"xlsx", "csv", "parquet"}
        ``xlsx`` for a zip container, ``parquet`` for the ``PAR1`` magic, else ``csv``
        (plain or gzip-compressed).
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PK\x03\x04":
        return "xlsx"
    if head == b"PAR1":
        return "parquet"
    return "csv"


def sql_literal(text: str) -> str:
    """Quote ``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """Quote ``name`` as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


#: Largest total uncompressed size of a workbook's parts (the real data's: 223 MB, ratio 9).
MAX_XLSX_UNCOMPRESSED = 4 * 2**30
#: Largest uncompressed / compressed ratio of a workbook (zip bombs reach thousands).
MAX_XLSX_RATIO = 200


def check_workbook_container(
    path: Path, max_bytes: int = MAX_XLSX_UNCOMPRESSED, max_ratio: float = MAX_XLSX_RATIO
) -> None:
    """Refuse a workbook whose zip container is broken or would unpack to too much.

    Reads only the zip's directory, before any part is decompressed.

    Parameters
    ----------
    path : Path
        The .xlsx file.
    max_bytes : int
        Limit on the total uncompressed size of its parts.
    max_ratio : float
        Limit on total uncompressed size / total compressed size.

    Raises
    ------
    UserError
        For a file that is not a readable zip, or is over either limit.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"{path}: not a valid .xlsx file ({exc}); is it complete?") from exc
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > max_bytes or unpacked / packed > max_ratio:
        raise UserError(
            f"{path}: the workbook would unpack to {unpacked / 2**20:,.0f} MB "
            f"({unpacked / packed:,.0f} times its compressed size); the limits are "
            f"{max_bytes / 2**20:,.0f} MB and {max_ratio:,.0f} times, so it is refused as a "
            "possible zip bomb."
        )


def _excel_sheet(path: Path, sheet: str | None) -> tuple[str, object]:
    import fastexcel

    check_workbook_container(path)
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise UserError(
            f"{path}: cannot be read as an Excel workbook ({first_line(exc)}); check that it "
            "is a complete, valid .xlsx file."
        ) from exc
    names = list(reader.sheet_names)
    if sheet is None:
        if not names:
            raise UserError(f"{path}: the workbook has no sheets.")
        sheet = names[0]
    elif sheet not in names:
        raise UserError(
            f"{path}: no sheet named {sheet!r} (--sheet); the sheets are "
            + ", ".join(repr(n) for n in names)
            + "."
        )
    return sheet, reader


def _cache_file(cache_dir: Path, path: Path, sha: str, sheet: str, forced: set[str]) -> Path:
    """Name the Parquet copy of one sheet: a changed file, sheet or id typing misses it."""
    stat = path.stat()
    key = f"v1|{sha}|{stat.st_size}|{stat.st_mtime_ns}|{sheet}|{sorted(forced)}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_dir / f"{path.stem}-{digest}.parquet"


def _read_cached(
    con: duckdb.DuckDBPyConnection, cached: Path, columns: ColumnsConfig, source: str
) -> tuple[list[str], ColumnMapping] | None:
    """Use the cache if it holds the mapped id columns as text; else None."""
    try:
        con.execute(
            f"CREATE OR REPLACE VIEW orders_raw AS SELECT * FROM "
            f"read_parquet({sql_literal(str(cached))})"
        )
        types = dict(
            con.execute("SELECT column_name, column_type FROM (DESCRIBE orders_raw)").fetchall()
        )
    except duckdb.Error:
        return None  # an unreadable cache is rebuilt
    mapping = resolve_columns(list(types), columns, source)
    ids = [c for c in (mapping.customer, mapping.invoice) if c is not None]
    if any(types[c] != "VARCHAR" for c in ids):
        return None
    return list(types), mapping


def _write_cache(table: object, cached: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.tmp")
    try:
        pq.write_table(
            pa.Table.from_batches([table]) if isinstance(table, pa.RecordBatch) else table, tmp
        )
        os.replace(tmp, cached)
    except OSError as exc:  # a cache that cannot be written only costs time
        logger.warning("cache    not written to %s (%s)", cached.parent, exc.strerror)
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _read_excel(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: ColumnsConfig,
    cache: tuple[Path, str] | None = None,
) -> tuple[list[str], ColumnMapping, dict[str, str]]:
    first, reader = _excel_sheet(path, columns.sheet)
    # Without --sheet, the first sheet that has the required columns is used (and said).
    sheets = [first] if columns.sheet is not None else list(reader.sheet_names)  # type: ignore[attr-defined]
    # Ids are text even when they look numeric (InvoiceNo mixes 536365 and C536379). calamine
    # parses the whole sheet even for its header, so guess the id columns' names up front and
    # load once; reload only when the mapping lands on a column the guess missed.
    forced = {c for f in ("customer", "invoice") for c in COLUMN_CANDIDATES[f]}
    forced |= {c for c in (columns.customer, columns.invoice) if c is not None}
    skipped: list[str] = []
    for sheet in sheets:
        source = f"{path} (sheet {sheet!r})"
        cached = _cache_file(cache[0], path, cache[1], sheet, forced) if cache else None
        try:
            if cached is not None and cached.is_file():
                hit = _read_cached(con, cached, columns, source)
                if hit is not None:
                    _say_sheet(path, sheet, skipped)
                    return hit[0], hit[1], {"sheet": sheet, "cache": "hit"}
            loaded = reader.load_sheet(  # type: ignore[attr-defined]
                sheet, dtypes=dict.fromkeys(sorted(forced), "string")
            )
            names = [c.name for c in loaded.available_columns()]
            mapping = resolve_columns(names, columns, source)
        except UserError:
            if len(sheets) == 1:
                raise
            skipped.append(sheet)
            continue
        except Exception as exc:
            raise UserError(f"{source}: cannot read the sheet ({first_line(exc)}).") from exc
        try:
            ids = {c for c in (mapping.customer, mapping.invoice) if c is not None}
            if not ids <= forced:
                loaded = reader.load_sheet(  # type: ignore[attr-defined]
                    sheet, dtypes=dict.fromkeys(sorted(ids), "string")
                )
            table = loaded.to_arrow()
        except Exception as exc:
            raise UserError(f"{source}: cannot read the sheet ({first_line(exc)}).") from exc
        con.register("orders_raw", table)
        if cached is not None:
            _write_cache(table, cached)
        _say_sheet(path, sheet, skipped)
        return names, mapping, {"sheet": sheet, "cache": "miss" if cached else "off"}
    raise UserError(
        f"{path}: no sheet has the customer, date and amount (or quantity and price) columns "
        f"(sheets: {', '.join(repr(s) for s in sheets)}); name the sheet with --sheet and the "
        "columns with --customer-col, --date-col, ..."
    )


def _say_sheet(path: Path, sheet: str, skipped: list[str]) -> None:
    if skipped:
        logger.info(
            "sheet    using %r of %s: %s lack the required columns",
            sheet,
            path.name,
            ", ".join(repr(s) for s in skipped),
        )


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _csv_options(path: Path, csv: CsvConfig, workdir: Path) -> tuple[Path, dict[str, str]]:
    """Return the file DuckDB should read and the read_csv options to pass.

    A file in an encoding DuckDB does not decode is transcoded to a UTF-8 copy in
    ``workdir``, which the caller deletes when it has finished with the data.
    """
    options: dict[str, str] = {}
    gz = _is_gzip(path)
    if gz:  # from the content: a gzip file named .csv is still gzip
        options["compression"] = "'gzip'"
    if csv.delimiter is not None:
        options["delim"] = sql_literal(csv.delimiter)
    if csv.decimal is not None:
        options["decimal_separator"] = sql_literal(csv.decimal)
    if csv.date_format is not None:
        options["timestampformat"] = sql_literal(csv.date_format)
    encoding = (csv.encoding or "utf-8").lower()
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as exc:
        raise UserError(f"Unknown --encoding {csv.encoding!r}; use e.g. utf-8 or cp1252.") from exc
    if encoding in _DUCKDB_ENCODINGS:
        options["encoding"] = sql_literal(_DUCKDB_ENCODINGS[encoding])
        return path, options
    # Transcode other encodings (cp1252, ...) to a UTF-8 copy in the run's work folder.
    options.pop("compression", None)
    opener = gzip.open if gz else open
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="transcoded-", dir=workdir)
    with opener(path, "rb") as src, os.fdopen(fd, "wb") as dst:
        reader = codecs.getreader(codec)(src, "strict")
        try:
            while block := reader.read(1 << 20):
                dst.write(block.encode("utf-8"))
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not valid {csv.encoding} text ({exc.reason}).") from exc
    options["encoding"] = "'utf-8'"
    options["transcoded_from"] = sql_literal(codec)
    return Path(tmp), options


def _csv_args(real: Path, options: dict[str, str]) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in sorted(options.items()) if k != "transcoded_from")
    return f"{sql_literal(str(real))}, header=true, sample_size=-1" + (
        f", {extra}" if extra else ""
    )


def _csv_columns(con: duckdb.DuckDBPyConnection, path: Path, args: str) -> list[str]:
    try:
        return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_csv({args})").fetchall()]
    except duckdb.Error as exc:
        raise UserError(
            f"{path}: cannot be read as CSV ({first_line(exc)}); if it is not UTF-8 text give "
            "--encoding (e.g. cp1252), and check --delimiter."
        ) from exc


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: ColumnsConfig,
    csv: CsvConfig,
    workdir: Path,
) -> tuple[list[str], ColumnMapping, dict[str, str]]:
    real, options = _csv_options(path, csv, workdir)
    args = _csv_args(real, options)
    names = _csv_columns(con, path, args)
    mapping = resolve_columns(names, columns, str(path))
    # Invoice ids are text ('C536379'); customer ids keep the type the sniffer saw over the
    # whole file (sample_size=-1), so numeric ids group as numbers. Without --date-format the
    # dates stay text, so that custseg, not the sniffer, decides day-first against
    # month-first (and refuses to guess; see detect_date_format).
    text = [c for c in (mapping.invoice,) if c is not None]
    if csv.date_format is None:
        text.append(mapping.date)
    types = "{" + ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in text) + "}"
    con.execute(
        f"CREATE OR REPLACE VIEW orders_raw AS SELECT * FROM read_csv({args}, types={types})"
    )
    return names, mapping, {k: v.strip("'") for k, v in options.items()}


def _parquet_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        con.execute(
            "CREATE OR REPLACE VIEW orders_raw AS SELECT * FROM "
            f"read_parquet({sql_literal(str(path))})"
        )
        return [r[0] for r in con.execute("DESCRIBE orders_raw").fetchall()]
    except duckdb.Error as exc:
        raise UserError(f"{path}: cannot be read as Parquet ({first_line(exc)}).") from exc


def _read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, columns: ColumnsConfig
) -> tuple[list[str], ColumnMapping, dict[str, str]]:
    names = _parquet_columns(con, path)
    return names, resolve_columns(names, columns, str(path)), {}


def first_line(exc: BaseException) -> str:
    """Return the first line of an exception's message (its type name when it has none)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_file(path: Path) -> None:
    if not path.exists():
        raise UserError(f"Input file {path} does not exist; check the path.")
    if not path.is_file():
        raise UserError(f"Input {path} is not a file.")
    if path.stat().st_size == 0:
        raise UserError(f"Input file {path} is empty.")


@dataclass(frozen=True)
class LoadedOrders:
    """What :func:`load_orders` registered, for the record.

    Attributes
    ----------
    format : {"xlsx", "csv", "parquet"}
        Detected from the file's content.
    columns : list of str
        The input's columns.
    mapping : ColumnMapping
        The column used for each field.
    options : dict
        Reader options in force (sheet, CSV dialect overrides).
    """

    format: InputFormat
    columns: list[str]
    mapping: ColumnMapping
    options: dict[str, str]


def load_orders(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: ColumnsConfig,
    csv: CsvConfig,
    *,
    cache: tuple[Path, str] | None = None,
    workdir: Path | None = None,
) -> LoadedOrders:
    """Register the order lines of ``path`` as the relation ``orders_raw`` in ``con``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection the SQL stages will use.
    path : Path
        An ``.xlsx``, ``.csv`` (optionally gzip-compressed) or ``.parquet`` file; the format
        is detected from its content.
    columns : ColumnsConfig
        Column names to use (``None`` = detect) and the Excel sheet.
    csv : CsvConfig
        CSV dialect overrides.
    cache : tuple of (Path, str), optional
        A folder and the file's sha256: a workbook's sheet is then read from a Parquet copy
        there when one exists for the same content, size, mtime and sheet, and written there
        on the first read (``options["cache"]`` says ``hit``, ``miss`` or ``off``).
    workdir : Path, optional
        Where a transcoded copy of a CSV may be written; it must outlive every query on
        ``orders_raw``. Default: the system temp folder (the caller then owns the file).

    Returns
    -------
    LoadedOrders
        The format, columns and mapping used.

    Raises
    ------
    UserError
        If the file is missing, unreadable, or lacks a required column.
    """
    _check_file(path)
    fmt = detect_format(path)
    if fmt == "xlsx":
        names, mapping, options = _read_excel(con, path, columns, cache)
    elif fmt == "parquet":
        names, mapping, options = _read_parquet(con, path, columns)
    else:
        names, mapping, options = _read_csv(
            con, path, columns, csv, workdir or Path(tempfile.gettempdir())
        )
    return LoadedOrders(format=fmt, columns=names, mapping=mapping, options=options)


def read_columns(
    path: Path, csv: CsvConfig | None = None, sheet: str | None = None
) -> tuple[InputFormat, list[str], list[str]]:
    """Return an input's format, its columns, and (for a workbook) its sheet names.

    Parameters
    ----------
    path : Path
        An existing input file.
    csv : CsvConfig, optional
        CSV dialect overrides.
    sheet : str, optional
        The workbook sheet whose columns to read (default: the first).

    Returns
    -------
    tuple
        (format, columns, sheets); sheets is empty for CSV and Parquet.

    Raises
    ------
    UserError
        If the file cannot be read.
    """
    _check_file(path)
    fmt = detect_format(path)
    if fmt == "xlsx":
        sheet, reader = _excel_sheet(path, sheet)
        try:
            header = reader.load_sheet(sheet, n_rows=1)  # type: ignore[attr-defined]
            names = [c.name for c in header.available_columns()]
        except Exception as exc:
            raise UserError(f"{path} (sheet {sheet!r}): cannot read the sheet ({exc}).") from exc
        return fmt, names, list(reader.sheet_names)  # type: ignore[attr-defined]
    con = duckdb.connect()
    try:
        if fmt == "parquet":
            names = _parquet_columns(con, path)
        else:
            with tempfile.TemporaryDirectory(prefix="custseg-") as work:
                real, options = _csv_options(path, csv or CsvConfig(), Path(work))
                names = _csv_columns(con, path, _csv_args(real, options))
    finally:
        con.close()
    return fmt, names, []


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


@contextlib.contextmanager
def staged_folder(folder: Path, option: str) -> Iterator[Path]:
    """Write files into a staging folder inside ``folder``; on success move each into place.

    A failure, in the body or while moving, leaves ``folder`` as it was (the staging folder
    is removed); the files keep the mode a plain ``open()`` would give them.

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
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{option} {folder} is a file; give a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=folder, prefix=".custseg-staging-"))
    except OSError as exc:
        raise UserError(f"Cannot write to {folder} ({option}): {exc.strerror}.") from exc
    try:
        yield stage
        mode = _plain_mode()
        for item in sorted(stage.iterdir()):
            target = folder / item.name
            if item.is_dir():
                # A folder (e.g. audiences/) replaces the old one whole: no stale files stay.
                for inner in item.rglob("*"):
                    os.chmod(inner, mode if inner.is_file() else 0o777 & ~_umask())
                os.chmod(item, 0o777 & ~_umask())
                if target.is_dir():
                    old = Path(tempfile.mkdtemp(dir=folder, prefix=".custseg-old-"))
                    os.replace(target, old / item.name)
                    os.replace(item, target)
                    shutil.rmtree(old, ignore_errors=True)
                    continue
            else:
                os.chmod(item, mode)
            os.replace(item, target)
    except OSError as exc:
        raise UserError(f"Cannot write to {folder} ({option}): {exc.strerror}.") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)


#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot run as spreadsheet formulas.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
    with ``'`` (OWASP's advice against CSV injection); numbers are left alone.

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
    >>> csv_safe(pd.DataFrame({"id": ["=1+1", "42"], "n": [-1, 2]}))["id"].tolist()
    ["'=1+1", '42']
    """
    out: pd.DataFrame = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = [
                f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
                for v in out[column]
            ]
    return out


#: Text date layouts tried when the dates are not ISO: (layout, family).
DATE_LAYOUTS: tuple[tuple[str, str], ...] = tuple(
    (f"{a}{sep}{b}{sep}%Y{time}", family)
    for family, (a, b) in (("day-first", ("%d", "%m")), ("month-first", ("%m", "%d")))
    for sep in ("/", "-", ".")
    for time in (" %H:%M", " %H:%M:%S", "")
)


def detect_date_format(
    con: duckdb.DuckDBPyConnection, column: str, source: str, sample: int = 50_000
) -> str | None:
    """Find the layout of text dates that are not ISO, refusing day/month ambiguity.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Holds the relation ``orders_raw``.
    column : str
        The (text) date column.
    source : str
        The input's name, for messages.
    sample : int
        How many leading rows to look at.

    Returns
    -------
    str or None
        A strptime layout when exactly one family (day-first or month-first) reads every
        non-empty value of the sample and ISO parsing does not; None when ISO parsing works
        or no layout fits (the rows then count as invalid).

    Raises
    ------
    UserError
        When both a day-first and a month-first layout read every value (e.g. only days up
        to 12): the user must say which with --date-format.
    """
    ident = sql_ident(column)
    head = f"(SELECT trim(CAST({ident} AS VARCHAR)) AS d FROM orders_raw LIMIT {int(sample)})"
    checks = ", ".join(
        f"count(try_strptime(d, {sql_literal(layout)}))" for layout, _ in DATE_LAYOUTS
    )
    row = con.execute(
        f"SELECT count(d), count(TRY_CAST(d AS TIMESTAMP)), {checks}, min(d) FROM {head} "
        "WHERE d <> ''"
    ).fetchone()
    if row is None or row[0] == 0 or row[1] == row[0]:
        return None
    total = row[0]
    fits = [DATE_LAYOUTS[i] for i, n in enumerate(row[2:-1]) if n == total]
    families = {family for _, family in fits}
    if len(families) > 1:
        day = next(layout for layout, family in fits if family == "day-first")
        month = next(layout for layout, family in fits if family == "month-first")
        raise UserError(
            f"{source}: dates in column {column!r} such as {row[-1]!r} read both day-first and "
            f"month-first; say which with --date-format '{day}' or '{month}'."
        )
    return fits[0][0] if fits else None
