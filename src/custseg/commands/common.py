"""What several commands share: the default input, audience files, the run log's header."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from custseg.config import PredictionsConfig, Settings
from custseg.exports import AUDIENCE_COLUMNS
from custseg.io.writers import write_csv

__all__ = [
    "AUDIENCE_COLUMNS",
    "DEFAULT_INPUT",
    "SYNTHETIC_INPUT",
    "audience_name",
    "resolve_input",
    "write_audiences",
]

DEFAULT_INPUT = Path("data/raw/online-retail.xlsx")
SYNTHETIC_INPUT = Path("data/interim/synthetic-orders.parquet")


def resolve_input(path: Path | str | None, settings: Settings) -> tuple[Path | str, str]:
    """Pick the input: the given path, else the downloaded workbook, else synthetic data.

    Parameters
    ----------
    path : Path, str or None
        The user's input (a str for a URL Spark reads).
    settings : Settings
        For the synthetic default's size and seed.

    Returns
    -------
    tuple of (Path or str, str)
        The input and a sentence saying which it is.
    """
    if path is not None:
        from custseg.io.database import redact

        return path, f"input: {redact(str(path))}"
    if DEFAULT_INPUT.is_file():
        return DEFAULT_INPUT, f"input: {DEFAULT_INPUT} (the UCI Online Retail workbook)"
    from custseg.synth import write_synthetic

    n, seed = settings.synthetic_customers, 0
    write_synthetic(SYNTHETIC_INPUT, customers=n, seed=seed, option="The synthetic default")
    return SYNTHETIC_INPUT, (
        f"input: synthetic default ({n:,} customers, seed {seed}) written to {SYNTHETIC_INPUT}, "
        f"because {DEFAULT_INPUT} is absent (run `custseg download` to fetch it)"
    )


def audience_name(persona: str) -> str:
    """Return the file name of a persona's audience: "Can't Lose Them" -> cant-lose-them.csv."""
    slug = "".join(ch.lower() if ch.isalnum() else " " for ch in persona.replace("'", ""))
    return "-".join(slug.split()) + ".csv"


#: Prediction columns an audience file carries when the customers have them.
PREDICTED = ("expected_revenue", "clv", "value_tier", "p_alive", "churn_probability")


def churn_filter_warning(
    config: PredictionsConfig, informative: bool, churn: pd.Series
) -> str | None:
    """Say when the audiences' churn range filters on a churn risk the model cannot measure.

    Where the count model does not tell active from lapsed customers (P(alive) not
    informative), churn_probability is near 0 for most customers: a range for customers at
    risk keeps few or none. None with the default range or an informative P(alive).
    """
    low, high = config.audience_min_churn, config.audience_max_churn
    if informative or (low, high) == (0.0, 1.0):
        return None
    kept = int(churn.between(low, high).sum())
    return (
        f"the audiences keep churn_probability {low:g} to {high:g} "
        "(predictions.audience_min_churn/audience_max_churn), a risk this model cannot "
        f"measure here (P(alive) is not informative): the range keeps {kept:,} of "
        f"{len(churn):,} customers"
    )


def audience_filter(customers: pd.DataFrame, config: PredictionsConfig | None) -> pd.DataFrame:
    """Keep the customers of the chosen value tiers and churn range (predictions only).

    Without prediction columns, or with the defaults, every customer stays.
    """
    if config is None or "value_tier" not in customers:
        return customers
    keep = customers["churn_probability"].between(
        config.audience_min_churn, config.audience_max_churn
    )
    if config.audience_tiers:
        keep &= customers["value_tier"].isin(config.audience_tiers)
    out: pd.DataFrame = customers[keep]
    return out


def write_audiences(
    customers: pd.DataFrame, folder: Path, config: PredictionsConfig | None = None
) -> list[Path]:
    """Write one formula-safe CSV per persona: every (chosen) customer in exactly one file.

    Parameters
    ----------
    customers : pandas.DataFrame
        With the :data:`AUDIENCE_COLUMNS`, and the :data:`PREDICTED` columns if known.
    folder : Path
        Created; one ``<persona>.csv`` per persona present.
    config : PredictionsConfig, optional
        Value tiers and churn range to keep (:func:`audience_filter`).

    Returns
    -------
    list of Path
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    # The columns first: splitting all of a run's columns by persona took 0.55 s at 1.2M
    # customers, for files that hold a few of them.
    columns = [*AUDIENCE_COLUMNS, *(c for c in PREDICTED if c in customers)]
    chosen = audience_filter(customers[columns], config)
    return [
        write_csv(group, folder / audience_name(str(persona)))
        for persona, group in chosen.groupby("persona", sort=False)
    ]
