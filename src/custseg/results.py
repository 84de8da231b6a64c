"""What a command produces, in memory: typed records and the run's tables.

Each record is the one definition of a file's layout: its fields, in the order the JSON
file lists them (:meth:`Record.to_dict`), and how to read the file back
(``from_dict``). A record also reads like the JSON it becomes (``record["k"]``), so code
written against the files keeps working.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "InputRecord",
    "KSelectionRecord",
    "ModelRecord",
    "QualityRecord",
    "Record",
    "RunLog",
    "RunResult",
]


class Record:
    """A dataclass that reads like the JSON file it becomes (``record["field"]``)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as the JSON file holds it (fields in order, nested dicts)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]

    def __getitem__(self, key: str) -> Any:
        value = self.to_dict()[key]
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """Return a field as the JSON holds it, or ``default``."""
        return self.to_dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class InputRecord(Record):
    """The input as read: path, hash, format, columns, their mapping and reader options.

    ``layout`` is the export layout used, ``currency`` the one currency of the spend (None
    when the input has no currency column) and ``timezone`` the calendar's zone when times
    carry UTC offsets (None: wall-clock times).
    """

    path: str
    sha256: str
    format: str
    columns: list[str]
    mapping: dict[str, str | None]
    reader_options: dict[str, str]
    layout: str = "none"
    currency: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class QualityRecord(Record):
    """data_quality.json: every row accounted for, by rule; the kept totals; the as-of date.

    Attributes
    ----------
    input : InputRecord
        What was read.
    rows_read, rows_kept : int
        Rows read = rows kept + the rows each rule dropped.
    dropped : dict
        Rows dropped by each rule (every rule, zero included), in rule order.
    examples : dict
        A few rows (mapped columns as text) per invalid-value rule that dropped any.
    rules : list of dict
        Each rule, its description and whether it ran.
    rule_order : str
        How a row is counted.
    customers, orders : int
        Kept customers and distinct orders.
    revenue : float
        Kept spend (returns subtracted with --returns net).
    returns : dict
        How returns were handled and what the other choice changes.
    first_purchase, last_purchase, as_of : str
        ISO timestamps.
    as_of_source : str
        Where the as-of date came from.
    non_product : dict
        Kept lines whose stock codes are not products, and their spend (Online Retail).
    orders_counted_as : str
        What an order is: distinct invoice ids, or, without an invoice column, distinct
        (customer, timestamp) pairs (said, since two orders at the same time become one).
    """

    input: InputRecord
    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    examples: dict[str, list[dict[str, str | None]]]
    rules: list[dict[str, object]]
    rule_order: str
    customers: int
    orders: int | None
    revenue: float
    returns: dict[str, object]
    first_purchase: str
    last_purchase: str
    as_of: str
    as_of_source: str
    non_product: dict[str, object] = field(default_factory=dict)
    orders_counted_as: str = "distinct invoice ids"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityRecord:
        """Read a data_quality.json back."""
        fields = _known(cls, data)
        fields["input"] = InputRecord(**_known(InputRecord, data["input"]))
        return cls(**fields)


@dataclass(frozen=True)
class KSelectionRecord(Record):
    """How k was chosen: the rule, the reason in words, what the scores were computed on."""

    mode: str
    rule: str
    reason: str
    k_range: list[int]
    warnings: list[str]
    silhouette_sample_size: int
    silhouette_exact: bool
    silhouette_metric: str
    sweep_sample_size: int
    sweep_note: str


