"""``custseg plan``: what-if campaigns over a clv folder (the planner's formula, per campaign)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from custseg.errors import UserError
from custseg.io.writers import staged_folder, write_csv

__all__ = ["plan_campaigns", "write_plan"]


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
    import yaml

    from custseg.planner import COLUMNS, Campaign, check_personas, plan_campaign

    try:
        entries = yaml.safe_load(Path(campaigns_file).read_text(encoding="utf-8"))
        personas = pd.read_csv(Path(clv_dir) / "clv_personas.csv")
    except OSError as exc:
        raise UserError(f"Cannot read {exc.filename}: {exc.strerror}.") from exc
    except yaml.YAMLError as exc:
        raise UserError(f"{campaigns_file} is not valid YAML: {exc}.") from exc
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(
            f"{Path(clv_dir) / 'clv_personas.csv'} is not a CLV table ({exc}); rerun custseg clv."
        ) from exc
    personas = check_personas(personas, str(Path(clv_dir) / "clv_personas.csv"))
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{campaigns_file} must hold a list of campaigns (name, persona, ...).")
    rows = []
    for i, entry in enumerate(entries, 1):
        try:
            campaign = Campaign(**entry)
        except TypeError as exc:
            raise UserError(f"{campaigns_file}, campaign {i}: {exc}.") from exc
        rows.append(plan_campaign(campaign, personas))
    table: pd.DataFrame = pd.DataFrame(rows, columns=COLUMNS)
    return table


def write_plan(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write plan.csv."""
    with staged_folder(out_dir, "--out") as stage:
        write_csv(table, stage / "plan.csv")
    return [out_dir / "plan.csv"]
