"""``custseg plan``: what-if campaigns over a clv folder (the planner's formula, per campaign)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from custseg.errors import UserError
from custseg.io.writers import staged_folder, write_csv

if TYPE_CHECKING:
    from custseg.planner import Campaign

__all__ = ["clv_basis", "plan_campaigns", "write_plan"]


def plan_campaigns(campaigns_file: Path, clv_dir: Path) -> pd.DataFrame:
    """Read a YAML list of campaigns and a clv folder; apply the planner's formula to each.

    Parameters
    ----------
    campaigns_file : pathlib.Path
        A YAML list of campaigns, each with the keys of :class:`custseg.planner.Campaign`.
    clv_dir : pathlib.Path
        A folder written by ``custseg clv`` (its clv_personas.csv).

    Returns
    -------
    pandas.DataFrame
        One row per campaign, in the file's order, with :data:`custseg.planner.COLUMNS`.

    Raises
    ------
    UserError
        For an unreadable file, an unknown key, the old ``response_rate`` key, a bad value,
        an unknown persona, an uplift past 100%, or a clv_personas.csv without the
        planner's columns (written by an older custseg).
    """
    from custseg.config import read_yaml
    from custseg.planner import COLUMNS, check_personas, plan_campaign

    clv_table = Path(clv_dir) / "clv_personas.csv"
    if not clv_table.is_file():
        raise UserError(
            f"{clv_table} does not exist: run custseg clv first (with --out {clv_dir}), or name "
            "the folder it wrote with --clv."
        )
    entries = read_yaml(Path(campaigns_file), "the campaigns file")
    try:
        personas = pd.read_csv(clv_table)
    except OSError as exc:
        raise UserError(f"Cannot read {exc.filename}: {exc.strerror}.") from exc
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(
            f"{Path(clv_dir) / 'clv_personas.csv'} is not a CLV table ({exc}); rerun custseg clv."
        ) from exc
    personas = check_personas(personas, str(Path(clv_dir) / "clv_personas.csv"))
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{campaigns_file} must hold a list of campaigns (name, persona, ...).")
    rows = []
    for i, entry in enumerate(entries, 1):
        rows.append(plan_campaign(_campaign(entry, f"{campaigns_file}, campaign {i}"), personas))
    table: pd.DataFrame = pd.DataFrame(rows, columns=COLUMNS)
    return table


def clv_basis(clv_dir: Path) -> str | None:
    """Say which lines the clv folder's personas and predictions come from.

    ``custseg clv --calibration-end 2011-09-09`` fits its personas and models on the lines
    up to that date: a plan over its folder is a plan for the 91 days after it, with the
    personas of that date (k = 4 on the real data, against run's 3). Nothing in
    clv_personas.csv says so; clv_params.json does. None without a readable one.
    """
    import json

    try:
        params = json.loads((Path(clv_dir) / "clv_params.json").read_text(encoding="utf-8"))
        end, horizon = str(params["calibration_end"]), int(params["horizon_days"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (
        f"The personas and predictions of {clv_dir} come from the lines up to {end}: the "
        f"personas of that date, and predictions for the {horizon} days after it."
    )


def _campaign(entry: object, where: str) -> Campaign:
    """Make one campaign of the YAML list, naming a missing or unknown key in words."""
    import dataclasses

    from custseg.planner import Campaign

    keys = [f.name for f in dataclasses.fields(Campaign)]  # not the InitVar response_rate
    if not isinstance(entry, dict):
        raise UserError(f"{where}: expected the keys {', '.join(keys)}, got {entry!r}.")
    # response_rate is left to Campaign, whose sentence names the key that replaced it.
    unknown = [str(k) for k in entry if k not in keys and k != "response_rate"]
    if unknown:
        raise UserError(
            f"{where}: unknown key {', '.join(repr(k) for k in unknown)}; the keys are "
            f"{', '.join(keys)} (docs/campaigns.md)."
        )
    missing = [k for k in ("name", "persona") if k not in entry]
    if missing:
        raise UserError(f"{where}: {' and '.join(repr(k) for k in missing)} missing.")
    try:
        return Campaign(**entry)
    except TypeError as exc:
        raise UserError(f"{where}: {exc}.") from exc


def write_plan(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write plan.csv."""
    with staged_folder(out_dir, "--out") as stage:
        write_csv(table, stage / "plan.csv")
    return [out_dir / "plan.csv"]
