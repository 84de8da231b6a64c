"""Reading an Excel workbook's order lines through fastexcel (calamine).

Every sheet that has the required columns, mapped alike, becomes one relation in the
engine's connection (a workbook split by year reads whole); each sheet read is kept as a
Parquet copy (the cache), so later runs skip the slow parse. The zip container is checked
before anything is decompressed.
"""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path
from typing import Any

import duckdb

from custseg.config import ColumnsConfig
from custseg.errors import UserError, first_line
from custseg.io.cache import cache_file, read_cached, write_cache
from custseg.io.columns import COLUMN_CANDIDATES, ColumnMapping, resolve_columns
from custseg.progress import logger

__all__ = [
    "MAX_XLSX_RATIO",
    "MAX_XLSX_UNCOMPRESSED",
    "check_workbook_container",
    "excel_sheet",
    "read_excel",
]


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


def excel_sheet(path: Path, sheet: str | None) -> tuple[str, object]:
    """Open a workbook; return the sheet to read (``sheet``, else the first) and the reader.

    Raises
    ------
    UserError
        For a broken or oversized container, an unreadable workbook, no sheets, or no
        sheet of that name (the sheets are named).
    """
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


def read_excel(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: ColumnsConfig,
    cache: tuple[Path, str] | None,
    relation: str,
) -> tuple[list[str], ColumnMapping, dict[str, str]]:
    """Register the workbook's order lines as ``relation``; return columns, mapping, options.

    Without ``columns.sheet`` every sheet with the required columns, mapped alike, is read
    into one relation; the options say the sheets read and the cache state (``hit``,
    ``miss`` or ``off``).
    """
    first, reader = excel_sheet(path, columns.sheet)
    # Without --sheet, every sheet that has the required columns, mapped alike, is read (a
    # workbook split by year, as Online Retail II ships); the others are said and skipped.
    sheets = [first] if columns.sheet is not None else list(reader.sheet_names)  # type: ignore[attr-defined]
    # Ids are text even when they look numeric (InvoiceNo mixes 536365 and C536379). calamine
    # parses the whole sheet even for its header, so guess the id columns' names up front and
    # load once; reload only when the mapping lands on a column the guess missed.
    forced = {c for f in ("customer", "invoice") for c in COLUMN_CANDIDATES[f]}
    forced |= {c for c in (columns.customer, columns.invoice) if c is not None}
    skipped: list[str] = []
    parts: list[tuple[str, list[str], ColumnMapping, str]] = []  # sheet, names, mapping, cache
    for sheet in sheets:
        part = f"{relation}_sheet{len(parts)}"
        read = _read_sheet(con, reader, path, sheet, columns, cache, forced, part, len(sheets))
        if read is None or (parts and read[1] != parts[0][2]):
            con.execute(f"DROP VIEW IF EXISTS {part}")
            with contextlib.suppress(duckdb.Error):
                con.unregister(part)
            if read is None:
                skipped.append(sheet)
            else:  # order lines too, under other names: not silently (a half of the data)
                _say_other_names(path, parts[0], sheet, read[1])
            continue
        parts.append((sheet, *read))
    if not parts:
        raise UserError(
            f"{path}: no sheet has the customer, date and amount (or quantity and price) "
            f"columns (sheets: {', '.join(repr(s) for s in sheets)}); name the sheet with "
            "--sheet and the columns with --customer-col, --date-col, ..."
        )
    # One relation over every sheet read (types widened by name where sheets differ).
    union = " UNION ALL BY NAME ".join(
        f"SELECT * FROM {relation}_sheet{i}" for i in range(len(parts))
    )
    con.execute(f"CREATE OR REPLACE TEMP VIEW {relation} AS {union}")
    _say_sheets(path, parts, skipped, con, relation)
    states = {p[3] for p in parts}
    state = states.pop() if len(states) == 1 else "miss"
    return parts[0][1], parts[0][2], {"sheet": ", ".join(p[0] for p in parts), "cache": state}


