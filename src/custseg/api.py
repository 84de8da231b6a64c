"""custseg from Python: what the commands do, from a notebook or a script.

``import custseg`` gives these functions (loaded on first use, so the command line stays
fast). Each takes the input the command line takes (a file, a folder or URL Spark reads, a
``postgresql://`` or ``sqlite:///`` URL) and the command line's options as keyword
arguments, spelled as the flags without dashes (``customer_col="Client"``, ``k=4``,
``returns="net"``, ``as_of="2011-12-01"``, ``table="order_lines"``), checked as the command
line checks them: an unknown option or a bad value is one sentence
(:class:`custseg.errors.UserError`). ``config=`` names a parameters YAML file.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import custseg
>>> folder = Path(tempfile.mkdtemp())
>>> lines = custseg.synthetic_orders(folder / "orders.parquet", customers=300)
>>> result = custseg.segment(lines, k=4)
>>> result.segments["persona"].tolist()
['Champions', 'At Risk', 'New Customers', 'Hibernating']
>>> result.quality["customers"], result.model["k"]
(300, 4)
>>> "customers.csv" in [p.name for p in result.write(folder / "segments")]
True
>>> custseg.segment(lines, k=4, colour="blue")
Traceback (most recent call last):
...
custseg.errors.UserError: unknown option 'colour'; see custseg.api.OPTIONS for the options.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from custseg.errors import UserError

__all__ = [
    "OPTIONS",
    "Cohorts",
    "LifetimeValue",
    "Migration",
    "Segmentation",
    "cohort_retention",
    "default_input",
    "exploration",
    "lifetime_value",
    "migrate",
    "segment",
    "synthetic_orders",
]


def _option_keys() -> dict[str, tuple[str, str]]:
    """Map each option's name to its settings key, from the command line's declarations."""
    from dataclasses import fields

    from custseg.cli.options import AsOfOption, CleaningOptions, InputOptions, ModelOptions

    keys: dict[str, tuple[str, str]] = {}
    for group in (InputOptions, CleaningOptions, ModelOptions, AsOfOption):
        for item in fields(group):
            if item.name != "config":
                keys[item.name] = group.keys.get(item.name, ("", item.name))
    return keys


#: Every keyword option the functions take, and the settings key it sets.
OPTIONS: dict[str, tuple[str, str]] = {}


def _settings(config: str | Path | None, options: dict[str, Any]) -> Any:
    """Validate ``options`` as the command line does and return the settings."""
    from custseg.config import load_settings

    if not OPTIONS:
        OPTIONS.update(_option_keys())
    overrides: dict[str, Any] = {}
    for name, value in options.items():
        if name not in OPTIONS:
            raise UserError(f"unknown option {name!r}; see custseg.api.OPTIONS for the options.")
        section, key = OPTIONS[name]
        if name == "k" and value is not None:
            value = str(value)
        if section:
            overrides.setdefault(section, {})[key] = value
        else:
            overrides[key] = value
    return load_settings(Path(config) if config is not None else None, overrides)


def _write(writer: Any, result: Any, folder: str | Path, force: bool) -> list[Path]:
    from custseg.io.outputs import forcing

    with forcing(force):
        written: list[Path] = writer(result, Path(folder))
    return written


@dataclass
class Segmentation:
    """What ``custseg run`` computes (see :func:`segment`).

    Attributes
    ----------
    result : custseg.results.RunResult
        Everything, as the command has it.
    """

    result: Any

    @property
    def customers(self) -> pd.DataFrame:
        """One row per customer: RFM, cluster, persona, scores (customers.csv)."""
        frame: pd.DataFrame = self.result.customers
        return frame

    @property
    def segments(self) -> pd.DataFrame:
        """One row per segment: size, profile, persona, action (segments.csv)."""
        frame: pd.DataFrame = self.result.segments
        return frame

    @property
    def k_selection(self) -> pd.DataFrame:
        """The scores of every k tried (k_selection.csv)."""
        frame: pd.DataFrame = self.result.k_table
        return frame

    @property
    def quality(self) -> dict[str, Any]:
        """The data-quality record (data_quality.json), as a dict."""
        data: dict[str, Any] = self.result.quality.to_dict()
        return data

    @property
    def model(self) -> dict[str, Any]:
        """The model record (model.json), as a dict."""
        data: dict[str, Any] = self.result.model.to_dict()
        return data

    @property
    def scaled(self) -> Any:
        """The features the clusters were fitted on: log1p, then standardised (n x 3)."""
        return self.result.scaled

    def quality_table(self) -> pd.DataFrame:
        """Return the cleaning rules in order, what each drops and how many rows."""
        from custseg.reporting import quality_table

        return quality_table(self.result.quality)

    def figures(self) -> dict[str, Any]:
        """Return the report's Plotly figures by name (data_quality, k_selection, ...)."""
        from custseg.reporting import figures

        found: dict[str, Any] = figures(self.result)
        return found

    def predict(self, customers: pd.DataFrame) -> pd.Series:
        """Assign customers (recency_days, frequency, monetary) to this model's personas."""
        from custseg.clustering import SegmentModel

        model = SegmentModel.from_dict(self.model)
        features = customers[["recency_days", "frequency", "monetary"]].to_numpy(dtype=float)
        clusters = model.predict(features)
        personas: pd.Series = pd.Series(
            [model.personas[c] for c in clusters], index=customers.index
        )
        return personas

    def write(self, folder: str | Path, force: bool = False) -> list[Path]:
        """Write every output file into ``folder`` as ``custseg run --out`` does."""
        from custseg.commands.run import write_outputs

        return _write(write_outputs, self.result, folder, force)


