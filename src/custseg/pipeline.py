"""The names ``custseg.pipeline`` used to hold, kept so that existing imports work.

The pipeline now lives in :mod:`custseg.session` (the input, read and cleaned once) and
:mod:`custseg.commands` (one module per command). New code imports from there; a name that
is gone says where its replacement is.
"""

from __future__ import annotations

from typing import Any

from custseg.commands.clv import CLV_FILES, ClvResult, lifetime_value, write_clv
from custseg.commands.cohorts import CohortResult, cohorts, write_cohorts
from custseg.commands.common import (
    AUDIENCE_COLUMNS,
    DEFAULT_INPUT,
    SYNTHETIC_INPUT,
    audience_name,
    resolve_input,
    write_audiences,
)
from custseg.commands.migrate import MIGRATION_FILES, Migration, migrate, write_migration
from custseg.commands.plan import plan_campaigns, write_plan
from custseg.commands.run import OUTPUT_FILES, segment, write_outputs
from custseg.commands.score import (
    SCORE_FILES,
    load_model_file,
    score,
    score_with_model,
    write_scores,
)
from custseg.results import RunResult
from custseg.segmentation import SEGMENT_COLUMNS, segment_summary

__all__ = [
    "AUDIENCE_COLUMNS",
    "CLV_FILES",
    "DEFAULT_INPUT",
    "MIGRATION_FILES",
    "OUTPUT_FILES",
    "SCORE_FILES",
    "SEGMENT_COLUMNS",
    "SYNTHETIC_INPUT",
    "ClvResult",
    "CohortResult",
    "Migration",
    "RunResult",
    "audience_name",
    "cohorts",
    "lifetime_value",
    "load_model_file",
    "migrate",
    "plan_campaigns",
    "resolve_input",
    "score",
    "score_with_model",
    "segment",
    "segment_summary",
    "write_audiences",
    "write_clv",
    "write_cohorts",
    "write_migration",
    "write_outputs",
    "write_plan",
    "write_scores",
]

#: Names that are gone, and what replaced them.
_MOVED = {
    "stage_orders": "custseg.session.Session (it reads and stages the input once)",
    "holdout_check": "custseg.holdout.holdout_check (it takes the RFM tables, not the file)",
    "Aggregated": "custseg.session.Session (its cleaning(), rfm(), daily() and cohorts())",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        raise ImportError(f"custseg.pipeline.{name} is gone; use {_MOVED[name]}.")
    raise AttributeError(f"module 'custseg.pipeline' has no attribute {name!r}")
