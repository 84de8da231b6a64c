"""``custseg migrate``: two snapshots of the same order lines, one model, who moved where.

Both snapshots come from the one scan of the session: the kept lines before each as-of date.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from custseg.commands.run import fit_model
from custseg.commands.score import (
    check_collectable,
    load_model_file,
    model_settings,
    score_session,
)
from custseg.config import Settings
from custseg.errors import UserError
from custseg.io.writers import staged_folder, write_csv, write_json
from custseg.lazy import FITTING, REPORT, preload
from custseg.progress import ProgressFactory, StageTimer
from custseg.results import ModelRecord, RunResult
from custseg.session import Session

__all__ = ["MIGRATION_FILES", "Migration", "migrate", "write_migration"]

MIGRATION_FILES = (
    "migration.csv",
    "movers.csv",
    "model.json",
    "migration.html",
    "migration_log.json",
)


@dataclass
class Migration:
    """Two snapshots assigned by one model, and who moved where.

    Attributes
    ----------
    before, after : RunResult
        The customers at each as-of date (scored, the same model).
    matrix : pandas.DataFrame
        from_persona, to_persona, customers, share.
    moved : pandas.DataFrame
        Customers who moved down the value order (movers.csv).
    model : ModelRecord
        The model record used (fitted on the first snapshot unless one was given).
    log : dict
        Dates, model source and the sentence describing them.
    """

    before: RunResult
    after: RunResult
    matrix: pd.DataFrame
    moved: pd.DataFrame
    model: ModelRecord
    log: dict[str, Any]


def migrate(
    input_path: Path | str,
    as_of_before: dt.datetime,
    as_of_after: dt.datetime,
    settings: Settings,
    *,
    model_path: Path | None = None,
    progress: ProgressFactory | None = None,
) -> Migration:
    """Segment two snapshots of the same order lines with one model and compare them.

    Snapshot A holds the order lines before ``as_of_before``, snapshot B those before
    ``as_of_after``. Without ``model_path`` the model is fitted on snapshot A (k chosen as
    ``run`` chooses it); both snapshots are then assigned with it, without refitting.

    Raises
    ------
    UserError
        When the dates are not in order, or as the stages do.
    """
    from custseg.migration import NEW, migration_matrix, movements, movers

    if as_of_before >= as_of_after:
        raise UserError(
            f"--as-of {as_of_before:%Y-%m-%d} must come before --as-of {as_of_after:%Y-%m-%d}."
        )
    if model_path is not None:
        model, record = load_model_file(model_path)
        label = str(model_path)
        settings = model_settings(settings, record)
    timer = StageTimer(progress)
    started = time.time()
    preload(*REPORT) if model_path is not None else preload(*FITTING, *REPORT)
    with Session(input_path, settings, timer=timer) as session:
        # Both snapshots come to the driver to be compared: refuse before any fit.
        for when in (as_of_before, as_of_after):
            check_collectable(session, session.cleaning(when).customers, "migrate")
        if model_path is None:
            fitted = fit_model(session, settings.model_copy(update={"as_of": as_of_before}), timer)
            record = fitted.record
            model = record.model()
            label = f"fitted on snapshot A (the lines before {as_of_before:%Y-%m-%d})"
        snaps = [
            score_session(session, model, record, label, started, as_of=when)
            for when in (as_of_before, as_of_after)
        ]
        scans = session.scans
    order = list(dict.fromkeys(model.personas))
    matrix = migration_matrix(snaps[0].customers, snaps[1].customers, order)
    moved = movers(snaps[0].customers, snaps[1].customers, order)
    counts = movements(snaps[0].customers, snaps[1].customers, order)
    counts["moved_down_bought_again"] = int(moved["bought_again"].sum())
    sentence = (
        f"Customers as of {_when(as_of_before)} ({len(snaps[0].customers):,}) and as of "
        f"{_when(as_of_after)} ({len(snaps[1].customers):,}), both assigned by the model "
        f"{label}. Of the customers in both, {counts['moved_down']:,} moved down the value "
        f"order (to a persona of lower standing: movers.csv; "
        f"{counts['moved_down_bought_again']:,} of them bought again in between, column "
        f"bought_again), {counts['moved_up']:,} moved up "
        f"and {counts['stayed']:,} kept their persona; {counts['new_customers']:,} first "
        f"bought after {as_of_before:%Y-%m-%d} (from '{NEW}')."
    )
    log = {
        "input": str(input_path),
        "as_of_before": as_of_before.isoformat(timespec="seconds"),
        "as_of_after": as_of_after.isoformat(timespec="seconds"),
        "model": label,
        "customers_before": len(snaps[0].customers),
        "customers_after": len(snaps[1].customers),
        "value_order": order,
        **counts,
        "sentence": sentence,
        "input_scans": scans,
    }
    # A snapshot whose customers lie far from the model's (custseg.shift): said at scoring.
    warnings = [w for snap in snaps for w in snap.run_log.facts.get("warnings", [])]
    if warnings:
        log["warnings"] = warnings
    return Migration(snaps[0], snaps[1], matrix, moved, record, log)


def _when(as_of: dt.datetime) -> str:
    """Write an as-of date as given: its time only when it is not midnight (12:50 matters)."""
    return f"{as_of:%Y-%m-%d}" if as_of.time() == dt.time() else f"{as_of:%Y-%m-%d %H:%M}"


def write_migration(result: Migration, out_dir: Path) -> list[Path]:
    """Write migration.csv, movers.csv, model.json, migration.html and migration_log.json."""
    from custseg.reporting import migration_page

    with staged_folder(out_dir, "--out") as stage:
        write_csv(result.matrix, stage / "migration.csv")
        write_csv(result.moved, stage / "movers.csv")
        write_json(result.model, stage / "model.json")
        (stage / "migration.html").write_text(
            migration_page(result.matrix, result.moved, result.log), encoding="utf-8"
        )
        write_json(result.log, stage / "migration_log.json")
    return [out_dir / name for name in MIGRATION_FILES]
