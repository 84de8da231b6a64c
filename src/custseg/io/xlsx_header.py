"""A workbook sheet's header row, read from the file's XML without parsing the sheet.

calamine (fastexcel) parses a whole sheet even when only its first row is asked for: about
3 s for the Online Retail workbook, which the dashboard paid just to list the columns of
its mapping boxes. The header is the sheet's first ``<row>``; this module streams the sheet
XML up to that row and the shared strings up to the last index it uses, in milliseconds.

Anything unusual (a header that does not start in column A, a gap, a number or formula
cell, a duplicate name, an unexpected package layout) gives ``None``, and the caller asks
calamine instead, so the names are always calamine's.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from typing import IO
from xml.etree import ElementTree as ET

__all__ = ["sheet_header"]

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)$")


def _column_number(letters: str) -> int:
    """Return the 1-based number of a column's letters (A = 1, AA = 27)."""
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - ord("A") + 1
    return number


def _sheet_member(zf: zipfile.ZipFile, sheet: str) -> str | None:
    """Return the zip member that holds ``sheet``'s cells, or None if it cannot be told."""
    workbook = ET.fromstring(zf.read("xl/workbook.xml"))
    rid = next(
        (s.get(f"{_DOC_REL}id") for s in workbook.iter(f"{_MAIN}sheet") if s.get("name") == sheet),
        None,
    )
    if rid is None:
        return None
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = next(
        (r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship") if r.get("Id") == rid),
        None,
    )
    if not target:
        return None
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


def _text(element: ET.Element) -> str:
    """Return the text of a string item: its ``<t>``, or its rich-text runs joined."""
    return "".join(t.text or "" for t in element.iter(f"{_MAIN}t"))


def _first_row(stream: IO[bytes]) -> list[tuple[str, str, str]] | None:
    """Return (reference, type, value-or-text) of each cell of the sheet's first row."""
    for _, element in ET.iterparse(stream, events=("end",)):
        if element.tag != f"{_MAIN}row":
            continue
        cells = []
        for cell in element.iter(f"{_MAIN}c"):
            kind = cell.get("t", "n")
            if kind == "inlineStr":
                inline = cell.find(f"{_MAIN}is")
                value = _text(inline) if inline is not None else ""
            else:
                v = cell.find(f"{_MAIN}v")
                value = v.text if v is not None and v.text is not None else ""
            cells.append((cell.get("r", ""), kind, value))
        return cells
    return None


def _shared_strings(zf: zipfile.ZipFile, wanted: set[int]) -> dict[int, str] | None:
    """Return the shared strings at the ``wanted`` indices, reading no further than needed."""
    if not wanted:
        return {}
    try:
        stream = zf.open("xl/sharedStrings.xml")
    except KeyError:
        return None
    found: dict[int, str] = {}
    last = max(wanted)
    with stream:
        index = 0
        for _, element in ET.iterparse(stream, events=("end",)):
            if element.tag != f"{_MAIN}si":
                continue
            if index in wanted:
                found[index] = _text(element)
            element.clear()
            if index >= last:
                break
            index += 1
    return found if len(found) == len(wanted) else None


def sheet_header(path: Path, sheet: str) -> list[str] | None:
    """Return the names in ``sheet``'s first row, or None where calamine must be asked.

    Parameters
    ----------
    path : Path
        An .xlsx workbook (a zip container already checked by the caller).
    sheet : str
        The sheet's name, as the workbook lists it.

    Returns
    -------
    list of str or None
        The header's names, left to right, when every cell from column A on is a text cell
        with a distinct, non-empty name; otherwise None.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            member = _sheet_member(zf, sheet)
            if member is None:
                return None
            with zf.open(member) as stream:
                cells = _first_row(stream)
            if not cells:
                return None
            shared = {int(v) for _, kind, v in cells if kind == "s"}
            strings = _shared_strings(zf, shared)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, ET.ParseError):
        return None
    if strings is None:
        return None
    names = []
    for position, (ref, kind, value) in enumerate(cells, start=1):
        match = _CELL_REF.match(ref)
        if match is None or _column_number(match.group(1)) != position:
            return None  # a header that starts right of column A, or has a gap
        if kind == "s":
            name = strings[int(value)]
        elif kind in ("inlineStr", "str"):
            name = value
        else:
            return None  # a number, a boolean or an error: calamine's spelling decides
        if not name.strip():
            return None
        names.append(name)
    if len(set(names)) != len(names):
        return None
    return names
