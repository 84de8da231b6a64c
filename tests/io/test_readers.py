"""Reading Excel, CSV and Parquet order lines."""

import gzip
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custseg.config import ColumnsConfig, CsvConfig
from custseg.errors import UserError
from custseg.io import detect_format, load_orders
from tests.io import ONLINE_RETAIL, ONLINE_RETAIL_II


def test_format_from_content_not_name(
    tmp_path: Path, tiny_csv: Path, real_parquet: Path, caplog: pytest.LogCaptureFixture
) -> None:
    disguised = tmp_path / "orders.xlsx"
    disguised.write_bytes(tiny_csv.read_bytes())
    assert detect_format(disguised) == "csv"
    assert detect_format(real_parquet) == "parquet"
    con = duckdb.connect()
    with caplog.at_level("WARNING", logger="custseg"):
        loaded = load_orders(con, disguised, ColumnsConfig(), CsvConfig())
    assert loaded.format == "csv"
    assert con.execute("SELECT count(*) FROM orders_raw").fetchone() == (12,)
    # Said, so that an error about its columns is not a mystery.
    assert f"{disguised}: its name ends in .xlsx, but it is not one; read as CSV" in caplog.text
    # A text that is no order table either: one sentence says both.
    text = tmp_path / "notes.xlsx"
    text.write_text("hello world this is not excel\n")
    with pytest.raises(UserError) as raised:
        load_orders(duckdb.connect(), text, ColumnsConfig(), CsvConfig())
    assert str(raised.value) == (
        f"{text}: its name ends in .xlsx, but it is not one; read as CSV text, no customer "
        "column found among 'hello world this is not excel'; name it with --customer-col."
    )


def test_an_old_excel_workbook_is_refused_in_one_sentence(tmp_path: Path) -> None:
    old = tmp_path / "orders.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(UserError, match=r"Excel 97-2003 workbook .*: save it as \.xlsx or CSV\."):
        load_orders(duckdb.connect(), old, ColumnsConfig(), CsvConfig())
    # The one function that reads a file's first bytes says so too (Spark's input check).
    with pytest.raises(UserError, match=r"Excel 97-2003 workbook"):
        detect_format(old)


def _count_and_sum(path: Path, csv: CsvConfig) -> tuple[int, float]:
    con = duckdb.connect()
    load_orders(con, path, ColumnsConfig(), csv)
    row = con.execute('SELECT count(*), sum(CAST("Quantity" AS DOUBLE)) FROM orders_raw').fetchone()
    assert row is not None
    return int(row[0]), float(row[1])


def test_gzip_semicolon_and_cp1252(tmp_path: Path, tiny_csv: Path) -> None:
    gz = tmp_path / "orders.csv.gz"
    gz.write_bytes(gzip.compress(tiny_csv.read_bytes()))
    assert _count_and_sum(gz, CsvConfig()) == (12, 9.0)
    frame = pd.read_csv(tiny_csv, dtype=str)
    frame["Description"] = "Café crème £"
    semi = tmp_path / "semi.csv"
    semi.write_bytes(frame.to_csv(sep=";", index=False).encode("cp1252"))
    assert _count_and_sum(semi, CsvConfig(encoding="cp1252")) == (12, 9.0)
    assert _count_and_sum(semi, CsvConfig(encoding="cp1252", delimiter=";")) == (12, 9.0)


@pytest.mark.parametrize(
    ("sep", "newline", "bom"),
    [("\t", "\n", False), ("|", "\r\n", False), (";", "\r\n", True), (",", "\n", True)],
)
def test_csv_dialects_are_sniffed(
    tmp_path: Path, tiny_csv: Path, sep: str, newline: str, bom: bool
) -> None:
    from custseg.config import load_settings
    from custseg.pipeline import segment

    frame = pd.read_csv(tiny_csv, dtype=str, keep_default_na=False)
    # A description with the delimiter, a quote and a line break inside quotes.
    frame["Description"] = f'Mug{sep} "red"\nlarge'
    path = tmp_path / "dialect.csv"
    text = frame.to_csv(sep=sep, index=False, lineterminator=newline)
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    expected = segment(tiny_csv, load_settings(None, {"model": {"k": 2, "k_max": 2}}))
    result = segment(path, load_settings(None, {"model": {"k": 2, "k_max": 2}}))
    assert result.quality["rows_read"] == 12
    assert result.quality["dropped"] == expected.quality["dropped"]
    pd.testing.assert_frame_equal(result.customers, expected.customers)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_orders(duckdb.connect(), tmp_path / "nope.csv", ColumnsConfig(), CsvConfig())
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="is empty"):
        load_orders(duckdb.connect(), empty, ColumnsConfig(), CsvConfig())