def _read_sheet(
    con: duckdb.DuckDBPyConnection,
    reader: Any,
    path: Path,
    sheet: str,
    columns: ColumnsConfig,
    cache: tuple[Path, str] | None,
    forced: set[str],
    relation: str,
    sheets: int,
) -> tuple[list[str], ColumnMapping, str] | None:
    """Register one sheet as ``relation``: its columns, mapping and cache state, or None.

    None: the sheet lacks the required columns (an error when it is the only sheet).
    """
    source = f"{path} (sheet {sheet!r})"
    cached = cache_file(cache[0], path, cache[1], sheet, forced) if cache else None
    try:
        if cached is not None and cached.is_file():
            hit = read_cached(con, cached, columns, source, relation)
            if hit is not None:
                return hit[0], hit[1], "hit"
        loaded = reader.load_sheet(sheet, dtypes=dict.fromkeys(sorted(forced), "string"))
        names = [c.name for c in loaded.available_columns()]
        mapping = resolve_columns(names, columns, source)
    except UserError:
        if sheets == 1:
            raise
        return None
    except Exception as exc:
        raise UserError(f"{source}: cannot read the sheet ({first_line(exc)}).") from exc
    try:
        ids = {c for c in (mapping.raw("customer"), mapping.raw("invoice")) if c is not None}
        if not ids <= forced:
            loaded = reader.load_sheet(sheet, dtypes=dict.fromkeys(sorted(ids), "string"))
        table = loaded.to_arrow()
    except Exception as exc:
        raise UserError(f"{source}: cannot read the sheet ({first_line(exc)}).") from exc
    con.register(relation, table)
    if cached is not None:
        write_cache(table, cached)
    return names, mapping, "miss" if cached else "off"


def _say_sheets(
    path: Path,
    parts: list[tuple[str, list[str], ColumnMapping, str]],
    skipped: list[str],
    con: duckdb.DuckDBPyConnection,
    relation: str,
) -> None:
    if len(parts) > 1:
        counts = [
            con.execute(f"SELECT count(*) FROM {relation}_sheet{i}").fetchone()[0]  # type: ignore[index]
            for i in range(len(parts))
        ]
        logger.info(
            "sheet    reading %d sheets of %s, the same columns: %s",
            len(parts),
            path.name,
            ", ".join(
                f"{p[0]!r} {n:,} row{'s' if n != 1 else ''}"
                for p, n in zip(parts, counts, strict=True)
            ),
        )
    if skipped:
        _say_sheet(path, ", ".join(repr(p[0]) for p in parts), skipped)


def _say_sheet(path: Path, sheet: str, skipped: list[str]) -> None:
    if skipped:
        logger.info(
            "sheet    using %s of %s: %s %s the required columns, or map them otherwise",
            sheet,
            path.name,
            ", ".join(repr(s) for s in skipped),
            "lacks" if len(skipped) == 1 else "lack",
        )


def _say_other_names(
    path: Path, first: tuple[str, list[str], ColumnMapping, str], sheet: str, other: ColumnMapping
) -> None:
    """Warn of a sheet whose order lines are not read: its columns are mapped otherwise.

    Named otherwise (``Customer ID`` for ``CustomerID``), or one of them missing (a sheet
    without ``StockCode``: product None against 'StockCode').
    """
    import dataclasses

    ours, theirs = dataclasses.asdict(first[2]), dataclasses.asdict(other)
    # The fields' columns first; the optional ones, then the layout, only if those agree.
    differ = ""
    for group in (first[2].as_dict(), ("currency", "void", "product"), ("layout",)):
        differ = ", ".join(
            f"{f} {theirs[f]!r} against {ours[f]!r}" for f in group if ours[f] != theirs[f]
        )
        if differ:
            break
    logger.warning(
        "warning  sheet %r of %s holds order lines too, but its columns are mapped otherwise "
        "(%s): it is not read with sheet %r; read it alone with --sheet %r",
        sheet,
        path.name,
        differ or "the columns computed from them differ",
        first[0],
        sheet,
    )
