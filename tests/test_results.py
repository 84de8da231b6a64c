"""The records: each file's layout in one place, read back the same, readable like the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custseg.config import load_settings
from custseg.io.writers import json_text
from custseg.results import ModelRecord, QualityRecord, RunLog


@pytest.fixture(scope="module")
def run(synthetic: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from custseg.commands.run import segment, write_outputs

    out = tmp_path_factory.mktemp("records")
    write_outputs(segment(synthetic, load_settings(None, {"model": {"k": 4}})), out)
    return out


def test_records_read_back_to_the_same_bytes(run: Path) -> None:
    for name, cls in (("data_quality.json", QualityRecord), ("model.json", ModelRecord)):
        text = (run / name).read_text(encoding="utf-8")
        record = cls.from_dict(json.loads(text))  # type: ignore[attr-defined]
        assert json_text(record) == text, name
    log = RunLog.from_dict(json.loads((run / "run_log.json").read_text()))
    assert log.input_scans == 1 and log.engine == "duckdb" and "k-select" in log.seconds


def test_typed_fields_and_json_like_reading(run: Path) -> None:
    quality = QualityRecord.from_dict(json.loads((run / "data_quality.json").read_text()))
    assert quality.input.format == "parquet" and quality["input"]["format"] == "parquet"
    assert quality.rows_kept + sum(quality.dropped.values()) == quality.rows_read
    model = ModelRecord.from_dict(json.loads((run / "model.json").read_text()))
    assert model.k == 4 == model["k"] and model.k_selection.mode == "fixed"
    assert model.holdout is not None and model.holdout["days"] == 90
    assert model.model().personas == [model.personas[str(i)] for i in range(4)]


def test_a_model_from_another_version_is_written_back_whole(run: Path) -> None:
    data = json.loads((run / "model.json").read_text())
    data["made_by"] = "a later custseg"
    del data["holdout"]
    record = ModelRecord.from_dict(data)
    assert record.extra == {"made_by": "a later custseg"} and record.holdout is None
    assert record.to_dict() == data


def test_the_horizon_of_the_predictions_is_read_from_the_settings(run: Path) -> None:
    # The persona cards' "in the next N days" (report.html and the dashboard) come from it.
    data = json.loads((run / "model.json").read_text())
    assert ModelRecord.from_dict(data).horizon_days == 90
    data["settings"]["predictions"]["horizon_days"] = 30
    assert ModelRecord.from_dict(data).horizon_days == 30
    del data["settings"]["predictions"]  # a model.json of a version without predictions
    assert ModelRecord.from_dict(data).horizon_days == 90
