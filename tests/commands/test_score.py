"""custseg score: a new file's customers assigned with a saved model, no refit."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app

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
    assert "warnings" not in log  # its own customers lie where the model's do


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
    # A crafted model: a scale of 1e308 would put every customer in one persona (exit 0).
    crafted = json.loads(model.read_text())
    crafted["scaler"]["scale"][0] = 1e308
    (tmp_path / "crafted.json").write_text(json.dumps(crafted))
    bad = _run(
        "score",
        str(tiny_csv),
        "--model",
        str(tmp_path / "crafted.json"),
        "--out",
        str(tmp_path / "x"),
    )
    assert bad.exit_code == 2 and "malformed or out of range" in bad.output
    # A file far larger than any model is not read at all.
    (tmp_path / "huge.json").write_bytes(b" " * (11 << 20))
    bad = _run(
        "score", str(tiny_csv), "--model", str(tmp_path / "huge.json"), "--out", str(tmp_path / "x")
    )
    assert bad.exit_code == 2 and "is over 10 MB; a custseg model is well under that" in bad.output


def test_customers_far_from_the_models_are_scored_with_a_warning(
    synthetic: Path, tmp_path: Path
) -> None:
    trained = _run("run", str(synthetic), "--out", str(tmp_path / "run"), "--k", "4")
    assert trained.exit_code == 0, trained.output
    model = tmp_path / "run" / "model.json"
    # The same orders priced in a currency worth a hundredth (yen for pounds, say).
    yen = tmp_path / "yen.parquet"
    duckdb.execute(
        f"COPY (SELECT * REPLACE (UnitPrice * 100 AS UnitPrice) FROM '{synthetic}') TO '{yen}'"
    )
    scored = _run("score", str(yen), "--model", str(model), "--out", str(tmp_path / "s"))
    assert scored.exit_code == 0, scored.output  # scored all the same, and said
    log = json.loads((tmp_path / "s" / "score_log.json").read_text())
    # The spend's shift, from the model's scaler and the scored spends, computed here.
    scaler = json.loads(model.read_text())["scaler"]
    spend = pd.read_csv(tmp_path / "s" / "customers.csv")["monetary"].to_numpy()
    shift = (np.log1p(spend).mean() - scaler["mean"][2]) / scaler["scale"][2]
    assert shift > 1.5
    assert log["warnings"] == [
        f"The {len(spend):,} customers of {yen} differ from those the model was fitted on "
        f"({model}): spend {shift:.1f} standard deviations above theirs (on the log1p scale "
        "the model clusters on). Its segments may not mean the same here (another shop, "
        "another currency?): check the model, or segment these customers with custseg run."
    ]
    assert "differ from those the model was fitted on" in " ".join(scored.output.split())
    # migrate with that model says it of each snapshot, in its log and its page.
    moved = _run(
        "migrate",
        str(yen),
        "--model",
        str(model),
        "--as-of",
        "2011-09-01",
        "--as-of",
        "2011-12-10",
        "--out",
        str(tmp_path / "m"),
    )
    assert moved.exit_code == 0, moved.output
    warnings = json.loads((tmp_path / "m" / "migration_log.json").read_text())["warnings"]
    assert len(warnings) == 2 and all("spend" in w for w in warnings)
    assert "<p>Warning: The " in (tmp_path / "m" / "migration.html").read_text()


def test_without_model_score_takes_the_newer_default_model_and_says_so(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import shutil

    monkeypatch.chdir(tmp_path)
    missing = _run("score", str(synthetic))
    assert missing.exit_code == 2
    assert " ".join(missing.output.split()) == (
        "error: No model at models/model.json (make run copies one there) nor at "
        "data/processed/model.json (where custseg run writes one): run custseg run first, or "
        "name a model.json with --model."
    )
    # custseg run writes data/processed/model.json (make run also copies it to models/).
    assert _run("run", str(synthetic), "--k", "4").exit_code == 0
    scored = _run("score", str(synthetic))
    assert scored.exit_code == 0, scored.output
    assert (
        "model data/processed/model.json (no --model given; models/model.json is absent)"
        in " ".join(scored.stderr.split())
    )
    # make run's copy: the same model, taken (a tie in time goes to models/).
    Path("models").mkdir()
    shutil.copy2("data/processed/model.json", "models/model.json")
    same = _run("score", str(synthetic))
    said = " ".join(same.stderr.split())
    assert (
        "model models/model.json (no --model given; data/processed/model.json is the same" in said
    )
    # An older make run on other data (here: another k) must not win over the last run.
    assert _run("run", str(synthetic), "--k", "3").exit_code == 0
    stamp = Path("data/processed/model.json").stat().st_mtime
    os.utime("models/model.json", (stamp - 60, stamp - 60))
    newer = _run("score", str(synthetic), "-q")
    assert newer.exit_code == 0, newer.output
    # A warning: shown under -q too.
    assert "model using data/processed/model.json, the newer of the two default models " in (
        " ".join(newer.stderr.split())
    )
    assert json.loads(Path("data/scored/score_log.json").read_text())["model"] == (
        "data/processed/model.json"
    )
    scored = _run("score", str(synthetic))
    # The summary lists the personas in the model's order, as the log line does.
    log = next(line for line in scored.stderr.splitlines() if line.startswith("score "))
    said = log.split("(no refit): ")[1].rsplit(" (", 1)[0]
    customers = len(pd.read_csv("data/scored/customers.csv"))
    assert said.startswith("Champions ")
    assert scored.stdout.strip() == f"{customers:,} customers scored: {said}"
