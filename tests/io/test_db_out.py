"""--to-db: results in one transaction, every run kept, a schema version, never half a write."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app
from tests.postgres import PASSWORD

runner = CliRunner()


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from custseg.synth import generate_orders

    path = tmp_path_factory.mktemp("lines") / "lines.parquet"
    generate_orders(300, 3)[0].to_parquet(path, index=False)
    return path


def _tables(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    counts = {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
    con.close()
    return counts


def test_every_command_writes_its_tables_and_every_run_is_kept(lines: Path, tmp_path: Path) -> None:
    db = tmp_path / "results.db"
    url = f"sqlite:///{db}"
    for n in (1, 2):
        result = runner.invoke(app, ["run", str(lines), "--out", str(tmp_path / f"r{n}"),
                                     "--to-db", url, "-q"])  # fmt: skip
        assert result.exit_code == 0, result.output
    customers = pd.read_csv(tmp_path / "r2" / "customers.csv", dtype={"customer_id": str})
    counts = _tables(db)
    assert counts["custseg_schema"] == 1 and counts["custseg_runs"] == 2
    assert counts["custseg_customers"] == len(customers)  # the latest run's, replaced
    assert counts["custseg_persona_history"] == 2 * len(customers)  # every run's, kept
    con = sqlite3.connect(db)
    stored = pd.read_sql("SELECT * FROM custseg_customers", con)
    runs = pd.read_sql("SELECT * FROM custseg_runs ORDER BY recorded_at", con)
    assert stored["run_id"].unique().tolist() == [runs["run_id"].iloc[-1]]
    pd.testing.assert_series_equal(stored["persona"], customers["persona"], check_names=False)
    assert stored["monetary"].round(6).tolist() == customers["monetary"].round(6).tolist()
    assert runs["k"].tolist() == [int(runs["k"].iloc[0])] * 2
    assert con.execute("SELECT version FROM custseg_schema").fetchone() == (1,)
    con.close()
    # clv, cohorts and migrate write their own tables beside; runs are kept.
    for args in (
        ["clv", str(lines), "--draws", "0"],
        ["cohorts", str(lines)],
        ["migrate", str(lines), "--as-of", "2011-06-01", "--as-of", "2011-12-01"],
    ):
        out = tmp_path / args[0]
        result = runner.invoke(app, [*args, "--out", str(out), "--to-db", url, "-q"])
        assert result.exit_code == 0, (args[0], result.output)
    counts = _tables(db)
    assert counts["custseg_runs"] == 5
    assert counts["custseg_clv"] == len(pd.read_csv(tmp_path / "clv" / "clv.csv"))
    assert counts["custseg_cohorts"] == len(pd.read_csv(tmp_path / "cohorts" / "cohorts.csv"))
    assert counts["custseg_migration"] == len(pd.read_csv(tmp_path / "migrate" / "migration.csv"))
    assert counts["custseg_customers"] == len(customers)  # run's tables untouched


def test_a_newer_schema_is_refused_and_nothing_is_written(lines: Path, tmp_path: Path) -> None:
    db = tmp_path / "results.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE custseg_schema (version INTEGER NOT NULL)")
    con.execute("INSERT INTO custseg_schema VALUES (2)")
    con.commit()
    con.close()
    result = runner.invoke(app, ["run", str(lines), "--out", str(tmp_path / "r"),
                                 "--to-db", f"sqlite:///{db}"])  # fmt: skip
    assert result.exit_code == 2
    assert "follow schema version 2, written by a newer custseg" in result.stderr
    assert _tables(db) == {"custseg_schema": 1}
    result = runner.invoke(app, ["run", str(lines), "--out", str(tmp_path / "s"),
                                 "--to-db", "mysql://x@y/z"])  # fmt: skip
    assert result.exit_code == 2 and "--to-db mysql://x@y/z: give a database URL" in result.stderr
    assert not (tmp_path / "s").exists()  # refused before any work


def test_an_unreachable_database_is_refused_before_any_work(
    lines: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It was found after the whole run: every file written, then exit 2.
    monkeypatch.chdir(tmp_path)
    for url, said in [
        (
            "postgresql://someone@127.0.0.1:1/shop",  # nothing listens on port 1
            "--to-db postgresql://someone@127.0.0.1:1/shop: cannot connect (",
        ),
        (
            "sqlite:///missing/results.db",  # relative: ./missing does not exist
            "--to-db sqlite:///missing/results.db: the folder missing does not exist "
            "(sqlite:///a/b.db is relative to the working folder, sqlite:////a/b.db absolute).",
        ),
        (f"sqlite:///{tmp_path}", f"--to-db sqlite:///{tmp_path}: {tmp_path} is a folder"),
    ]:
        out = tmp_path / "r"
        result = runner.invoke(app, ["run", str(lines), "--out", str(out), "--to-db", url])
        assert result.exit_code == 2, result.output
        assert said in " ".join(result.stderr.split()), result.stderr
        assert "(table custseg_runs)" not in result.stderr
        assert not out.exists()
    # A database file in --out, whose folder the outputs make first: written.
    result = runner.invoke(app, ["run", str(lines), "--out", "r", "--to-db", "sqlite:///r/c.db"])
    assert result.exit_code == 0, result.output
    assert _tables(tmp_path / "r" / "c.db")["custseg_runs"] == 1


KILLED = """
import os, signal, sys
import custseg.io.db_out as out

real, seen = out._arrow, []

def arrow(frame, run_id):
    seen.append(run_id)
    if len(seen) == 2:  # custseg_customers is in, custseg_segments not yet: die here
        os.kill(os.getpid(), signal.SIGKILL)
    return real(frame, run_id)

out._arrow = arrow
from custseg.cli import app
app(sys.argv[1:])
"""


def test_a_write_killed_midway_leaves_the_previous_results_whole(
    postgres, lines: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import adbc_driver_postgresql.dbapi as pg

    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    url = postgres.url()
    with pg.connect(url) as conn, conn.cursor() as cur:  # a clean database
        for table in ("runs", "persona_history", "customers", "segments", "k_selection",
                      "schema"):  # fmt: skip
            cur.execute(f"DROP TABLE IF EXISTS custseg_{table}")
        conn.commit()
    for n, k in ((1, "3"), (2, "4")):
        result = runner.invoke(app, ["run", str(lines), "--out", str(tmp_path / f"r{n}"),
                                     "--k", k, "--to-db", url, "-q"])  # fmt: skip
        assert result.exit_code == 0, result.output
    args = ["run", str(lines), "--out", str(tmp_path / "r3"), "--k", "5", "--to-db", url]
    third = subprocess.run(
        [sys.executable, "-c", KILLED, *args, "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, "PGPASSWORD": PASSWORD},
        check=False,
    )
    assert third.returncode == -9, third.stderr
    second = pd.read_csv(tmp_path / "r2" / "segments.csv")
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT run_id, k FROM custseg_runs ORDER BY recorded_at")
        runs = cur.fetchall()
        cur.execute("SELECT DISTINCT run_id FROM custseg_customers")
        customers_run = cur.fetchall()
        cur.execute("SELECT count(*) FROM custseg_segments")
        segments = cur.fetchone()
        cur.execute("SELECT count(DISTINCT run_id) FROM custseg_persona_history")
        history = cur.fetchone()
    assert [k for _, k in runs] == [3, 4]  # the killed third run left no trace
    assert customers_run == [(runs[1][0],)]
    assert segments == (len(second),) and history == (2,)
