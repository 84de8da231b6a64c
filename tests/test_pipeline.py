"""custseg.pipeline keeps the names it used to hold; the names that are gone say where to go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_old_imports_keep_working() -> None:
    from custseg.commands.run import segment as new_segment
    from custseg.pipeline import (
        OUTPUT_FILES,
        lifetime_value,
        load_model_file,
        migrate,
        resolve_input,
        score,
        segment,
        write_outputs,
    )

    assert segment is new_segment
    assert "customers.csv" in OUTPUT_FILES
    assert all(callable(f) for f in (lifetime_value, load_model_file, migrate, resolve_input))
    assert callable(score) and callable(write_outputs)


@pytest.mark.parametrize(
    ("name", "replacement"),
    [
        ("stage_orders", "custseg.session.Session"),
        ("holdout_check", "custseg.holdout.holdout_check"),
    ],
)
def test_a_name_that_is_gone_says_where_to_go(name: str, replacement: str) -> None:
    import custseg.pipeline

    with pytest.raises(ImportError, match=f"custseg.pipeline.{name} is gone; use {replacement}"):
        getattr(custseg.pipeline, name)
    with pytest.raises(AttributeError):
        custseg.pipeline.no_such_name  # noqa: B018


def test_old_signatures_still_work(synthetic: Path, tmp_path: Path) -> None:
    from custseg.config import Settings
    from custseg.errors import UserError
    from custseg.pipeline import (
        load_model_file,
        score_with_model,
        segment,
        write_cohorts,
        write_outputs,
    )

    result = segment(synthetic, Settings())
    write_outputs(result, tmp_path / "run")
    # write_cohorts took the run's result; it still does.
    written = write_cohorts(result, tmp_path / "cohorts")
    assert [p.name for p in written] == [
        "cohorts.csv", "cohort_personas.csv", "cohorts.html", "run_log.json"
    ]  # fmt: skip
    assert (tmp_path / "cohorts" / "cohorts.csv").read_bytes() == (
        tmp_path / "run" / "cohorts.csv"
    ).read_bytes()
    # score_with_model took model.json as a plain dict; it still does.
    model, _ = load_model_file(tmp_path / "run" / "model.json")
    record = json.loads((tmp_path / "run" / "model.json").read_text())
    scored = score_with_model(synthetic, model, record, Settings(), "model.json")
    assert scored.customers["persona"].tolist() == result.customers["persona"].tolist()
    # A scoring result has no cohort tables: one sentence, nothing written.
    with pytest.raises(UserError, match="a scoring result has none"):
        write_cohorts(scored, tmp_path / "none")
    assert not (tmp_path / "none").exists()