@dataclass(frozen=True)
class ModelRecord(Record):
    """model.json: everything needed to score customers without refitting, and every choice.

    ``scaler``, ``centroids`` and ``personas`` are :class:`custseg.clustering.SegmentModel`'s
    own layout (see :meth:`model`). ``extra`` keeps keys this version does not know, so a
    model written by another version is written back whole.
    """

    features: list[str]
    scaler: dict[str, Any]
    centroids: list[list[float]]
    personas: dict[str, str]
    format: str
    k: int
    k_selection: KSelectionRecord
    kmeans: dict[str, Any]
    seed: int
    as_of: str
    mapping: dict[str, str | None]
    cleaning: dict[str, Any]
    settings: dict[str, Any]
    versions: dict[str, str]
    holdout: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return model.json's layout (no holdout key when there was none)."""
        out = {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in ("holdout", "extra")
        }
        if self.holdout is not None:
            out["holdout"] = _plain(self.holdout)
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRecord:
        """Read a model.json back (checked for shape by :meth:`model`, not here)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        fields = {k: v for k, v in data.items() if k in names}
        selection = data.get("k_selection", {})
        fields["k_selection"] = KSelectionRecord(
            **{f.name: selection.get(f.name) for f in dataclasses.fields(KSelectionRecord)}
        )
        defaults = {"features": [], "kmeans": {}, "seed": 0, "as_of": "", "mapping": {}}
        defaults.update(cleaning={}, settings={}, versions={}, k=len(data.get("centroids", [])))
        for key, value in defaults.items():
            fields.setdefault(key, value)
        return cls(**fields, extra={k: v for k, v in data.items() if k not in names})

    @property
    def horizon_days(self) -> int:
        """The days ``--with-clv`` predicted (``predictions.horizon_days``; 90 if unrecorded)."""
        return int(self.settings.get("predictions", {}).get("horizon_days", 90))

    def model(self, source: str = "model") -> Any:
        """Return the :class:`custseg.clustering.SegmentModel` it describes, checked."""
        from custseg.clustering import SegmentModel

        return SegmentModel.from_dict(self.to_dict(), source=source)


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass
class RunLog(Record):
    """run_log.json (score_log.json for a scoring): when, how long, which engine, how many scans.

    Attributes
    ----------
    started_at : str
        ISO time the command started (UTC).
    seconds : dict
        Seconds per stage.
    engine : str
        ``duckdb`` or ``spark``.
    workbook_cache : str
        Whether a workbook's Parquet copy was used.
    input_scans : int
        Passes over the order lines.
    total_seconds : float
        Until the results were complete.
    facts : dict
        What else the command records (the model scored with, where personas came from).
    """

    started_at: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    engine: str = ""
    workbook_cache: str = ""
    input_scans: int = 0
    total_seconds: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the log's layout: the facts beside the other fields, the total last."""
        out: dict[str, Any] = {
            "started_at": self.started_at,
            "seconds": self.seconds,
            "engine": self.engine,
            "workbook_cache": self.workbook_cache,
            "input_scans": self.input_scans,
            **self.facts,
            "total_seconds": self.total_seconds,
        }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunLog:
        """Read a run_log.json back."""
        known = _known(cls, data)
        known.pop("facts", None)
        facts = {k: v for k, v in data.items() if k not in known}
        return cls(**known, facts=facts)


@dataclass
class RunResult:
    """Everything a run produced.

    Attributes
    ----------
    customers : pandas.DataFrame
        customer_id, recency_days, frequency, monetary, cluster, persona, scores.
    segments : pandas.DataFrame
        One row per cluster with its persona, size and means.
    k_table : pandas.DataFrame
        The k-selection scores.
    quality : QualityRecord
        data_quality.json.
    model : ModelRecord
        model.json.
    run_log : RunLog
        run_log.json.
    scaled : numpy.ndarray
        The standardised features, row-aligned with ``customers``.
    customers_spark : pyspark.sql.DataFrame or None
        With Spark above ``engine.spark_collect_max_customers``: every customer's assignment,
        still in Spark (``customers`` then holds a seeded sample for the report's charts).
    holdout : dict
        The holdout check (see :func:`custseg.holdout.holdout_check`); empty when off.
    cohorts, persona_retention : pandas.DataFrame
        Cohort retention in long form and the per-persona retention curves (see
        :mod:`custseg.cohorts`).
    audience_filter : object, optional
        The value tiers and churn range the audience files keep (a ``PredictionsConfig``).
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    k_table: pd.DataFrame
    quality: QualityRecord
    model: ModelRecord
    run_log: RunLog = field(default_factory=RunLog)
    scaled: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    customers_spark: Any = None
    holdout: dict[str, Any] = field(default_factory=dict)
    cohorts: pd.DataFrame = field(default_factory=pd.DataFrame)
    persona_retention: pd.DataFrame = field(default_factory=pd.DataFrame)
    audience_filter: Any = None
