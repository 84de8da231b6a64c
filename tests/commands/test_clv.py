"""custseg clv end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest


def test_clv_command(synthetic: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    out = tmp_path / "clv"
    result = CliRunner().invoke(
        app, ["clv", str(synthetic), "--calibration-end", "2011-09-09", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} - {".custseg-outputs.json"} == {
        "clv.csv",
        "clv_personas.csv",
        "clv_params.json",
        "backtest.csv",
        "clv.html",
        "run_log.json",
        "audiences",
    }
    assert json.loads((out / "run_log.json").read_text())["input_scans"] == 1
    params = json.loads((out / "clv_params.json").read_text())
    assert params["horizon_days"] == 90 and params["calibration_end"] == "2011-09-09"
    table = pd.read_csv(out / "clv.csv")
    personas = pd.read_csv(out / "clv_personas.csv")
    assert personas["customers"].sum() == len(table)
    assert personas["expected_revenue"].sum() == pytest.approx(table["expected_revenue"].sum())
    assert list(pd.read_csv(out / "backtest.csv")["method"]) == [
        "bg_nbd_gamma_gamma",
        "baseline_rate",
        "baseline_calibration_revenue",
    ]
    bad = CliRunner().invoke(
        app, ["clv", str(synthetic), "--calibration-end", "1999-01-01", "--out", str(out)]
    )
    assert bad.exit_code == 2 and "is outside the purchase days" in bad.output
    # The backtest compares whole --horizon windows: a window the data does not cover is
    # refused with the latest calibration end that works.
    short = CliRunner().invoke(
        app, ["clv", str(synthetic), "--calibration-end", "2011-12-01", "--out", str(out)]
    )
    assert short.exit_code == 2
    assert "--calibration-end 2011-12-01 leaves 8 day(s) of purchases" in short.output
    assert "choose a calibration end on or before 2011-09-10 or a shorter --horizon" in short.output