def test_corrupt_workbook_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(UserError, match=r"not a valid \.xlsx file .*; is it complete\?"):
        load_orders(duckdb.connect(), bad, ColumnsConfig(), CsvConfig())


def test_read_columns_and_suggestions(tmp_path: Path, tiny_csv: Path, real_parquet: Path) -> None:
    from custseg.io import read_columns, suggest_columns
    from tests.xlsx import write_xlsx

    assert read_columns(tiny_csv) == ("csv", ONLINE_RETAIL, [])
    assert read_columns(real_parquet) == ("parquet", ONLINE_RETAIL, [])
    book = tmp_path / "b.xlsx"
    write_xlsx(
        book,
        {
            "Intro": [["note"], ["x"]],
            "Orders": [ONLINE_RETAIL_II, ["1", "A", "d", 1, 2.0, 3.0, 4.0, "UK"]],
        },
    )
    assert read_columns(book) == ("xlsx", ["note"], ["Intro", "Orders"])
    assert read_columns(book, sheet="Orders") == ("xlsx", ONLINE_RETAIL_II, ["Intro", "Orders"])
    assert suggest_columns(ONLINE_RETAIL_II) == {
        "customer": "Customer ID",
        "invoice": "Invoice",
        "date": "InvoiceDate",
        "quantity": "Quantity",
        "price": "Price",
        "amount": None,
        "currency": None,
    }


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


def test_a_cp1252_file_is_read_without_flags(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    header = "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Description\n"
    text = header + "1,7,2011-01-01 10:00,2,1.5,Café – mug\n2,8,2011-01-02 10:00,1,3.0,naïve\n"
    path = tmp_path / "superstore.csv"
    path.write_bytes(text.encode("cp1252"))  # é, – and ï are not UTF-8 here
    con = duckdb.connect()
    with caplog.at_level("WARNING", logger="custseg"):
        loaded = load_orders(con, path, ColumnsConfig(), CsvConfig(), workdir=tmp_path)
    assert "superstore.csv is not UTF-8 text: read as cp1252" in caplog.text
    assert loaded.options["encoding_detected"] == "cp1252 (not UTF-8; no --encoding given)"
    rows = con.execute('SELECT "Description" FROM orders_raw ORDER BY 1').fetchall()
    assert rows == [("Café – mug",), ("naïve",)]
    # Gzipped, the same.
    packed = tmp_path / "packed.csv"
    packed.write_bytes(gzip.compress(text.encode("cp1252")))
    load_orders(duckdb.connect(), packed, ColumnsConfig(), CsvConfig(), workdir=tmp_path)
    # A damaged gzip stream is not an encoding question: the reader's own sentence.
    path.write_bytes(b"\x1f\x8b\x08" + bytes(range(256)))
    with pytest.raises(UserError, match=r"cannot be read as CSV"):
        load_orders(duckdb.connect(), path, ColumnsConfig(), CsvConfig(), workdir=tmp_path)
    # A byte that is neither UTF-8 nor cp1252 (0x81): the error stays, naming --encoding.
    path.write_bytes(header.encode() + b"1,7,2011-01-01 10:00,2,1.5,x\x81y\n")
    with pytest.raises(UserError, match=r"if it is not UTF-8 text give --encoding"):
        load_orders(duckdb.connect(), path, ColumnsConfig(), CsvConfig(), workdir=tmp_path)


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


def test_a_line_too_long_is_said_as_such(tmp_path: Path) -> None:
    from custseg.config import Settings
    from custseg.errors import UserError
    from custseg.io.readers import long_line
    from custseg.session import Session

    big = tmp_path / "big.csv"
    big.write_text("customer_id,order_date,amount\n1,2024-01-01," + "x" * 10_000_000 + "\n")
    with pytest.raises(UserError, match=r"line 2 is longer than the 2 MB .*of 9.5 MB\)"):
        Session(big, Settings())
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n1\n")
    with pytest.raises(UserError, match=r"line 1 .*\(the header has 1,000,000 columns\)"):
        Session(wide, Settings())
    assert long_line(big, limit=100) == (2, 10_000_013, 3)
    assert long_line(wide, limit=10_000_000) is None
