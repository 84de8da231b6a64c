"""Workbooks: the container check, the sheets read, the cache (custseg.io.excel)."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custseg.config import ColumnsConfig, CsvConfig
from custseg.errors import UserError
from custseg.io import load_orders
from tests.io import ONLINE_RETAIL


def test_corrupt_workbook_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(UserError, match=r"not a valid \.xlsx file .*; is it complete\?"):
        load_orders(duckdb.connect(), bad, ColumnsConfig(), CsvConfig())


def test_zip_bomb_and_broken_workbooks_are_refused_before_parsing(tmp_path: Path) -> None:
    import zipfile

    from custseg.io import check_workbook_container

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 5_000_000)
    with pytest.raises(
        UserError, match=r"times its compressed size\); the limits are .* possible zip bomb"
    ):
        check_workbook_container(bomb)
    with pytest.raises(UserError, match="possible zip bomb"):
        load_orders(duckdb.connect(), bomb, ColumnsConfig(), CsvConfig())
    with pytest.raises(UserError, match=r"would unpack to 5 MB .* limits are 1 MB"):
        check_workbook_container(bomb, max_bytes=2**20, max_ratio=10**6)
    truncated = tmp_path / "cut.xlsx"
    truncated.write_bytes(bomb.read_bytes()[:200])
    with pytest.raises(UserError, match=r"not a valid \.xlsx file"):
        check_workbook_container(truncated)


def test_workbook_sheet_with_the_required_columns_is_chosen_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import datetime as dt
    import logging

    from tests.xlsx import write_xlsx

    book = tmp_path / "b.xlsx"
    row = ["1", "A", "d", 2, dt.datetime(2011, 1, 1, 10), 3.0, 17850.0, "UK"]
    write_xlsx(book, {"Notes": [["about"], ["this file"]], "Orders": [ONLINE_RETAIL, row]})
    con = duckdb.connect()
    with caplog.at_level(logging.INFO, logger="custseg"):
        loaded = load_orders(con, book, ColumnsConfig(), CsvConfig())
    assert loaded.options["sheet"] == "Orders"
    assert "using 'Orders' of b.xlsx: 'Notes' lacks the required columns" in caplog.text
    assert con.execute('SELECT "CustomerID" FROM orders_raw').fetchall() == [("17850",)]
    none = tmp_path / "none.xlsx"
    write_xlsx(none, {"A": [["x"], [1]], "B": [["y"], [2]]})
    with pytest.raises(
        UserError, match=r"no sheet has the customer, date and amount .*\(sheets: 'A', 'B'\)"
    ):
        load_orders(duckdb.connect(), none, ColumnsConfig(), CsvConfig())
    with pytest.raises(UserError, match=r"sheet 'A'\): no customer column found among 'x'"):
        load_orders(duckdb.connect(), none, ColumnsConfig(sheet="A"), CsvConfig())


def test_a_sheet_of_order_lines_named_otherwise_is_warned_of(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import datetime as dt
    import logging

    from tests.xlsx import write_xlsx

    # Half of the lines were left out with an info line saying the sheet "lacks the
    # required columns": it has them, under Online Retail II's names.
    other = [c.replace("CustomerID", "Customer ID") for c in ONLINE_RETAIL]
    other = [c.replace("UnitPrice", "Price") for c in other]
    row = ["1", "A", "d", 2, dt.datetime(2011, 1, 1, 10), 3.0, 17850.0, "UK"]
    book = tmp_path / "two.xlsx"
    write_xlsx(book, {"A": [ONLINE_RETAIL, row], "B": [other, row]})
    with caplog.at_level(logging.INFO, logger="custseg"):
        loaded = load_orders(duckdb.connect(), book, ColumnsConfig(), CsvConfig())
    assert loaded.options["sheet"] == "A"
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [
        "warning  sheet 'B' of two.xlsx holds order lines too, but its columns are mapped "
        "otherwise (customer 'Customer ID' against 'CustomerID', price 'Price' against "
        "'UnitPrice'): it is not read with sheet 'A'; read it alone with --sheet 'B'"
    ]
    # A sheet without StockCode maps no product column: said, not an empty list.
    short = [c for c in ONLINE_RETAIL if c != "StockCode"]
    book = tmp_path / "three.xlsx"
    write_xlsx(
        book, {"A": [ONLINE_RETAIL, row], "C": [short, [v for i, v in enumerate(row) if i != 1]]}
    )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="custseg"):
        load_orders(duckdb.connect(), book, ColumnsConfig(), CsvConfig())
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "(product None against 'StockCode')" in warned[0], warned
    assert "lacks the required columns" not in caplog.text


def test_a_workbook_split_by_year_is_read_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import datetime as dt
    import logging

    from tests.xlsx import write_xlsx

    first = [["1", "A", "d", 2, dt.datetime(2010, 1, 1, 10), 3.0, 17850.0, "UK"]]
    second = [
        ["2", "B", "e", 1, dt.datetime(2011, 1, 1, 10), 4.0, 17850.0, "UK"],
        ["3", "B", "e", 5, dt.datetime(2011, 2, 1, 10), 1.0, 12000.0, "UK"],
    ]
    book = tmp_path / "ii.xlsx"
    write_xlsx(
        book,
        {
            "Year 2009-2010": [ONLINE_RETAIL, *first],
            "Notes": [["about"]],
            "Year 2010-2011": [ONLINE_RETAIL, *second],
        },
    )
    con = duckdb.connect()
    with caplog.at_level(logging.INFO, logger="custseg"):
        loaded = load_orders(con, book, ColumnsConfig(), CsvConfig())
    assert loaded.options["sheet"] == "Year 2009-2010, Year 2010-2011"
    assert (
        "reading 2 sheets of ii.xlsx, the same columns: 'Year 2009-2010' 1 row, "
        "'Year 2010-2011' 2 rows" in caplog.text
    )
    assert "'Notes' lacks the required columns" in caplog.text
    rows = con.execute('SELECT "InvoiceNo", "CustomerID" FROM orders_raw ORDER BY 1').fetchall()
    assert rows == [("1", "17850"), ("2", "17850"), ("3", "12000")]
    # --sheet still reads one sheet only.
    con = duckdb.connect()
    load_orders(con, book, ColumnsConfig(sheet="Year 2010-2011"), CsvConfig())
    assert con.execute("SELECT count(*) FROM orders_raw").fetchone() == (2,)
    # Each sheet has its own cached copy; the second read uses both.
    cache = (tmp_path / "cache", "0" * 64)
    first_read = load_orders(duckdb.connect(), book, ColumnsConfig(), CsvConfig(), cache=cache)
    con = duckdb.connect()
    again = load_orders(con, book, ColumnsConfig(), CsvConfig(), cache=cache)
    assert (first_read.options["cache"], again.options["cache"]) == ("miss", "hit")
    assert con.execute("SELECT count(*) FROM orders_raw").fetchone() == (3,)


def test_the_real_data_split_over_two_sheets_reads_as_one(
    tmp_path: Path, real_parquet: Path
) -> None:
    from custseg.config import Settings
    from custseg.session import Session
    from tests.xlsx import write_xlsx

    lines = pd.read_parquet(real_parquet).head(20_000)
    lines = lines.rename(columns={"InvoiceNo": "Invoice", "UnitPrice": "Price"})
    lines = lines.rename(columns={"CustomerID": "Customer ID"})
    half = 9_000
    sheets = {
        name: [list(lines.columns), *part.astype(object).where(part.notna(), None).values.tolist()]
        for name, part in (("Year 2009-2010", lines[:half]), ("Year 2010-2011", lines[half:]))
    }
    book = write_xlsx(tmp_path / "ii.xlsx", sheets)
    flat = tmp_path / "ii.parquet"
    lines.to_parquet(flat, index=False)
    settings = Settings(engine={"cache": False})
    with Session(book, settings) as split, Session(flat, settings) as whole:
        assert split.cleaning().rows_read == 20_000
        assert split.cleaning().dropped == whole.cleaning().dropped
        pd.testing.assert_frame_equal(split.rfm(), whole.rfm(), check_dtype=False)
