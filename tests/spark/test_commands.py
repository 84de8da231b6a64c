"""Every command runs on Spark when asked, says so, and tells DuckDB's story."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app

pytestmark = pytest.mark.spark


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _both(command: str, data: Path, tmp_path: Path, *extra: str) -> tuple[Path, Path, str]:
    local, remote = tmp_path / f"{command}-duckdb", tmp_path / f"{command}-spark"
    _run(command, str(data), *extra, "--out", str(local), "--quiet")
    log = _run(command, str(data), *extra, "--out", str(remote), "--engine", "spark")
    assert f"engine   {command} runs on Apache Spark" in log
    return local, remote, log


def test_score_migrate_clv_and_cohorts_on_spark(spark, synthetic: Path, tmp_path: Path) -> None:
    _run("run", str(synthetic), "--out", str(tmp_path / "run"), "--k", "4", "--quiet")
    model = str(tmp_path / "run" / "model.json")

    local, remote, _ = _both("score", synthetic, tmp_path, "--model", model)
    assert (remote / "customers.csv").read_text() == (local / "customers.csv").read_text()
    assert json.loads((remote / "score_log.json").read_text())["engine"] == "spark"

    dates = ["--as-of", "2011-06-01", "--as-of", "2011-12-10", "--k", "4"]
    local, remote, _ = _both("migrate", synthetic, tmp_path, *dates)
    assert (remote / "migration.csv").read_text() == (local / "migration.csv").read_text()
    assert json.loads((remote / "migration_log.json").read_text())["input_scans"] == 1
    # Too many customers for the driver: refused before anything is fitted (no MLlib sweep).
    small = tmp_path / "small.yml"
    small.write_text("engine:\n  spark_collect_max_customers: 10\n")
    args = ["migrate", str(synthetic), *dates, "--engine", "spark", "--config", str(small)]
    refused = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "refused")])
    assert refused.exit_code == 2, refused.output
    assert "engine.spark_collect_max_customers (10), and custseg migrate" in refused.output
    assert "k-select" not in refused.output and not (tmp_path / "refused").exists()

    local, remote, _ = _both("cohorts", synthetic, tmp_path, "--k", "4")
    assert (remote / "cohorts.csv").read_text() == (local / "cohorts.csv").read_text()
    assert (remote / "cohort_personas.csv").read_text() == (
        local / "cohort_personas.csv"
    ).read_text()
    log = json.loads((remote / "run_log.json").read_text())
    assert log["engine"] == "spark" and log["input_scans"] == 1

    local, remote, _ = _both("clv", synthetic, tmp_path, "--k", "4")
    ours, theirs = pd.read_csv(remote / "clv.csv"), pd.read_csv(local / "clv.csv")
    assert ours["customer_id"].tolist() == theirs["customer_id"].tolist()
    assert ours["persona"].tolist() == theirs["persona"].tolist()
    pd.testing.assert_frame_equal(ours, theirs, rtol=1e-6)
