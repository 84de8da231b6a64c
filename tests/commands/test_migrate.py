"""custseg migrate: two snapshots of one input, one model, who moved where."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app
from custseg.migration import NEW

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_migrate_command(synthetic: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    result = _run(
        "migrate",
        str(synthetic),
        "--as-of",
        "2011-09-01",
        "--as-of",
        "2011-12-10",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    matrix = pd.read_csv(out / "migration.csv")
    log = json.loads((out / "migration_log.json").read_text())
    assert matrix["customers"].sum() == log["customers_after"]
    new = matrix.loc[matrix["from_persona"] == NEW, "customers"].sum()
    assert new == log["customers_after"] - log["customers_before"]
    shares = matrix.groupby("from_persona")["share"].sum()
    assert ((shares - 1).abs() < 1e-3).all()
    html = (out / "migration.html").read_text()
    assert "Sankey" in html or "sankey" in html
    assert 'src="http' not in html
    wrong = _run(
        "migrate",
        str(synthetic),
        "--as-of",
        "2011-12-10",
        "--as-of",
        "2011-09-01",
        "--out",
        str(tmp_path / "w"),
    )
    assert wrong.exit_code == 2 and "must come before" in wrong.output


@pytest.mark.parametrize("count", [1, 3])
def test_migrate_needs_two_dates(synthetic: Path, tmp_path: Path, count: int) -> None:
    args = [a for _ in range(count) for a in ("--as-of", "2011-09-01")]
    result = _run("migrate", str(synthetic), *args, "--out", str(tmp_path / "m"))
    assert result.exit_code == 2 and "--as-of must be given twice" in result.output
