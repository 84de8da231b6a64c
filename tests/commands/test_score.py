"""custseg score: a new file's customers assigned with a saved model, no refit."""

from __future__ import annotations

import json
from pathlib import Path

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
