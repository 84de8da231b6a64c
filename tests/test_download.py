"""Tests of custseg.download against a loopback HTTP server serving zips built here."""

from __future__ import annotations

import datetime as dt
import http.client
import http.server
import io
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import pytest

from custseg.download import EXPECTED_COLUMNS, MEMBER, fetch_online_retail
from custseg.errors import UserError

sys.path.insert(0, str(Path(__file__).parent))
from xlsx import excel_serial, write_xlsx, xlsx_bytes

HEADER: list[object] = list(EXPECTED_COLUMNS)
ROWS: list[list[object]] = [
    ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, dt.datetime(2010, 12, 1, 8, 26),
     2.55, 17850, "United Kingdom"],
    ["536365", "71053", "WHITE METAL LANTERN", 6, dt.datetime(2010, 12, 1, 8, 26), 3.39, 17850,
     "United Kingdom"],
    ["536366", "22633", "HAND WARMER UNION JACK", 6, dt.datetime(2010, 12, 1, 8, 28), 1.85, 17850,
     "United Kingdom"],
    ["C536379", "D", "Discount", -1, dt.datetime(2010, 12, 1, 9, 41), 27.5, 14527,
     "United Kingdom"],
    ["536414", "22139", None, 56, dt.datetime(2010, 12, 1, 11, 52), 0, None, "France"],
]  # fmt: skip


