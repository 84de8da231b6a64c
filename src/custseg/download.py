"""Fetch the UCI Online Retail workbook, check it, and put it in place atomically."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

from custseg.errors import UserError

__all__ = ["EXPECTED_COLUMNS", "EXPECTED_ROWS", "MEMBER", "UCI_URL", "fetch_online_retail"]

UCI_URL = "https://archive.ics.uci.edu/static/public/352/online+retail.zip"
MEMBER = "Online Retail.xlsx"
SHEET = "Online Retail"
EXPECTED_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
EXPECTED_ROWS = 541_909
#: Largest workbook accepted from the archive (the real one is 23 MB): guards against bombs.
MAX_MEMBER_BYTES = 200 * 1024 * 1024


def _fetch(url: str, target: Path, timeout: float) -> None:
    if urllib.parse.urlsplit(url).scheme not in {"http", "https", "file"}:
        raise UserError(f"--url {url!r} is not a URL; give one starting with https:// or http://.")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as fh:
            shutil.copyfileobj(response, fh, 1 << 20)
    except urllib.error.HTTPError as exc:
        raise UserError(f"Download of {url} failed: HTTP {exc.code} {exc.reason}.") from exc
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"Cannot download {url} ({reason}); the network may be offline.") from exc


def check_workbook(
    path: Path, expected_rows: int | None = EXPECTED_ROWS, label: str | None = None
) -> int:
    """Check that ``path`` is the Online Retail workbook; return its number of data rows.

    Parameters
    ----------
    path : Path
        An .xlsx file.
    expected_rows : int or None
        Required number of data rows; ``None`` accepts any.
    label : str, optional
        How to name the workbook in messages (default: its path).

    Returns
    -------
    int
        Number of data rows.

    Raises
    ------
    UserError
        If the sheet, the columns or the row count differ.
    """
    import fastexcel

    name = label or str(path)
    try:
        reader = fastexcel.read_excel(str(path))
        sheets = list(reader.sheet_names)
    except Exception as exc:
        raise UserError(f"{name}: not a readable Excel workbook ({exc}).") from exc
    if SHEET not in sheets:
        raise UserError(
            f"{name}: has no sheet {SHEET!r} (sheets: {sheets}); "
            "it is not the Online Retail workbook."
        )
    try:
        sheet = reader.load_sheet(SHEET, n_rows=1)
        columns = [c.name for c in sheet.available_columns()]
        if tuple(columns) != EXPECTED_COLUMNS:
            raise UserError(
                f"{name}: columns {columns} differ from the Online Retail layout "
                f"{list(EXPECTED_COLUMNS)}."
            )
        rows = int(sheet.total_height)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{name}: the sheet {SHEET!r} cannot be read ({exc}).") from exc
    if expected_rows is not None and rows != expected_rows:
        raise UserError(
            f"{name}: has {rows:,} rows, expected {expected_rows:,}; "
            "the download may be incomplete or a different version."
        )
    return rows


def fetch_online_retail(
    dest: Path,
    *,
    url: str = UCI_URL,
    expected_rows: int | None = EXPECTED_ROWS,
    timeout: float = 60.0,
) -> int:
    """Download the Online Retail zip, extract the workbook to ``dest`` and check it.

    Nothing is written to ``dest`` unless every check passes (the workbook is extracted to a
    temporary file beside it and renamed).

    Parameters
    ----------
    dest : Path
        Where the workbook goes, e.g. ``data/raw/online-retail.xlsx``.
    url : str
        The zip's address.
    expected_rows : int or None
        Rows the workbook must have (541,909 for the UCI original).
    timeout : float
        Seconds to wait for the server.

    Returns
    -------
    int
        Number of data rows in the workbook.

    Raises
    ------
    UserError
        For a network or HTTP error, a corrupt or truncated zip, a zip without the
        workbook, or a workbook of the wrong structure.
    """
    made = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]  # deepest first
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return _fetch_into(dest, url, expected_rows, timeout)
    except BaseException:  # a failed download leaves no folder of its own behind either
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _fetch_into(dest: Path, url: str, expected_rows: int | None, timeout: float) -> int:
    """:func:`fetch_online_retail` once ``dest``'s folder exists."""
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".download-") as tmp:
        archive = Path(tmp) / "archive.zip"
        _fetch(url, archive, timeout)
        try:
            with zipfile.ZipFile(archive) as zf:
                names = zf.namelist()
                if MEMBER not in names:
                    raise UserError(
                        f"The zip from {url} has no {MEMBER!r} (it holds "
                        f"{', '.join(names) or 'nothing'}); check the URL."
                    )
                if zf.getinfo(MEMBER).file_size > MAX_MEMBER_BYTES:
                    raise UserError(
                        f"{MEMBER!r} in {url} unpacks to more than "
                        f"{MAX_MEMBER_BYTES // 2**20} MB; refusing it."
                    )
                extracted = Path(tmp) / "online-retail.xlsx"
                with zf.open(MEMBER) as src, open(extracted, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise UserError(
                f"The file from {url} is not a valid zip ({exc}); "
                "the download may be truncated, try again."
            ) from exc
        rows = check_workbook(extracted, expected_rows, label=f"{MEMBER!r} from {url}")
        os.replace(extracted, dest)
    return rows
