"""What a run produces, in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """Everything a run produced.

    Attributes
    ----------
    customers : pandas.DataFrame
        customer_id, recency_days, frequency, monetary, cluster, persona.
    segments : pandas.DataFrame
        One row per cluster with its persona, size and means.
    k_table : pandas.DataFrame
        The k-selection scores.
    quality : dict
        The data-quality record (data_quality.json).
    model : dict
        The saved model (model.json).
    run_log : dict
        Timings and other run-specific facts (run_log.json).
    scaled : numpy.ndarray
        The standardised features, row-aligned with ``customers``.
    customers_spark : pyspark.sql.DataFrame or None
        With Spark above ``engine.spark_collect_max_customers``: every customer's assignment,
        still in Spark (``customers`` then holds a seeded sample for the report's charts).
    holdout : dict
        The holdout check (see :func:`custseg.pipeline.holdout_check`); empty when off.
    cohorts, persona_retention : pandas.DataFrame
        Cohort retention in long form and the per-persona retention curves (see
        :mod:`custseg.cohorts`); empty on the Spark MLlib path.
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    k_table: pd.DataFrame
    quality: dict[str, Any]
    model: dict[str, Any]
    run_log: dict[str, Any] = field(default_factory=dict)
    scaled: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    customers_spark: Any = None
    holdout: dict[str, Any] = field(default_factory=dict)
    cohorts: pd.DataFrame = field(default_factory=pd.DataFrame)
    persona_retention: pd.DataFrame = field(default_factory=pd.DataFrame)
