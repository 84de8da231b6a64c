"""Writing outputs: atomically, formula-safe, in pandas' CSV layout."""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.io import atomic_write_text


@pytest.fixture(autouse=True)
def duckdb_writes_every_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every table, however small, through DuckDB: these tests compare it with pandas."""
    from custseg.io import writers

    monkeypatch.setattr(writers, "_SMALL_CSV", 0)


def test_a_small_table_is_written_by_pandas_in_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custseg.io import writers

    frame = pd.DataFrame(
        {
            "id": ["=1+1", " -2", "a\nb", "", "\tx", "7"],
            "n": [1, 2, 3, 4, 5, 6],
            "x": [0.1 + 0.2, 1e16, -0.0, 5e-324, np.nan, 1234.5],
            "flag": [True, False, True, True, False, False],
        }
    )
    by_duckdb = writers.write_csv(frame, tmp_path / "duck.csv").read_bytes()
    called = []
    monkeypatch.setattr(writers, "_SMALL_CSV", 1_000)
    monkeypatch.setattr(writers, "_writer", lambda: called.append(1))
    by_pandas = writers.write_csv(frame, tmp_path / "pandas.csv").read_bytes()
    assert called == []  # DuckDB's connection was not asked for
    assert by_pandas == by_duckdb
    assert by_pandas.splitlines()[1] == b"'=1+1,1,0.30000000000000004,True"


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one\n")
    atomic_write_text(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_csv_exports_neutralise_formulas(tmp_path: Path) -> None:
    from custseg.config import load_settings
    from custseg.io import csv_safe
    from custseg.pipeline import segment, write_outputs

    frame = pd.DataFrame(
        {
            "id": ["=HYPERLINK(1)", "+1", "-2", "@x", "\tt", "\rr", "ok", "12", " \x01=1", "a\nb"],
            "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        }
    )
    assert csv_safe(frame)["id"].tolist() == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
        "'@x",
        "'\tt",
        " r",  # the carriage return becomes a space: nothing left to run
        "ok",
        "12",
        "' \x01=1",  # a formula after whitespace and a control character
        "a b",
    ]
    assert csv_safe(frame)["n"].tolist() == frame["n"].tolist()
    path = tmp_path / "orders.csv"
    rows = [
        f"{i},{cid},2020-01-0{i} 10:00:00,{i},2"
        for i, cid in enumerate(["=1+2", "@SUM(A1)", "plain", "-5"], 1)
    ]
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + "\n".join(rows) + "\n"
    )
    write_outputs(
        segment(path, load_settings(None, {"model": {"k": 2, "k_max": 2}})), tmp_path / "out"
    )
    text = (tmp_path / "out" / "customers.csv").read_text()
    assert "'=1+2," in text and "'@SUM(A1)," in text and "'-5," in text and "\nplain," in text
    assert "\n=1" not in text


text_cells = st.one_of(
    st.none(),
    # Around the writer's cheap first-character test too: "!" (33) is the first character
    # it lets through, "\x1f" a control character below it.
    st.text(alphabet=st.sampled_from(list("ab ,;\"\n\r\x00\x1f!\t=+-@'é")), max_size=6),
    st.sampled_from(["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "'=a", ""]),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            text_cells,
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-9, 9)),
            st.booleans(),
            st.integers(-(2**40), 2**40),
        ),
        min_size=1,
        max_size=12,
    ),
    st.booleans(),
)
def test_the_writer_writes_what_pandas_writes(rows: list[tuple[object, ...]], safe: bool) -> None:
    from custseg.io.writers import csv_safe, write_csv

    frame = pd.DataFrame(rows, columns=["text", "number", "flag", "count"])
    frame["text"] = frame["text"].astype("str")
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(frame, Path(folder) / "t.csv", safe=safe)
        written = path.read_text(encoding="utf-8")
    # With safe, formulas are neutralised in the SQL that writes the file: as csv_safe does.
    expected = (csv_safe(frame) if safe else frame).to_csv(index=False, lineterminator="\n")
    if not safe and any("\r" in str(v) for v in frame["text"]):
        return  # pandas writes a carriage return bare; DuckDB quotes it
    assert written == expected


def test_doubles_are_written_as_pandas_writes_them(tmp_path: Path) -> None:
    from custseg.io.writers import write_csv

    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(size=20_000) * 10.0 ** rng.integers(-12, 20, 20_000),
            [0.0, -0.0, 1e16, 1e15, 1e-5, 1e-4, 0.1 + 0.2, 5e-324, np.inf, -np.inf],
            np.round(rng.uniform(0, 1e6, 20_000), 2),
        ]
    )
    frame = pd.DataFrame({"v": values})
    assert write_csv(frame, tmp_path / "v.csv").read_text() == frame.to_csv(
        index=False, lineterminator="\n"
    )


def test_record_breaks_become_spaces_and_downloads_are_the_same_bytes(tmp_path: Path) -> None:
    from custseg.io.writers import csv_bytes, write_csv

    frame = pd.DataFrame({"customer_id": ["ab\r=2+3", "=1", "", "x\x00y\n-1"], "n": [1, 2, 3, 4]})
    path = write_csv(frame, tmp_path / "c.csv")
    assert path.read_bytes() == b"customer_id,n\nab =2+3,1\n'=1,2\n,3\nx y -1,4\n"
    assert csv_bytes(frame) == path.read_bytes()
    # The pandas path (text mixed with numbers in a column) writes the same cells.
    mixed = pd.DataFrame({"customer_id": ["ab\r=2+3", 7, "\n@x"], "n": [1, 2, 3]})
    assert write_csv(mixed, tmp_path / "m.csv").read_bytes() == (
        b"customer_id,n\nab =2+3,1\n7,2\n' @x,3\n"
    )


HOSTILE_IDS = ["ab\r=2+3", "cd\n+1", "e\x00f", " =SUM(A1)", "\t@x", "\x01-2", "plain", "=1"]


def _hostile_orders(tmp_path: Path) -> Path:
    rows = []
    for i, cid in enumerate(HOSTILE_IDS):
        for j in range(i % 3 + 1):
            rows.append((f"{i}{j}", cid, f"2020-0{1 + j}-1{i} 10:00:00", i + j + 1, 2.0 + i))
    orders = pd.DataFrame(
        rows, columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"]
    )
    orders["InvoiceDate"] = pd.to_datetime(orders["InvoiceDate"])
    source = tmp_path / "orders.parquet"
    orders.to_parquet(source)
    return source


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_csvs(folder: Path) -> dict[str, list[list[str]]]:
    """Check every CSV under ``folder`` is structure- and formula-safe; return the records."""
    import csv

    import duckdb

    found = {}
    for path in sorted(folder.rglob("*.csv")):
        raw = path.read_bytes()
        assert b"\x00" not in raw and b"\r" not in raw, path.name
        with path.open(newline="", encoding="utf-8") as fh:
            records = list(csv.reader(fh))
        width = len(records[0])
        assert all(len(r) == width for r in records), path.name
        count = duckdb.sql(f"SELECT count(*) FROM read_csv('{path}', header=true)").fetchall()
        assert count[0][0] == len(records) - 1, path.name
        for record in records[1:]:
            for cell in record:
                assert (
                    not cell.lstrip("".join(chr(c) for c in range(33))).startswith(
                        ("=", "+", "-", "@")
                    )
                    or cell.startswith("'")
                    or _number(cell)  # -25.3 is a number to a spreadsheet, not a formula
                ), (path.name, cell)
        found[path.relative_to(folder).as_posix()] = records
    return found


SAFE_IDS = ["ab =2+3", "cd +1", "e f", "'=SUM(A1)", "'\t@x", "'\x01-2", "plain", "'=1"]


def test_hostile_ids_through_every_csv_output(tmp_path: Path) -> None:
    from custseg.config import load_settings
    from custseg.pipeline import segment, write_outputs

    source = _hostile_orders(tmp_path)
    out = tmp_path / "out"
    write_outputs(segment(source, load_settings(None, {"model": {"k": 2, "k_max": 2}})), out)
    found = _check_csvs(out)
    assert len(found) >= 8  # customers, segments, k_selection, holdout, cohorts, audiences...
    # Ids are trimmed of spaces when read (" =SUM(A1)" is the customer "=SUM(A1)").
    assert sorted(r[0] for r in found["customers.csv"][1:]) == sorted(SAFE_IDS)


def test_hostile_ids_through_score_clv_and_migrate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    source = _hostile_orders(tmp_path)
    run = CliRunner().invoke(app, ["run", str(source), "--k", "2", "--out", str(tmp_path / "r")])
    assert run.exit_code == 0, run.output
    model = str(tmp_path / "r" / "model.json")
    commands = {
        "score": ["score", str(source), "--model", model],
        "clv": ["clv", str(source), "--draws", "0"],
        "migrate": [
            *("migrate", str(source), "--model", model),
            *("--as-of", "2020-02-01", "--as-of", "2020-04-01"),
        ],
    }
    for name, args in commands.items():
        out = tmp_path / name
        result = CliRunner().invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, (name, result.output)
        found = _check_csvs(out)
        assert found, name
        if name != "migrate":
            table = found["customers.csv" if name == "score" else "clv.csv"]
            assert sorted(r[0] for r in table[1:]) == sorted(SAFE_IDS), name


def test_a_large_table_keeps_its_row_order(tmp_path: Path) -> None:
    from custseg.io.writers import csv_safe, write_csv

    # Big enough for DuckDB to write on several threads; some ids need the formula guard.
    ids = [f"={i}" if i % 1000 == 0 else str(i) for i in range(200_000)]
    frame = pd.DataFrame({"id": pd.array(ids, dtype="str"), "n": range(200_000)})
    written = write_csv(frame, tmp_path / "big.csv").read_text(encoding="utf-8")
    assert written == csv_safe(frame).to_csv(index=False, lineterminator="\n")


def test_a_refused_csv_write_is_an_os_error_with_a_reason(tmp_path: Path) -> None:
    from custseg.errors import UserError
    from custseg.io.writers import staged_folder, write_csv

    frame = pd.DataFrame({"id": pd.array(["a", "=b"], dtype="str"), "n": [1, 2]})
    with pytest.raises(OSError, match="missing") as caught:
        write_csv(frame, tmp_path / "missing" / "t.csv")  # DuckDB's IO error, as an OSError
    assert caught.value.strerror
    # Inside an output folder it ends as one sentence naming the folder, nothing written.
    out = tmp_path / "out"
    with (
        pytest.raises(UserError, match=r"Cannot write to .*out \(--out\): "),
        staged_folder(out, "--out") as stage,
    ):
        write_csv(frame, stage / "sub" / "t.csv")
    assert list(out.iterdir()) == []


def test_an_out_folder_that_cannot_be_written_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custseg.errors import UserError
    from custseg.io import writers

    # As root every folder is writable: the permission is what os.access answers.
    monkeypatch.setattr(writers.os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(UserError) as raised:
        writers.check_out_dir(tmp_path / "input.csv", tmp_path / "new" / "out")
    assert str(raised.value) == (
        f"--out {tmp_path / 'new' / 'out'} cannot be written: {tmp_path} is not writable by "
        "this user; give another folder."
    )
    monkeypatch.undo()
    # A folder the permissions allow that refuses new folders all the same (as root too):
    # found after the whole run, before.
    with pytest.raises(UserError) as raised:
        writers.check_out_dir(tmp_path / "input.csv", Path("/proc/custseg-out"))
    assert str(raised.value).startswith("--out /proc/custseg-out cannot be written: /proc ")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".custseg-probe-")]
    writers.check_out_dir(tmp_path / "input.csv", tmp_path / "fine")  # and leaves no probe
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".custseg-probe-")]
