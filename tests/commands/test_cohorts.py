"""custseg cohorts: personas fitted as run fits them, or a saved model's without refitting."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from custseg.cli import app
from custseg.cohorts import PERSONA_CURVES, headline


def test_personas_from_a_saved_model_need_no_fit(synthetic: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(synthetic), "--out", str(tmp_path / "run"), "-q"])
    assert ran.exit_code == 0, ran.output
    model = tmp_path / "run" / "model.json"
    got = runner.invoke(
        app, ["cohorts", str(synthetic), "--model", str(model), "--out", str(tmp_path / "c")]
    )
    assert got.exit_code == 0, got.output
    log = json.loads((tmp_path / "c" / "run_log.json").read_text())
    assert log["personas"] == f"assigned by the model {model} (no refit)"
    assert log["input_scans"] == 1 and "k-select" not in log["seconds"]
    # The same personas as the run's own cohort curves: the model is the run's.
    assert (tmp_path / "c" / "cohort_personas.csv").read_text() == (
        tmp_path / "run" / "cohort_personas.csv"
    ).read_text()
    assert (tmp_path / "c" / "cohorts.csv").read_text() == (
        tmp_path / "run" / "cohorts.csv"
    ).read_text()
    # The page says what it shows: the input, the as-of date, where the personas came from
    # and the headline the command printed.
    page = (tmp_path / "c" / "cohorts.html").read_text()
    as_of = json.loads(model.read_text())["as_of"].replace("T", " ")[:16]
    assert (
        f"<p class='meta'>Input {synthetic}, as of {as_of}; personas assigned by the model "
        f"{model} (no refit).</p>" in page
    )
    said = headline(pd.read_csv(tmp_path / "c" / "cohorts.csv"))
    assert said.replace("'", "&#x27;") in page and said in " ".join(got.output.split())
    assert f"<p class='muted'>{html.escape(PERSONA_CURVES)}</p>" in page  # under the curves
    # With a model, scikit-learn is not even imported.
    code = (
        "import sys; from custseg.commands.cohorts import cohorts; "
        "from custseg.config import Settings; "
        f"cohorts({str(synthetic)!r}, Settings(), model_path=__import__('pathlib').Path("
        f"{str(model)!r})); import time; time.sleep(0.5); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fitted_personas_score_only_where_the_auto_rule_chooses_and_say_so(
    synthetic: Path, tmp_path: Path
) -> None:
    # --k-min 2 --k-max 10 is run's range; cohorts writes no k table, so it scores only the
    # business range 3..8 inside it, and its log says why (it said "scored k=3..8" alone).
    got = CliRunner().invoke(
        app, ["cohorts", str(synthetic), "--k-min", "2", "--k-max", "10", "--out", str(tmp_path)]
    )
    assert got.exit_code == 0, got.output
    said = " ".join(got.stderr.split())
    assert (
        "k-select scored k=3..8 (only where the auto rule chooses: no k table is written); "
        "k=" in said
    )
