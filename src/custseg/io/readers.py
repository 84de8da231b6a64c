"""Reading order lines: Excel (:mod:`custseg.io.excel`), CSV and Parquet through DuckDB.

Whatever the format, the order lines become one relation in the engine's connection, named
by the caller (the session owns the name); only per-customer tables ever become pandas
frames. A workbook's sheet is kept as a Parquet copy (the cache) so that later runs skip the
slow parse.
"""

from __future__ import annotations

import codecs
import gzip
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from custseg.config import ColumnsConfig, CsvConfig
from custseg.errors import UserError, first_line
from custseg.io.cache import file_sha256
from custseg.io.columns import ColumnMapping, resolve_columns
from custseg.io.excel import check_workbook_container, excel_sheet, read_excel
from custseg.io.xlsx_header import sheet_header
from custseg.progress import logger
from custseg.sql import sql_literal

__all__ = [
    "InputFormat",
    "LoadedOrders",
    "check_workbook_container",
    "detect_format",
    "file_sha256",
    "load_orders",
    "read_columns",
]

InputFormat = Literal["xlsx", "csv", "parquet"]

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

    Raises
    ------
    UserError
        For an old Office (OLE2) container, such as an Excel 97-2003 ``.xls``.
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"\xd0\xcf\x11\xe0":  # an OLE2 container: .xls, .doc, ...
        raise UserError(
            f"{path} is an Excel 97-2003 workbook (or another old Office file); custseg "
            "reads .xlsx, CSV and Parquet: save it as .xlsx or CSV."
        )
    if head == b"PK\x03\x04":
        return "xlsx"
    if head == b"PAR1":
        return "parquet"
    return "csv"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _opener(path: Path) -> Any:
    """Return what opens the file's bytes: ``gzip.open`` for gzip content, else ``open``."""
    return gzip.open if _is_gzip(path) else open


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


def legacy_encoding(path: Path) -> str | None:
    """Return the encoding of a CSV file that is not UTF-8: cp1252, or None to keep the error.

    The file is decoded as UTF-8 first (one pass, stopping at the first bad byte): valid
    UTF-8 failed for another reason. cp1252 decodes every byte but five of 0x80-0x9F;
    latin-1 decodes anything, so it would be chosen only where no byte falls in 0x80-0x9F,
    and there it reads exactly as cp1252 does.
    """
    opener = _opener(path)
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    cp1252 = codecs.getincrementaldecoder("cp1252")("strict")
    try:
        valid_utf8, valid_cp1252 = _decodes(opener, path, utf8, cp1252)
    except (OSError, EOFError, zlib.error):  # a damaged gzip stream: keep the reader's error
        return None
    if valid_utf8:
        return None
    return "cp1252" if valid_cp1252 else None


def _decodes(opener: Any, path: Path, utf8: Any, cp1252: Any) -> tuple[bool, bool]:
    """Return whether the file decodes as UTF-8 and as cp1252 (stopping when neither can)."""
    valid_utf8, valid_cp1252 = True, True
    with opener(path, "rb") as fh:
        while block := fh.read(1 << 20):
            if valid_utf8:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    valid_utf8 = False
            if valid_cp1252:
                try:
                    cp1252.decode(block)
                except UnicodeDecodeError:
                    valid_cp1252 = False
            if not valid_cp1252:
                break
    return valid_utf8, valid_cp1252


def _csv_args(real: Path, options: dict[str, str]) -> str:
    skip = ("transcoded_from", "encoding_detected")
    extra = ", ".join(f"{k}={v}" for k, v in sorted(options.items()) if k not in skip)
    return f"{sql_literal(str(real))}, header=true, sample_size=-1" + (
        f", {extra}" if extra else ""
    )


def _csv_columns(con: duckdb.DuckDBPyConnection, path: Path, args: str) -> list[str]:
    try:
        return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_csv({args})").fetchall()]
    except duckdb.Error as exc:
        raise _csv_error(path, exc) from exc


#: DuckDB's longest CSV line (its max_line_size default).
MAX_LINE_BYTES = 2_097_152
#: The lines begun in this many first bytes of a CSV are checked for length before sniffing.
SNIFF_CHECK_BYTES = 4 << 20


def long_line(
    path: Path, limit: int = MAX_LINE_BYTES, *, within: int | None = None
) -> tuple[int, int, int] | None:
    """Return (line number, its bytes, its commas + 1) of the first line over ``limit``.

    Reads to the end of that line (or of the file); None when every line fits, or, with
    ``within``, when none is over ``limit`` yet once that many bytes are read.
    """
    opener = _opener(path)
    line, length, commas, read = 1, 0, 0, 0
    with opener(path, "rb") as fh:
        while block := fh.read(1 << 20):
            if within is not None and read >= within and length <= limit:
                return None
            read += len(block)
            start = 0
            while True:
                end = block.find(b"\n", start)
                piece = block[start:] if end < 0 else block[start:end]
                length += len(piece)
                commas += piece.count(b",")
                if end < 0:
                    break
                if length > limit:
                    return line, length, commas + 1
                line, length, commas, start = line + 1, 0, 0, end + 1
    return (line, length, commas + 1) if length > limit else None