@dataclass
class LifetimeValue:
    """What ``custseg clv`` computes (see :func:`lifetime_value`)."""

    result: Any

    @property
    def customers(self) -> pd.DataFrame:
        """Per customer predictions (clv.csv)."""
        frame: pd.DataFrame = self.result.customers
        return frame

    @property
    def personas(self) -> pd.DataFrame:
        """Per persona sums (clv_personas.csv)."""
        frame: pd.DataFrame = self.result.personas
        return frame

    @property
    def params(self) -> dict[str, Any]:
        """The fitted models, the choice and its reason (clv_params.json)."""
        data: dict[str, Any] = self.result.params
        return data

    @property
    def backtest(self) -> pd.DataFrame | None:
        """Every model and baseline on the holdout (backtest.csv); None with a saved model."""
        frame: pd.DataFrame | None = self.result.backtest
        return frame

    def write(self, folder: str | Path, force: bool = False) -> list[Path]:
        """Write every output file into ``folder`` as ``custseg clv --out`` does."""
        from custseg.commands.clv import write_clv

        return _write(write_clv, self.result, folder, force)


@dataclass
class Cohorts:
    """What ``custseg cohorts`` computes (see :func:`cohorts`)."""

    result: Any

    @property
    def cohorts(self) -> pd.DataFrame:
        """Monthly cohort retention and revenue (cohorts.csv)."""
        frame: pd.DataFrame = self.result.cohorts
        return frame

    @property
    def persona_retention(self) -> pd.DataFrame:
        """Retention per persona, whole months only (cohort_personas.csv)."""
        frame: pd.DataFrame = self.result.persona_retention
        return frame

    def write(self, folder: str | Path, force: bool = False) -> list[Path]:
        """Write every output file into ``folder`` as ``custseg cohorts --out`` does."""
        from custseg.commands.cohorts import write_cohorts

        return _write(write_cohorts, self.result, folder, force)


@dataclass
class Migration:
    """What ``custseg migrate`` computes (see :func:`migrate`)."""

    result: Any

    @property
    def matrix(self) -> pd.DataFrame:
        """Customers from each persona to each persona (migration.csv)."""
        frame: pd.DataFrame = self.result.matrix
        return frame

    @property
    def moved(self) -> pd.DataFrame:
        """Customers who moved down the value order (movers.csv)."""
        frame: pd.DataFrame = self.result.moved
        return frame

    @property
    def sentence(self) -> str:
        """The movement in one sentence, as the command prints it."""
        return str(self.result.log["sentence"])

    def write(self, folder: str | Path, force: bool = False) -> list[Path]:
        """Write every output file into ``folder`` as ``custseg migrate --out`` does."""
        from custseg.commands.migrate import write_migration

        return _write(write_migration, self.result, folder, force)


