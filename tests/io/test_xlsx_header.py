"""The header read from a workbook's XML is calamine's, or None where calamine must decide."""

from __future__ import annotations

from pathlib import Path

import fastexcel
import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from custseg.io import read_columns
from custseg.io.xlsx_header import sheet_header
from tests.xlsx import write_xlsx


def _calamine(path: Path, sheet: str) -> list[str]:
    sheet_data = fastexcel.read_excel(str(path)).load_sheet(sheet, n_rows=1)
    return [c.name for c in sheet_data.available_columns()]


def test_the_real_workbook_header_is_calamines(real_xlsx: Path) -> None:
    sheet = fastexcel.read_excel(str(real_xlsx)).sheet_names[0]
    expected = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                "UnitPrice", "CustomerID", "Country"]  # fmt: skip
    assert sheet_header(real_xlsx, sheet) == expected == _calamine(real_xlsx, sheet)
    assert read_columns(real_xlsx)[1] == expected


def test_inline_strings_on_every_sheet(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    write_xlsx(
        path,
        {
            "Year 2009-2010": [["Invoice", "Customer ID", "Price"], ["1", 2, 3.5]],
            "Notes": [["Kommentar & Notiz", "<b>"], ["x", "y"]],
        },
    )
    assert sheet_header(path, "Year 2009-2010") == ["Invoice", "Customer ID", "Price"]
    assert sheet_header(path, "Notes") == ["Kommentar & Notiz", "<b>"]
    for sheet in ("Year 2009-2010", "Notes"):
        assert sheet_header(path, sheet) == _calamine(path, sheet)
    assert sheet_header(path, "Missing") is None


def test_shared_and_rich_strings_as_excel_writes_them(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(["Order ID", "Sales", "Order Date"])
    sheet.append(["CA-1", 2.5, "2016-01-01"])
    sheet["B1"] = CellRichText(["Sa", TextBlock(InlineFont(b=True), "les")])
    book.save(tmp_path / "shared.xlsx")
    path = tmp_path / "shared.xlsx"
    assert sheet_header(path, "Orders") == ["Order ID", "Sales", "Order Date"]
    assert sheet_header(path, "Orders") == _calamine(path, "Orders")


@pytest.mark.parametrize(
    "header",
    [
        [None, "Customer", "Total"],  # starts right of column A
        ["Customer", None, "Total"],  # a gap
        ["Customer", 2011, "Total"],  # a number: calamine spells it
        ["Customer", "Total", "Total"],  # a duplicate: calamine renames it
        ["Customer", " ", "Total"],  # a blank name
    ],
)
def test_unusual_headers_are_left_to_calamine(tmp_path: Path, header: list[object]) -> None:
    path = tmp_path / "odd.xlsx"
    write_xlsx(path, {"S": [header, ["a", 1, 2]]})
    assert sheet_header(path, "S") is None
    assert read_columns(path)[1] == _calamine(path, "S")


def test_a_damaged_package_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert sheet_header(path, "S") is None
