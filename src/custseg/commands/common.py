"""What several commands share: the default input, audience files, the run log's header."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from custseg.config import Settings
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

#: The columns of an audience file (CLV columns are added where they are known).
AUDIENCE_COLUMNS = (
    "customer_id",
    "persona",
    "rfm_segment",
    "recency_days",
    "frequency",
    "monetary",
)


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
        return path, f"input: {path}"
    if DEFAULT_INPUT.is_file():
        return DEFAULT_INPUT, f"input: {DEFAULT_INPUT} (the UCI Online Retail workbook)"
    from custseg.synth import write_synthetic

    n, seed = settings.synthetic_customers, 0
    write_synthetic(SYNTHETIC_INPUT, customers=n, seed=seed)
    return SYNTHETIC_INPUT, (
        f"input: synthetic default ({n:,} customers, seed {seed}) written to {SYNTHETIC_INPUT}, "
        f"because {DEFAULT_INPUT} is absent (run `custseg download` to fetch it)"
    )


def audience_name(persona: str) -> str:
    """Return the file name of a persona's audience: "Can't Lose Them" -> cant-lose-them.csv."""
    slug = "".join(ch.lower() if ch.isalnum() else " " for ch in persona.replace("'", ""))
    return "-".join(slug.split()) + ".csv"


def write_audiences(customers: pd.DataFrame, folder: Path) -> list[Path]:
    """Write one formula-safe CSV per persona: every customer in exactly one file.

    Parameters
    ----------
    customers : pandas.DataFrame
        With the :data:`AUDIENCE_COLUMNS`, and expected_revenue and p_alive if known.
    folder : Path
        Created; one ``<persona>.csv`` per persona present.

    Returns
    -------
    list of Path
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    extra = [c for c in ("expected_revenue", "p_alive") if c in customers]
    return [
        write_csv(group[[*AUDIENCE_COLUMNS, *extra]], folder / audience_name(str(persona)))
        for persona, group in customers.groupby("persona", sort=False)
    ]