def _binary(path: Path) -> bool:
    """Whether the file's first 8 KiB hold a NUL byte: no text (UTF-16, with its mark, is)."""
    try:
        with _opener(path)(path, "rb") as fh:
            head: bytes = fh.read(8192)
    except (OSError, EOFError, zlib.error):  # a damaged gzip stream: the reader's sentence
        return False
    return b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def _csv_error(path: Path, exc: Exception) -> UserError:
    """Say why DuckDB could not read a CSV: not text, a line too long, else the encoding."""
    if _binary(path):
        return UserError(
            f"{path}: it holds binary bytes, not text, and it is no workbook or Parquet file: "
            "custseg reads Excel workbooks (.xlsx), Parquet files and CSV text."
        )
    if (too_long := _too_long(path)) is not None:
        return too_long
    return UserError(
        f"{path}: cannot be read as CSV ({first_line(exc)}); if it is not UTF-8 text give "
        "--encoding (e.g. cp1252), and check --delimiter."
    )


def _too_long(path: Path, within: int | None = None) -> UserError | None:
    """Say which line is longer than DuckDB reads, if one is (see :func:`long_line`).

    None too when the file cannot be read: DuckDB then says why.
    """
    try:
        found = long_line(path, within=within)
    except (OSError, EOFError, zlib.error):
        return None
    if found is None:
        return None
    number, size, fields = found
    what = (
        f"the header has {fields:,} columns"
        if number == 1 and fields > 10_000
        else (f"a field or line of {size / 2**20:,.1f} MB")
    )
    return UserError(
        f"{path}: line {number:,} is longer than the {MAX_LINE_BYTES >> 20} MB a CSV line "
        f"may have ({what}); is it an order-line file?"
    )


def _csv_sniff(con: duckdb.DuckDBPyConnection, path: Path, args: str) -> tuple[Any, ...]:
    """Sniff the file's dialect and column types (one pass over the whole file).

    A line too long for DuckDB near the start is said at once: its sniffer takes seconds
    to fail on it (4 s for a 10 MB line).
    """
    if (too_long := _too_long(path, within=SNIFF_CHECK_BYTES)) is not None:
        raise too_long
    try:
        row = con.execute(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, "
            f"Columns, DateFormat, TimestampFormat FROM sniff_csv({args})"
        ).fetchone()
    except duckdb.Error as exc:
        raise _csv_error(path, exc) from exc
    assert row is not None
    return tuple(row)


def _csv_fixed_args(args: str, sniffed: tuple[Any, ...], text: list[str]) -> str:
    """Return read_csv arguments that spell out the sniffed dialect and types.

    DuckDB sniffs a CSV file every time a query over ``read_csv(...)`` is planned, and with
    ``sample_size=-1`` that reads the whole file: a view over it would read the file once
    per query. The dialect and types sniffed once are spelled out instead
    (``auto_detect=false``), with the ``text`` columns read as text.
    """
    values: list[Any] = ["" if value == "(empty)" else value for value in sniffed]
    delim, quote, escape, newline, comment, skip, header, columns, date_fmt, ts_fmt = values
    spelled = ", ".join(
        f"{sql_literal(c['name'])}: {sql_literal('VARCHAR' if c['name'] in text else c['type'])}"
        for c in columns
    )
    parts = [
        args.split(", header=true", 1)[0],
        "auto_detect=false",
        f"delim={sql_literal(delim)}",
        f"quote={sql_literal(quote)}",
        f"escape={sql_literal(escape)}",
        f"new_line={sql_literal(newline)}",
        f"skip={int(skip)}",
        f"header={'true' if header else 'false'}",
        f"columns={{{spelled}}}",
    ]
    if comment:
        parts.append(f"comment={sql_literal(comment)}")
    if date_fmt:
        parts.append(f"dateformat={sql_literal(date_fmt)}")
    if ts_fmt:
        parts.append(f"timestampformat={sql_literal(ts_fmt)}")
    # The options that are not part of the sniffed dialect (encoding, gzip, decimal comma).
    for key in ("compression", "encoding", "decimal_separator"):
        found = _option(args, key)
        if found is not None:
            parts.append(f"{key}={found}")
    return ", ".join(parts)


