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


def test_binary_bytes_are_said_to_be_no_text(tmp_path: Path) -> None:
    junk = bytes(range(256)) * 8  # NUL bytes among the first ones: no text
    named = tmp_path / "orders.xlsx"
    named.write_bytes(junk)
    with pytest.raises(UserError) as raised:
        load_orders(duckdb.connect(), named, ColumnsConfig(), CsvConfig(), workdir=tmp_path)
    assert str(raised.value) == (
        f"{named}: its name ends in .xlsx, but it is not one; read as CSV text, it holds "
        "binary bytes, not text, and it is no workbook or Parquet file: custseg reads Excel "
        "workbooks (.xlsx), Parquet files and CSV text."
    )
    packed = tmp_path / "orders.csv.gz"
    packed.write_bytes(gzip.compress(junk))
    with pytest.raises(UserError, match=r"^\S+orders\.csv\.gz: it holds binary bytes, not text"):
        load_orders(duckdb.connect(), packed, ColumnsConfig(), CsvConfig(), workdir=tmp_path)


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
    # A folder: what to give instead, and where a folder is read.
    with pytest.raises(UserError) as caught:
        load_orders(duckdb.connect(), tmp_path, ColumnsConfig(), CsvConfig())
    assert str(caught.value) == (
        f"Input {tmp_path} is a folder: give one order file (.xlsx, .csv, .csv.gz, .parquet), "
        "or read a folder of Parquet or CSV files with --engine spark (docs/spark.md)."
    )


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


def test_a_line_too_long_is_said_as_such(tmp_path: Path) -> None:
    from custseg.config import Settings
    from custseg.errors import UserError
    from custseg.io.readers import _csv_sniff, long_line
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
    # Said before DuckDB's sniffer, which takes seconds to fail (no connection is used).
    with pytest.raises(UserError, match=r"line 2 is longer than the 2 MB"):
        _csv_sniff(None, big, "")  # type: ignore[arg-type]


def test_the_early_line_check_reads_only_the_start(tmp_path: Path) -> None:
    from custseg.io.readers import long_line

    late = tmp_path / "late.csv"
    short = b"a,b\n" * 300_000  # 1.2 MB of short lines, then one of 200 bytes
    late.write_bytes(short + b"x" * 200 + b"\n")
    assert long_line(late, limit=100) == (300_001, 200, 1)
    assert long_line(late, limit=100, within=1) is None  # stops after the first 1 MB block
    assert long_line(late, limit=100, within=2 << 20) == (300_001, 200, 1)
