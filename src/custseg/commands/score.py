"""``custseg score``: assign the customers of new order lines with a saved model, no refit."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.clustering import SegmentModel
from custseg.config import CleaningConfig, Settings
from custseg.errors import UserError
from custseg.features import FEATURES
from custseg.io.writers import json_text, staged_folder, write_csv, write_json
from custseg.progress import ProgressFactory, StageTimer, logger
from custseg.results import ModelRecord, RunResult
from custseg.session import Session
from custseg.shift import shift_warning

__all__ = [
    "SCORE_FILES",
    "assign",
    "check_collectable",
    "load_model_file",
    "model_settings",
    "read_limited",
    "score",
    "score_session",
    "score_with_model",
    "write_scores",
]

SCORE_FILES = ("customers.csv", "customers.parquet", "data_quality.json", "score_log.json")


#: The largest model.json read (one written by custseg is tens of kilobytes).
MAX_MODEL_BYTES = 10 << 20


def read_limited(path: Path, named: str) -> bytes:
    """Read a model file, refusing one over :data:`MAX_MODEL_BYTES`.

    At most one byte past the limit is read: a device or a growing file has no size.

    Raises
    ------
    UserError
        Saying that the file (``named``, e.g. "The model m.json (--model)") is too large.
    OSError
        When it cannot be read.
    """
    with Path(path).expanduser().open("rb") as fh:
        data = fh.read(MAX_MODEL_BYTES + 1)
    if len(data) > MAX_MODEL_BYTES:
        raise UserError(
            f"{named} is over {MAX_MODEL_BYTES >> 20} MB; a custseg model is well under that. "
            "Is it the right file?"
        )
    return data


def load_model_file(path: Path) -> tuple[SegmentModel, ModelRecord]:
    """Read and check a model.json written by ``custseg run``.

    Returns
    -------
    tuple of (SegmentModel, ModelRecord)
        The model, and the whole record (its settings, as-of date, ...).

    Raises
    ------
    UserError
        If the file is missing, not JSON, or not a valid custseg model.
    """
    try:
        record = json.loads(read_limited(path, f"The model {path} (--model)").decode("utf-8"))
    except OSError as exc:
        raise UserError(f"Cannot read the model {path} (--model): {exc.strerror}.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"The model {path} (--model) is not a JSON file ({exc}).") from exc
    model = SegmentModel.from_dict(record, source=str(path))
    return model, ModelRecord.from_dict(record)


def model_settings(settings: Settings, record: ModelRecord) -> Settings:
    """Return ``settings`` with the cleaning rules recorded in a model (scoring uses them)."""
    recorded = record.settings.get("cleaning")
    if recorded is None:
        return settings
    # The model's rules, with this run's suppression list (who objected is not the model's).
    rules = {**recorded, "suppress": settings.cleaning.suppress}
    return settings.model_copy(update={"cleaning": CleaningConfig(**rules)})


def check_collectable(session: Session, customers: int, command: str) -> None:
    """Refuse, on Spark, a customer table too large to bring to the driver.

    Raises
    ------
    UserError
        Above ``engine.spark_collect_max_customers``: only ``run`` keeps such a table in
        Spark (MLlib).
    """
    limit = session.settings.engine.spark_collect_max_customers
    if session.engine.name == "spark" and customers > limit:
        raise UserError(
            f"{session.source}: {customers:,} customers are more than "
            f"engine.spark_collect_max_customers ({limit:,}), and custseg {command} brings the "
            "customer table to the driver; raise that limit if the driver has the memory, or "
            "use custseg run, which clusters such tables with Spark MLlib."
        )


def assign(customers: pd.DataFrame, model: SegmentModel) -> pd.DataFrame:
    """Add cluster, persona and the RFM scores to an RFM table, with a saved model."""
    from custseg.scores import rfm_scores

    labels = model.predict(customers[list(FEATURES)].to_numpy(dtype=np.float64))
    customers["cluster"] = labels
    customers["persona"] = [model.personas[i] for i in labels]
    return pd.concat([customers, rfm_scores(customers)], axis=1)


def score(
    input_path: Path | str,
    model_path: Path,
    settings: Settings,
    *,
    progress: ProgressFactory | None = None,
) -> RunResult:
    """Assign the customers of a new order file to a saved model's segments, without refitting.

    The order lines are read and cleaned as ``run`` does, with the cleaning rules recorded in
    the model; the as-of date follows the same rule (``--as-of``, else the file's last kept
    purchase + 1 day); the model's own scaler standardises the features and each customer
    goes to the nearest centroid.

    Parameters
    ----------
    input_path : Path
        Order lines, in any format ``run`` reads.
    model_path : Path
        A model.json.
    settings : Settings
        Column names, CSV dialect, as-of and engine options (cleaning comes from the model).
    progress : ProgressFactory, optional
        Progress bars.

    Returns
    -------
    RunResult
        ``customers`` in the layout ``run`` writes; ``quality`` and ``run_log``; the model
        record as ``model``; empty segment and k tables.
    """
    model, record = load_model_file(model_path)
    return score_with_model(input_path, model, record, settings, str(model_path), progress)


def score_with_model(
    input_path: Path | str,
    model: SegmentModel,
    record: ModelRecord | dict[str, Any],
    settings: Settings,
    model_label: str,
    progress: ProgressFactory | None = None,
) -> RunResult:
    """Do what :func:`score` does with a model already in memory (``record``: its model.json).

    ``record`` may be the model.json as a plain dict, as it was before records were typed.
    """
    if isinstance(record, dict):
        record = ModelRecord.from_dict(record)
    timer = StageTimer(progress)
    started = time.time()
    with Session(input_path, model_settings(settings, record), timer=timer) as session:
        return score_session(session, model, record, model_label, started)


def score_session(
    session: Session,
    model: SegmentModel,
    record: ModelRecord,
    model_label: str,
    started: float,
    **as_of: Any,
) -> RunResult:
    """Score the customers of an open session (``as_of=`` a date for another snapshot)."""
    timer = session.timer
    cleaned = session.cleaning(**as_of)
    check_collectable(session, cleaned.customers, "score")
    customers = session.rfm(**as_of)
    with timer.stage("score") as notes:
        customers = assign(customers, model)
        counts = customers["persona"].value_counts()
        notes.append(
            f"{len(customers):,} customers assigned by the model {model_label} (no refit): "
            + ", ".join(f"{p} {int(counts.get(p, 0)):,}" for p in dict.fromkeys(model.personas))
        )
    features = customers[list(FEATURES)].to_numpy(dtype=np.float64)
    warning = shift_warning(features, model.scaler, session.source, model_label)
    if warning is not None:
        logger.warning("warning  %s", warning)
    run_log = session.log_record(
        timer,
        started,
        model=model_label,
        model_sha256=hashlib.sha256(json_text(record).encode()).hexdigest(),
        model_as_of=record.as_of,
        note="scored with the saved scaler and centroids; nothing was refitted",
        **({"warnings": [warning]} if warning is not None else {}),
    )
    return RunResult(
        customers=customers,
        segments=pd.DataFrame(),
        k_table=pd.DataFrame(),
        quality=session.quality_record(cleaned, len(customers)),
        model=record,
        run_log=run_log,
    )


def write_scores(result: RunResult, out_dir: Path) -> list[Path]:
    """Write a scoring's customers.csv/.parquet, data_quality.json and score_log.json."""
    with staged_folder(out_dir, "--out") as stage:
        write_csv(result.customers, stage / "customers.csv")
        result.customers.to_parquet(stage / "customers.parquet", index=False)
        write_json(result.quality, stage / "data_quality.json")
        write_json(result.run_log, stage / "score_log.json")
    return [out_dir / name for name in SCORE_FILES]
