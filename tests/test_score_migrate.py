"""Scoring new orders with a saved model, and migration between two snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app
from custseg.migration import NEW, migration_matrix, movers

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_scoring_the_training_data_reproduces_the_run(synthetic: Path, tmp_path: Path) -> None:
    trained = _run("run", str(synthetic), "--out", str(tmp_path / "run"), "--k", "4")
    assert trained.exit_code == 0, trained.output
    scored = _run(
        "score",
        str(synthetic),
        "--model",
        str(tmp_path / "run" / "model.json"),
        "--out",
        str(tmp_path / "scored"),
    )
    assert scored.exit_code == 0, scored.output
    before = (tmp_path / "run" / "customers.csv").read_text()
    after = (tmp_path / "scored" / "customers.csv").read_text()
    assert after == before  # same layout, same assignments, byte for byte
    log = json.loads((tmp_path / "scored" / "score_log.json").read_text())
    assert log["note"].startswith("scored with the saved scaler")


def test_scoring_uses_the_models_cleaning_and_refuses_a_foreign_model(
    tiny_csv: Path, tmp_path: Path
) -> None:
    trained = _run(
        "run", str(tiny_csv), "--out", str(tmp_path / "run"), "--k", "2", "--drop-duplicates"
    )
    assert trained.exit_code == 0, trained.output
    model = tmp_path / "run" / "model.json"
    scored = _run("score", str(tiny_csv), "--model", str(model), "--out", str(tmp_path / "s"))
    assert scored.exit_code == 0, scored.output
    quality = json.loads((tmp_path / "s" / "data_quality.json").read_text())
    assert quality["dropped"]["duplicate_row"] == 1  # the model's rule, not the default
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"format": "something-else/1"}')
    bad = _run("score", str(tiny_csv), "--model", str(foreign), "--out", str(tmp_path / "x"))
    assert bad.exit_code == 2
    assert "is not a custseg model" in bad.output
    assert not (tmp_path / "x").exists()


def test_migration_matrix_and_movers_by_hand() -> None:
    before = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "persona": ["Champions", "Champions", "Loyal", "Lost"],
            "recency_days": [1, 2, 3, 300],
            "frequency": [9, 8, 7, 1],
            "monetary": [900.0, 800.0, 700.0, 10.0],
        }
    )
    after = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "persona": ["Champions", "At Risk", "Loyal", "Lost", "Lost"],
            "recency_days": [5, 120, 4, 390, 30],
            "frequency": [10, 8, 8, 1, 1],
            "monetary": [950.0, 800.0, 720.0, 10.0, 5.0],
        }
    )
    order = ["Champions", "Loyal", "At Risk", "Lost"]
    matrix = migration_matrix(before, after, order)
    assert matrix.to_dict("records") == [
        {"from_persona": "Champions", "to_persona": "Champions", "customers": 1, "share": 0.5},
        {"from_persona": "Champions", "to_persona": "At Risk", "customers": 1, "share": 0.5},
        {"from_persona": "Loyal", "to_persona": "Loyal", "customers": 1, "share": 1.0},
        {"from_persona": "Lost", "to_persona": "Lost", "customers": 1, "share": 1.0},
        {"from_persona": NEW, "to_persona": "Lost", "customers": 1, "share": 1.0},
    ]
    moved = movers(before, after)
    assert moved["customer_id"].tolist() == ["b"]
    assert moved.loc[0, "recency_days_before"] == 2 and moved.loc[0, "recency_days_after"] == 120


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


def test_holdout_table_by_hand() -> None:
    from custseg.migration import holdout_table

    before = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "persona": ["Champions", "Champions", "Lost"],
            "frequency": [5, 3, 1],
            "monetary": [500.0, 300.0, 10.0],
        }
    )
    full = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "frequency": [7, 3, 1, 2],
            "monetary": [700.0, 300.0, 10.0, 9.0],
        }
    )
    table = holdout_table(before, full, ["Champions", "Lost"])
    assert table.to_dict("records") == [
        {
            "persona": "Champions",
            "customers": 2,
            "bought_again": 0.5,
            "holdout_orders_mean": 1.0,
            "holdout_spend_mean": 100.0,
        },
        {
            "persona": "Lost",
            "customers": 1,
            "bought_again": 0.0,
            "holdout_orders_mean": 0.0,
            "holdout_spend_mean": 0.0,
        },
    ]