def segment(
    source: str | Path, *, config: str | Path | None = None, **options: Any
) -> Segmentation:
    """Segment the customers of ``source``, as ``custseg run`` does.

    Parameters
    ----------
    source : str or Path
        Order lines: a file, or a database URL with ``table=`` or ``query=``.
    config : str or Path, optional
        A parameters YAML file (default: conf/base/parameters.yml if present).
    **options
        The command line's options (see :data:`OPTIONS`), e.g. ``k=4``.

    Returns
    -------
    Segmentation
        ``.customers``, ``.segments``, ``.k_selection``, ``.quality``, ``.model``,
        ``.write(folder)``.
    """
    from custseg.commands.run import segment as run

    return Segmentation(run(_path(source), _settings(config, options)))


def lifetime_value(
    source: str | Path,
    *,
    calibration_end: str | dt.date | None = None,
    horizon: int = 90,
    discount_rate: float = 0.1,
    draws: int = 200,
    config: str | Path | None = None,
    **options: Any,
) -> LifetimeValue:
    """Predict each customer's purchases, churn risk and value, as ``custseg clv`` does.

    Parameters mirror the command's options; ``calibration_end`` is a date or its ISO text.
    """
    from custseg.commands.clv import lifetime_value as clv

    end = dt.date.fromisoformat(calibration_end) if isinstance(calibration_end, str) else None
    if isinstance(calibration_end, dt.date):
        end = calibration_end
    result = clv(
        _path(source),
        _settings(config, options),
        calibration_end=end,
        horizon=horizon,
        discount_rate=discount_rate,
        draws=draws,
    )
    return LifetimeValue(result)


def cohort_retention(
    source: str | Path, *, config: str | Path | None = None, **options: Any
) -> Cohorts:
    """Compute monthly cohort retention and the per-persona curves, as ``custseg cohorts``.

    (Named so as not to hide the :mod:`custseg.cohorts` module.)
    """
    from custseg.commands.cohorts import cohorts as run

    return Cohorts(run(_path(source), _settings(config, options)))


def migrate(
    source: str | Path,
    before: str,
    after: str,
    *,
    config: str | Path | None = None,
    **options: Any,
) -> Migration:
    """Segment two snapshots (``before``, ``after``: dates) with one model, as ``migrate``."""
    from custseg.commands.migrate import migrate as run

    settings = _settings(config, options)
    dates = [_settings(None, {"as_of": d}).as_of for d in (before, after)]
    return Migration(run(_path(source), dates[0], dates[1], settings))


def default_input(*, config: str | Path | None = None) -> tuple[Path, str]:
    """Return the input ``custseg run`` takes without one, and the sentence saying which.

    The downloaded workbook (data/raw/online-retail.xlsx) if present, else synthetic lines
    (written to data/raw/ on first use, as many customers as the parameters say).
    """
    from custseg.commands.common import resolve_input

    path, note = resolve_input(None, _settings(config, {}))
    return Path(path), note


def exploration(source: str | Path, *, config: str | Path | None = None, **options: Any) -> Any:
    """Explore the order lines before any cleaning (:func:`custseg.explore.explore`).

    Returns
    -------
    custseg.explore.Exploration
        ``.facts``, ``.monthly``, ``.countries``, ``.baskets``, ``.outliers`` and
        ``.chart()`` (orders, revenue and customers per month).
    """
    from custseg.explore import explore
    from custseg.io.database import is_database, redact

    if is_database(source):
        raise UserError(
            f"exploration reads files; for {redact(str(source))} use custseg.segment, or "
            "export the table to a file first."
        )
    return explore(_path(source), _settings(config, options))


def synthetic_orders(target: str | Path, customers: int = 4000, seed: int = 0) -> Path:
    """Write synthetic order lines with known latent segments (as ``custseg synth``)."""
    from custseg.synth import write_synthetic

    write_synthetic(Path(target), customers=customers, seed=seed, option="target")
    return Path(target)


def _path(source: str | Path) -> str | Path:
    """Keep URLs as text (a Path would fold ``sqlite:///x`` to ``sqlite:/x``)."""
    text = str(source)
    return text if "://" in text else Path(source)