def retail_xlsx(
    rows: list[list[object]] | None = None,
    header: list[object] | None = None,
    sheet: str = "Online Retail",
) -> bytes:
    return xlsx_bytes({sheet: [header or HEADER, *(ROWS if rows is None else rows)]})


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@dataclass
class Server:
    """A loopback HTTP server; ``routes`` maps a path to the bytes served with status 200."""

    base: str
    routes: dict[str, bytes] = field(default_factory=dict)
    truncated: dict[str, bytes] = field(default_factory=dict)
    chunked_cut: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(base="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path in state.routes:
                body = state.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path in state.truncated:
                # Announce the whole body but send only its first half, then hang up.
                body = state.truncated[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
            elif self.path in state.chunked_cut:
                # Chunked transfer: announce one chunk of the whole body, send half, hang up.
                body = state.chunked_cut[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"%x\r\n" % len(body) + body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
            else:
                self.send_error(404, "Not Found")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    """Destination in a folder of its own, so leftovers are easy to see."""
    return tmp_path / "raw" / "online-retail.xlsx"


def leftovers(dest: Path) -> list[str]:
    """Names in dest's folder other than dest itself (e.g. a ``.download-*`` temp folder)."""
    if not dest.parent.exists():
        return []
    return sorted(p.name for p in dest.parent.iterdir() if p != dest)


# --- the workbook builder ----------------------------------------------------------------


def test_handmade_workbook_is_read_by_fastexcel(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "w.xlsx", {"Online Retail": [HEADER, *ROWS], "Other": [["x"]]})
    reader = fastexcel.read_excel(str(path))
    assert reader.sheet_names == ["Online Retail", "Other"]
    frame = reader.load_sheet("Online Retail").to_pandas()
    assert list(frame.columns) == list(EXPECTED_COLUMNS)
    assert len(frame) == 5
    assert frame["InvoiceNo"].tolist() == ["536365", "536365", "536366", "C536379", "536414"]
    assert frame["StockCode"].iloc[0] == "85123A"
    assert frame["Quantity"].tolist() == [6, 6, 6, -1, 56]
    assert frame["UnitPrice"].tolist() == pytest.approx([2.55, 3.39, 1.85, 27.5, 0.0])
    assert frame["InvoiceDate"].iloc[0] == dt.datetime(2010, 12, 1, 8, 26)
    assert frame["InvoiceDate"].iloc[4] == dt.datetime(2010, 12, 1, 11, 52)
    assert frame["Description"].isna().tolist() == [False, False, False, False, True]
    assert frame["CustomerID"].iloc[0] == 17850
    assert frame["Country"].iloc[4] == "France"


def test_excel_serial_matches_known_values() -> None:
    assert excel_serial(dt.date(1900, 3, 1)) == 61
    assert excel_serial(dt.datetime(2010, 12, 1, 12, 0)) == 40513.5


# --- success -------------------------------------------------------------------------------


def test_fetch_success_writes_the_workbook(server: Server, dest: Path) -> None:
    workbook = retail_xlsx()
    server.routes["/online+retail.zip"] = make_zip({MEMBER: workbook, "notes.txt": b"hi"})

    rows = fetch_online_retail(dest, url=server.url("/online+retail.zip"), expected_rows=5)

    assert rows == 5
    assert dest.read_bytes() == workbook
    assert leftovers(dest) == []
    assert server.requests == ["/online+retail.zip"]


def test_fetch_success_without_row_check_overwrites_old_file(server: Server, dest: Path) -> None:
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"old")
    workbook = retail_xlsx(ROWS[:3])
    server.routes["/a.zip"] = make_zip({MEMBER: workbook})

    assert fetch_online_retail(dest, url=server.url("/a.zip"), expected_rows=None) == 3
    assert dest.read_bytes() == workbook
    assert leftovers(dest) == []


# --- failures: nothing is written, nothing is left behind ----------------------------------


def test_http_404_raises_user_error(server: Server, dest: Path) -> None:
    url = server.url("/missing.zip")
    with pytest.raises(UserError) as info:
        fetch_online_retail(dest, url=url, expected_rows=5)
    message = str(info.value)
    assert "404" in message
    assert url in message
    assert not dest.exists()
    assert leftovers(dest) == []


def test_a_failed_download_leaves_no_folder_of_its_own(server: Server, tmp_path: Path) -> None:
    nested = tmp_path / "new" / "raw" / "online-retail.xlsx"
    with pytest.raises(UserError, match="404"):
        fetch_online_retail(nested, url=server.url("/missing.zip"), expected_rows=5)
    assert not (tmp_path / "new").exists()


def test_truncated_zip_is_not_a_valid_zip(server: Server, dest: Path) -> None:
    whole = make_zip({MEMBER: retail_xlsx()})
    server.routes["/half.zip"] = whole[: len(whole) // 2]
    with pytest.raises(UserError, match="not a valid zip"):
        fetch_online_retail(dest, url=server.url("/half.zip"), expected_rows=5)
    assert not dest.exists()
    assert leftovers(dest) == []


def test_corrupt_member_data_is_not_a_valid_zip(server: Server, dest: Path) -> None:
    whole = bytearray(make_zip({MEMBER: retail_xlsx()}))
    # Damage the compressed data of the member (just after its local header and name).
    start = 30 + len(MEMBER.encode())
    for i in range(start + 10, start + 60):
        whole[i] ^= 0xFF
    server.routes["/bad.zip"] = bytes(whole)
    with pytest.raises(UserError, match="not a valid zip"):
        fetch_online_retail(dest, url=server.url("/bad.zip"), expected_rows=5)
    assert not dest.exists()
    assert leftovers(dest) == []


def test_zip_without_the_workbook_names_the_missing_member(server: Server, dest: Path) -> None:
    server.routes["/other.zip"] = make_zip({"readme.txt": b"nothing here"})
    with pytest.raises(UserError) as info:
        fetch_online_retail(dest, url=server.url("/other.zip"), expected_rows=5)
    message = str(info.value)
    assert repr(MEMBER) in message
    assert "readme.txt" in message
    assert not dest.exists()
    assert leftovers(dest) == []


def test_empty_zip_says_it_holds_nothing(server: Server, dest: Path) -> None:
    server.routes["/empty.zip"] = make_zip({})
    with pytest.raises(UserError, match="holds nothing"):
        fetch_online_retail(dest, url=server.url("/empty.zip"), expected_rows=5)
    assert not dest.exists()


def test_workbook_with_wrong_columns(server: Server, dest: Path) -> None:
    header = [*HEADER[:-1], "Region"]
    server.routes["/cols.zip"] = make_zip({MEMBER: retail_xlsx(header=header)})
    with pytest.raises(UserError) as info:
        fetch_online_retail(dest, url=server.url("/cols.zip"), expected_rows=5)
    message = str(info.value)
    assert "Region" in message
    assert "differ from the Online Retail layout" in message
    assert not dest.exists()
    assert leftovers(dest) == []


def test_workbook_with_wrong_sheet_name(server: Server, dest: Path) -> None:
    server.routes["/sheet.zip"] = make_zip({MEMBER: retail_xlsx(sheet="Year 2010-2011")})
    with pytest.raises(UserError, match="has no sheet 'Online Retail'"):
        fetch_online_retail(dest, url=server.url("/sheet.zip"), expected_rows=5)
    assert not dest.exists()
    assert leftovers(dest) == []


def test_workbook_with_wrong_row_count_default_expectation(server: Server, dest: Path) -> None:
    server.routes["/rows.zip"] = make_zip({MEMBER: retail_xlsx()})
    with pytest.raises(UserError) as info:
        fetch_online_retail(dest, url=server.url("/rows.zip"))  # expects 541,909 rows
    message = str(info.value)
    assert "has 5 rows, expected 541,909" in message
    assert not dest.exists()
    assert leftovers(dest) == []


def test_workbook_with_wrong_row_count_explicit(server: Server, dest: Path) -> None:
    server.routes["/rows.zip"] = make_zip({MEMBER: retail_xlsx(ROWS[:4])})
    with pytest.raises(UserError, match="has 4 rows, expected 5"):
        fetch_online_retail(dest, url=server.url("/rows.zip"), expected_rows=5)
    assert not dest.exists()


def test_member_that_is_not_a_workbook(server: Server, dest: Path) -> None:
    server.routes["/junk.zip"] = make_zip({MEMBER: b"this is not a spreadsheet"})
    with pytest.raises(UserError, match="not a readable Excel workbook"):
        fetch_online_retail(dest, url=server.url("/junk.zip"), expected_rows=5)
    assert not dest.exists()
    assert leftovers(dest) == []


def test_connection_dropped_mid_download(server: Server, dest: Path) -> None:
    server.truncated["/drop.zip"] = make_zip({MEMBER: retail_xlsx()})
    with pytest.raises(UserError):
        fetch_online_retail(dest, url=server.url("/drop.zip"), expected_rows=5, timeout=5)
    assert not dest.exists()
    assert leftovers(dest) == []


# --- protocol errors, odd URLs and odd sheets ---


def test_chunked_download_cut_off_is_a_user_error(server: Server, dest: Path) -> None:
    server.chunked_cut["/cut.zip"] = make_zip({MEMBER: retail_xlsx()})
    with pytest.raises(UserError, match=r"Cannot download|not a valid zip"):
        fetch_online_retail(dest, url=server.url("/cut.zip"), expected_rows=5, timeout=5)
    assert not dest.exists()


def test_non_http_server_is_a_user_error(dest: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    port = listener.getsockname()[1]

    def answer_garbage() -> None:
        with listener:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        with pytest.raises(UserError, match="Cannot download"):
            fetch_online_retail(dest, url=f"http://127.0.0.1:{port}/x.zip", timeout=5)
    finally:
        thread.join(timeout=5)
    assert not dest.exists()


def test_url_without_scheme_is_a_user_error(dest: Path) -> None:
    with pytest.raises(UserError, match=r"'example.com/online\+retail.zip' is not a URL"):
        fetch_online_retail(dest, url="example.com/online+retail.zip", timeout=2)
    assert not dest.exists()


@pytest.mark.parametrize(
    "sheet_rows", [[], [[None, *HEADER]]], ids=["empty-sheet", "first-column-empty"]
)
def test_odd_sheet_is_a_user_error(
    server: Server, dest: Path, sheet_rows: list[list[object]]
) -> None:
    server.routes["/odd.zip"] = make_zip({MEMBER: xlsx_bytes({"Online Retail": sheet_rows})})
    with pytest.raises(UserError, match=r"'Online Retail.xlsx' from http://127.0.0.1:\d+/odd.zip"):
        fetch_online_retail(dest, url=server.url("/odd.zip"), expected_rows=5)
    assert not dest.exists()


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/missing.zip", None),
        ("/half.zip", b"PK\x03\x04 truncated"),
        ("/other.zip", make_zip({"readme.txt": b"x"})),
        ("/rows.zip", make_zip({MEMBER: retail_xlsx(ROWS[:2])})),
    ],
)
def test_existing_dest_is_untouched_on_failure(
    server: Server, dest: Path, path: str, content: bytes | None
) -> None:
    if content is not None:
        server.routes[path] = content
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"old")
    before = dest.stat().st_mtime_ns
    with pytest.raises(UserError):
        fetch_online_retail(dest, url=server.url(path), expected_rows=5)
    assert dest.read_bytes() == b"old"
    assert dest.stat().st_mtime_ns == before
    assert leftovers(dest) == []


def test_connection_refused_is_quick_and_says_offline(dest: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/online+retail.zip"
    started = time.monotonic()
    with pytest.raises(UserError) as info:
        fetch_online_retail(dest, url=url, expected_rows=5, timeout=2)
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert message.startswith(f"Cannot download {url}")
    assert "the network may be offline" in message
    assert "refused" in message.lower()
    assert elapsed < 5
    assert not dest.exists()
    assert leftovers(dest) == []


# --- the command line ----------------------------------------------------------------------


def _custseg_command() -> list[str]:
    script = Path(sys.executable).with_name("custseg")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from custseg.cli import main; main()"]


def test_cli_download_404_exits_2(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "raw" / "online-retail.xlsx"
    url = server.url("/missing.zip")
    result = subprocess.run(
        [*_custseg_command(), "download", "--dest", str(dest), "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "error:" in result.stderr
    assert "404" in result.stderr
    assert url in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not dest.exists()
    assert leftovers(dest) == []


def test_cli_download_rejects_a_small_workbook(server: Server, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    dest = tmp_path / "raw" / "online-retail.xlsx"
    # The CLI always expects the full 541,909 rows, so a small archive must be rejected.
    server.routes["/small.zip"] = make_zip({MEMBER: retail_xlsx()})
    result = CliRunner().invoke(
        app, ["download", "--dest", str(dest), "--url", server.url("/small.zip")]
    )
    assert result.exit_code == 2
    assert "has 5 rows, expected 541,909" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not dest.exists()
