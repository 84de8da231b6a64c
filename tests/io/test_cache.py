"""The workbook cache: whole copies under unique names, checked on read, rebuilt when damaged."""

import datetime as dt
import logging
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from custseg.config import EngineConfig, Settings
from custseg.io.cache import clear_cache, write_cache
from custseg.session import Session
from tests.io import ONLINE_RETAIL
from tests.xlsx import write_xlsx


def _book(tmp_path: Path) -> Path:
    rows = [
        ["536365", "85123A", "HOLDER", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, "17850", "UK"],
        ["536366", "71053", "LANTERN", 2, dt.datetime(2010, 12, 2, 9, 0), 3.39, "13047", "UK"],
        ["536367", "84406B", "CUPID", 8, dt.datetime(2010, 12, 3, 9, 0), 2.75, "12583", "FR"],
    ]
    path = tmp_path / "book.xlsx"
    write_xlsx(path, {"Orders": [ONLINE_RETAIL, *rows]})
    return path


def _open(path: Path, cache: Path) -> Session:
    return Session(path, Settings(engine=EngineConfig(cache_dir=str(cache))))


def test_a_damaged_copy_is_rebuilt_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    book, cache = _book(tmp_path), tmp_path / "cache"
    first = _open(book, cache)
    assert first.input.cache == "miss"
    expected = first.rfm()
    (copy,) = cache.glob("*.parquet")
    assert (copy.parent / (copy.name + ".sha256")).is_file()
    assert _open(book, cache).input.cache == "hit"
    # Zero the middle of the copy (as a bad disk block or a torn write would).
    data = bytearray(copy.read_bytes())
    data[len(data) // 3 : len(data) // 2] = bytes(len(data) // 2 - len(data) // 3)
    copy.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        again = _open(book, cache)
    assert again.input.cache == "miss"
    assert f"cache    {copy} is incomplete or damaged: rebuilt from the workbook" in caplog.text
    assert again.rfm().equals(expected)
    assert _open(book, cache).input.cache == "hit"
    # A copy without its note (a writer killed before the note) is rebuilt too.
    (copy.parent / (copy.name + ".sha256")).unlink()
    assert _open(book, cache).input.cache == "miss"


def test_concurrent_builders_each_write_their_own_file(tmp_path: Path) -> None:
    table = pa.table({"a": list(range(50_000)), "b": [str(i) for i in range(50_000)]})
    target = tmp_path / "cache" / "book-abc.parquet"
    errors: list[BaseException] = []

    def build() -> None:
        try:
            write_cache(table, target)
        except BaseException as exc:  # pragma: no cover - a failure is the test's
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    from custseg.io.cache import _cache_valid

    assert _cache_valid(target)
    # No temporary file is left behind.
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name, target.name + ".sha256"]


def test_clear_cache_removes_only_custsegs_files(tmp_path: Path) -> None:
    book, cache = _book(tmp_path), tmp_path / "cache"
    _open(book, cache).rfm()
    (cache / "notes.txt").write_text("mine")
    (cache / "my-data.parquet").write_text("mine too")  # a Parquet file of the user's
    (cache / ".orders-0123456789abcdef01234567.parquet.k2x_9ab1.tmp").write_text("")  # ours
    assert clear_cache(cache) == 3
    assert sorted(p.name for p in cache.iterdir()) == ["my-data.parquet", "notes.txt"]
    assert clear_cache(tmp_path / "absent") == 0


def test_the_clear_cache_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    monkeypatch.chdir(tmp_path)
    Path("data/interim").mkdir(parents=True)  # a project folder: its own cache folder
    book = _book(tmp_path)
    _open(book, Path("data/interim/cache")).rfm()
    result = CliRunner().invoke(app, ["clear-cache"])
    assert result.exit_code == 0, result.output
    assert "removed 2 file(s) from data/interim/cache" in result.stderr
    assert list(Path("data/interim/cache").iterdir()) == []


def test_outside_a_project_nothing_is_created_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    work = tmp_path / "anywhere"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    book = _book(tmp_path)
    result = CliRunner().invoke(app, ["run", str(book), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert list(work.iterdir()) == []  # no data/interim here
    assert len(list((tmp_path / "xdg" / "custseg").glob("*.parquet"))) == 1
    result = CliRunner().invoke(app, ["clear-cache"])
    assert "removed 2 file(s) from " + str(tmp_path / "xdg" / "custseg") in result.stderr
