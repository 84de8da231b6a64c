"""``custseg synth``, ``download`` and ``clear-cache``: data to try custseg on, and its cache.

Importing this module adds the commands to :data:`custseg.cli.app` (``custseg.cli`` imports
it once ``app`` is defined). Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from custseg.cli import app
from custseg.cli.console import setup_logging, user_errors
from custseg.cli.options import QuietOption

__all__ = ["clear_cache", "download", "synth"]

Opt = typer.Option


@app.command()
def synth(
    target: Annotated[
        Path, Opt("--out", "-o", help="Output file: .parquet, .csv or .csv.gz.")
    ] = Path("data/raw/synthetic-orders.parquet"),
    customers: Annotated[int, Opt("--customers", "-n", min=10, help="Number of customers.")] = 4000,
    seed: Annotated[int, Opt(min=0, help="Random seed.")] = 0,
    quiet: QuietOption = False,
) -> None:
    """Write synthetic order lines with known latent segments (and <stem>_truth.csv)."""
    setup_logging(quiet)
    from custseg.synth import write_synthetic

    with user_errors(memory_option=False):
        info = write_synthetic(target, customers=customers, seed=seed)
    logging.getLogger("custseg").info(
        "synth    %s order lines for %s customers in %s; latent types in %s",
        f"{info['rows']:,}",
        f"{customers:,}",
        target,
        info["truth"],
    )


@app.command()
def download(
    dest: Annotated[Path, Opt(help="Where to put the workbook.")] = Path(
        "data/raw/online-retail.xlsx"
    ),
    url: Annotated[str | None, Opt(help="Zip to fetch (default: the UCI archive).")] = None,
    quiet: QuietOption = False,
) -> None:
    """Fetch the UCI Online Retail workbook and check its structure."""
    setup_logging(quiet)
    from custseg.download import UCI_URL, fetch_online_retail

    with user_errors(memory_option=False):
        rows = fetch_online_retail(dest, url=url or UCI_URL)
    logging.getLogger("custseg").info("download %s rows checked; saved to %s", f"{rows:,}", dest)


@app.command("clear-cache")
def clear_cache(
    config: Annotated[
        Path | None,
        Opt(help="Parameters YAML (for engine.cache_dir). Default: conf/base/parameters.yml."),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Remove the workbook copies custseg keeps (engine.cache_dir); nothing else there."""
    setup_logging(quiet)
    from custseg.config import load_settings
    from custseg.io.cache import clear_cache as clear

    with user_errors(memory_option=False):
        from custseg.config import EngineConfig
        from custseg.engines import local_folder, user_cache_dir

        configured = load_settings(config, {}).engine.cache_dir
        default = EngineConfig.model_fields["cache_dir"].default
        folder = local_folder(configured, default, user_cache_dir())
        removed = clear(folder)
    logging.getLogger("custseg").info("cache    removed %s file(s) from %s", removed, folder)
