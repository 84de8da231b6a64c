"""Every command reads the order lines once (run_log.json's input_scans), on the real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg.cli import app

pytestmark = pytest.mark.realdata

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], out: Path) -> None:
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(app, [*args, "--out", str(out), "--quiet"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("source", ["parquet", "xlsx"])
def test_one_scan_for_each_command(
    source: str, real_parquet: Path, real_xlsx: Path, tmp_path: Path
) -> None:
    data = str(real_parquet if source == "parquet" else real_xlsx)
    cache = ["--no-cache"] if source == "xlsx" else []
    _run(["run", data, *cache], tmp_path / "run")
    _run(["clv", data, "--calibration-end", "2011-09-09", *cache], tmp_path / "clv")
    _run(["cohorts", data, *cache], tmp_path / "cohorts")
    model = str(tmp_path / "run" / "model.json")
    _run(["score", data, "--model", model, *cache], tmp_path / "score")
    # Two snapshots, and a model fitted on the first with its holdout check: one scan.
    _run(
        ["migrate", data, "--as-of", "2011-06-01", "--as-of", "2011-12-10", *cache], tmp_path / "m"
    )
    logs = {
        "run": tmp_path / "run" / "run_log.json",
        "clv": tmp_path / "clv" / "run_log.json",
        "cohorts": tmp_path / "cohorts" / "run_log.json",
        "score": tmp_path / "score" / "score_log.json",
        "migrate": tmp_path / "m" / "migration_log.json",
    }
    scans = {name: json.loads(path.read_text())["input_scans"] for name, path in logs.items()}
    assert scans == dict.fromkeys(logs, 1)
    run_log = json.loads(logs["run"].read_text())
    assert run_log["engine"] == "duckdb"
    assert run_log["workbook_cache"] == ("not a workbook" if source == "parquet" else "off")