def _option(args: str, key: str) -> str | None:
    """Return the value of ``key=...`` in read_csv arguments built by :func:`_csv_args`."""
    for part in args.split(", "):
        if part.startswith(f"{key}="):
            return part.split("=", 1)[1]
    return None


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: ColumnsConfig,
    csv: CsvConfig,
    workdir: Path,
    relation: str,
) -> tuple[list[str], ColumnMapping, dict[str, str]]:
    try:
        real, options = _csv_options(path, csv, workdir)
        args = _csv_args(real, options)
        sniffed = _csv_sniff(con, path, args)
    except UserError:
        legacy = None if csv.encoding is not None else legacy_encoding(path)
        if legacy is None:
            raise
        logger.warning(
            "note     %s is not UTF-8 text: read as %s (--encoding chooses another)",
            path.name,
            legacy,
        )
        csv = csv.model_copy(update={"encoding": legacy})
        real, options = _csv_options(path, csv, workdir)
        args = _csv_args(real, options)
        sniffed = _csv_sniff(con, path, args)
        options["encoding_detected"] = sql_literal(f"{legacy} (not UTF-8; no --encoding given)")
    names = [c["name"] for c in sniffed[7]]
    mapping = resolve_columns(names, columns, str(path))
    # Invoice ids are text ('C536379'); customer ids keep the type the sniffer saw over the
    # whole file (sample_size=-1), so numeric ids group as numbers. Without --date-format the
    # dates stay text, so that custseg, not the sniffer, decides day-first against
    # month-first (and refuses to guess; see detect_date_format).
    text = [c for c in (mapping.raw("invoice"),) if c is not None]
    if csv.date_format is None and mapping.raw("date") is not None:
        text.append(str(mapping.raw("date")))
    fixed = _csv_fixed_args(args, sniffed, text)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {relation} AS SELECT * FROM read_csv({fixed})")
    recorded = {k: v.strip("'") for k, v in options.items()}
    recorded["sniff"] = "column types sniffed over the whole file (one pass before the scan)"
    return names, mapping, recorded


def _parquet_columns(con: duckdb.DuckDBPyConnection, path: Path, relation: str) -> list[str]:
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {relation} AS SELECT * FROM "
            f"read_parquet({sql_literal(str(path))})"
        )
        return [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]
    except duckdb.Error as exc:
        raise UserError(f"{path}: cannot be read as Parquet ({first_line(exc)}).") from exc


def _read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, columns: ColumnsConfig, relation: str
) -> tuple[list[str], ColumnMapping, dict[str, str]]:
    names = _parquet_columns(con, path, relation)
    return names, resolve_columns(names, columns, str(path)), {}


def _check_file(path: Path) -> InputFormat:
    """Refuse a missing, empty or old-Excel file; return the format its content has."""
    if not path.exists():
        raise UserError(f"Input file {path} does not exist; check the path.")
    if path.is_dir():
        raise UserError(
            f"Input {path} is a folder: give one order file (.xlsx, .csv, .csv.gz, .parquet), "
            "or read a folder of Parquet or CSV files with --engine spark (docs/spark.md)."
        )
    if not path.is_file():
        raise UserError(f"Input {path} is not a file (a device or a pipe); give an order file.")
    if path.stat().st_size == 0:
        raise UserError(f"Input file {path} is empty.")
    return detect_format(path)


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
    relation: str = "orders_raw",
) -> LoadedOrders:
    """Register the order lines of ``path`` as the relation ``relation`` in ``con``.

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
        the relation. Default: the system temp folder (the caller then owns the file).
    relation : str
        The name to give the order lines (the caller owns it).

    Returns
    -------
    LoadedOrders
        The format, columns and mapping used.

    Raises
    ------
    UserError
        If the file is missing, unreadable, or lacks a required column.
    """
    fmt = _check_file(path)
    if fmt == "xlsx":
        names, mapping, options = read_excel(con, path, columns, cache, relation)
    elif fmt == "parquet":
        names, mapping, options = _read_parquet(con, path, columns, relation)
    else:
        named = path.suffix.lower()
        misnamed = named in (".xlsx", ".xlsm", ".parquet")
        said = f"{path}: its name ends in {named}, but it is not one; read as CSV text"
        try:
            names, mapping, options = _read_csv(
                con, path, columns, csv, workdir or Path(tempfile.gettempdir()), relation
            )
        except UserError as exc:
            if not misnamed:
                raise
            raise UserError(f"{said}, {str(exc).removeprefix(f'{path}: ')}") from exc
        if misnamed:
            logger.warning("%s.", said)
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
    fmt = _check_file(path)
    if fmt == "xlsx":
        sheet, reader = excel_sheet(path, sheet)
        names = sheet_header(path, sheet)  # milliseconds; calamine parses the whole sheet
        if names is None:
            try:
                header = reader.load_sheet(sheet, n_rows=1)  # type: ignore[attr-defined]
                names = [c.name for c in header.available_columns()]
            except Exception as exc:
                raise UserError(
                    f"{path} (sheet {sheet!r}): cannot read the sheet ({exc})."
                ) from exc
        return fmt, names, list(reader.sheet_names)  # type: ignore[attr-defined]
    con = duckdb.connect()
    try:
        if fmt == "parquet":
            names = _parquet_columns(con, path, "custseg_header")
        else:
            with tempfile.TemporaryDirectory(prefix="custseg-") as work:
                real, options = _csv_options(path, csv or CsvConfig(), Path(work))
                names = _csv_columns(con, path, _csv_args(real, options))
    finally:
        con.close()
    return fmt, names, []
