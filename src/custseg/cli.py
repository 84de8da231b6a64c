"""The ``custseg`` command line: parses options, calls the library, maps errors to exit codes."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from custseg.errors import UserError

__all__ = ["app", "main"]

app = typer.Typer(
    name="custseg",
    help="Customer segmentation from retail order lines: clean, RFM, K-Means, named personas.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False)
if not _out.is_terminal:  # pipes and files: COLUMNS if set, else wide enough to cut nothing
    _out = Console(highlight=False, width=int(os.environ.get("COLUMNS", "200")))

EXIT_USER_ERROR = 2


class _ConsoleHandler(logging.Handler):
    """Log through the rich console, so lines print above any live progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        _err.print(self.format(record), markup=False, highlight=False, soft_wrap=True)


def _setup_logging(quiet: bool) -> None:
    logger = logging.getLogger("custseg")
    logger.handlers.clear()
    handler = _ConsoleHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def _log_outputs(written: list[Path], out: Path) -> None:
    logging.getLogger("custseg").info("outputs  %s in %s", ", ".join(p.name for p in written), out)


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except UserError as exc:
        _err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USER_ERROR) from None
    except KeyboardInterrupt:
        _err.print("interrupted; no output was changed.")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug, not the user's fault: one line, unless debugging
        if os.environ.get("CUSTSEG_DEBUG"):
            raise
        from custseg.io import first_line

        first = escape(first_line(exc)[:300])
        _err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {first}. No output was changed; "
            "rerun with CUSTSEG_DEBUG=1 for the traceback and report it.",
            soft_wrap=True,
            markup=True,
        )
        raise typer.Exit(1) from None


@contextmanager
def _progress_bars(enabled: bool) -> Iterator[Callable[[str, int], Callable[[int], None]] | None]:
    if not enabled or not _err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    ) as bars:

        def factory(description: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(description, total=total)

            def advance(n: int) -> None:
                bars.advance(task, n)
                if any(t.id == task and t.finished for t in bars.tasks):  # leave no finished bar
                    bars.remove_task(task)

            return advance

        yield factory


def _summary_table(segments: Any) -> Table:
    table = Table(title="Customer segments", title_justify="left", box=box.SIMPLE_HEAD)
    # Short headers so that the table fits 80 columns; the caption says what they mean.
    headers = ["#", "persona", "customers", "share", "recency", "orders", "spend", "revenue"]
    table.caption = (
        "recency (days), orders and spend: means per customer; revenue: share of all revenue"
    )
    for name in headers:
        table.add_column(name, justify="left" if name == "persona" else "right", no_wrap=True)
    for row in segments.itertuples():
        table.add_row(
            str(row.cluster),
            row.persona,
            f"{row.customers:,}",
            f"{row.share:.1%}",
            f"{row.recency_days_mean:,.0f}",
            f"{row.frequency_mean:,.1f}",
            f"{row.monetary_mean:,.0f}",
            f"{row.revenue_share:.1%}",
        )
    return table


Opt = typer.Option


@app.command()
def run(
    input_path: Annotated[
        str | None,
        typer.Argument(
            metavar="[INPUT]",
            show_default=False,
            help="Order lines: .xlsx, .csv, .csv.gz or .parquet (with --engine spark also a "
            "folder or URL). Default: data/raw/online-retail.xlsx, else the synthetic default.",
        ),
    ] = None,
    out: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/processed"),
    config: Annotated[
        Path | None, Opt(help="Parameters YAML. Default: conf/base/parameters.yml if present.")
    ] = None,
    customer_col: Annotated[str | None, Opt(help="Customer id column.")] = None,
    invoice_col: Annotated[
        str | None,
        Opt(help="Invoice/order id column; without one, each (customer, timestamp) is an order."),
    ] = None,
    date_col: Annotated[str | None, Opt(help="Order timestamp column.")] = None,
    quantity_col: Annotated[str | None, Opt(help="Quantity column.")] = None,
    price_col: Annotated[str | None, Opt(help="Unit price column.")] = None,
    amount_col: Annotated[
        str | None, Opt(help="Line total column (replaces quantity x price).")
    ] = None,
    sheet: Annotated[str | None, Opt(help="Excel sheet (default: the first).")] = None,
    delimiter: Annotated[
        str | None, Opt(help="CSV delimiter (default: sniffed); 'tab' for tab.")
    ] = None,
    decimal: Annotated[str | None, Opt(help="CSV decimal separator: '.' or ','.")] = None,
    encoding: Annotated[str | None, Opt(help="CSV text encoding (default utf-8).")] = None,
    date_format: Annotated[str | None, Opt(help="Date format, e.g. '%d/%m/%Y %H:%M'.")] = None,
    as_of: Annotated[
        str | None,
        Opt(
            help="Reference date for recency, e.g. 2011-12-10. Default: last kept purchase + 1 day."
        ),
    ] = None,
    k: Annotated[str | None, Opt("--k", help="Number of segments: 'auto' or an integer.")] = None,
    k_min: Annotated[int | None, Opt(help="Smallest k scored (default 2).")] = None,
    k_max: Annotated[int | None, Opt(help="Largest k scored (default 10).")] = None,
    seed: Annotated[int | None, Opt(help="Random seed (default 0).")] = None,
    drop_cancelled: Annotated[
        bool | None,
        Opt(
            "--drop-cancelled/--keep-cancelled",
            help="Drop 'C' invoices (default: drop).",
            show_default=False,
        ),
    ] = None,
    drop_returns: Annotated[
        bool | None,
        Opt(
            "--drop-returns/--keep-returns",
            help="Drop quantity <= 0 lines (default: drop).",
            show_default=False,
        ),
    ] = None,
    drop_free: Annotated[
        bool | None,
        Opt(
            "--drop-non-positive-price/--keep-non-positive-price",
            help="Drop price (or amount) <= 0 lines (default: drop).",
            show_default=False,
        ),
    ] = None,
    drop_duplicates: Annotated[
        bool | None,
        Opt(
            "--drop-duplicates/--keep-duplicates",
            help="Drop exact duplicate rows (default: keep).",
            show_default=False,
        ),
    ] = None,
    returns: Annotated[
        str | None,
        Opt(
            help="'drop' return lines (cancellations, negative quantities; the default) or "
            "'net' them against each customer's purchases.",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        Opt(
            help="'duckdb' (this machine, the default) or 'spark' (needs "
            "pip install 'custseg[spark]'); INPUT may then be a folder or an s3a:// or hdfs:// URL."
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        Opt(
            help="Spark master URL, e.g. local[2] or spark://host:7077 (default: spark-submit's, "
            "SPARK_MASTER, else local[*])."
        ),
    ] = None,
    memory_limit: Annotated[
        str | None,
        Opt(help="DuckDB memory limit, e.g. 4GB (default 80% of RAM); beyond it DuckDB spills."),
    ] = None,
    temp_dir: Annotated[
        str | None, Opt(help="Where DuckDB spills (default data/interim/duckdb-tmp).")
    ] = None,
    threads: Annotated[int | None, Opt(help="DuckDB threads (default: all cores).")] = None,
    cache: Annotated[
        bool | None,
        Opt(
            "--cache/--no-cache",
            help="Read workbooks through a Parquet copy in data/interim/cache (default: on).",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[bool, Opt("--quiet", "-q", help="Only errors and the summary.")] = False,
) -> None:
    """Segment the customers of INPUT and write the outputs to --out."""
    _setup_logging(quiet)
    from custseg.commands.common import resolve_input
    from custseg.commands.run import segment, write_outputs
    from custseg.config import load_settings

    overrides: dict[str, Any] = {
        "columns": {
            "customer": customer_col,
            "invoice": invoice_col,
            "date": date_col,
            "quantity": quantity_col,
            "price": price_col,
            "amount": amount_col,
            "sheet": sheet,
        },
        "csv": {
            "delimiter": delimiter,
            "decimal": decimal,
            "encoding": encoding,
            "date_format": date_format,
        },
        "cleaning": {
            "drop_cancelled": drop_cancelled,
            "drop_non_positive_quantity": drop_returns,
            "drop_non_positive_price": drop_free,
            "drop_duplicates": drop_duplicates,
            "returns": returns,
        },
        "model": {"k": k, "k_min": k_min, "k_max": k_max, "seed": seed},
        "engine": {
            "name": engine,
            "spark_master": spark_master,
            "memory_limit": memory_limit,
            "temp_directory": temp_dir,
            "threads": threads,
            "cache": cache,
        },
        "as_of": as_of,
    }
    log = logging.getLogger("custseg")
    with _user_errors():
        settings = load_settings(config, overrides)
        url = input_path is not None and "://" in input_path
        path, note = resolve_input(
            input_path if url or input_path is None else Path(input_path), settings
        )
        log.info(note)
        with _progress_bars(not quiet) as bars:
            result = segment(path, settings, progress=bars)
        written = write_outputs(result, out)
        _log_outputs(written, out)
    _out.print(_summary_table(result.segments))
    chosen = result.model["k_selection"]["reason"]
    _out.print(f"Why k={result.model['k']}: {chosen}", soft_wrap=True)


@app.command()
def score(
    input_path: Annotated[Path, typer.Argument(metavar="ORDERS", help="Order lines to score.")],
    model: Annotated[Path, Opt("--model", "-m", help="A model.json written by run.")] = Path(
        "models/model.json"
    ),
    out: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/scored"),
    config: Annotated[
        Path | None, Opt(help="Parameters YAML for column names and the CSV dialect.")
    ] = None,
    as_of: Annotated[
        str | None, Opt(help="Reference date (default: last kept purchase + 1 day).")
    ] = None,
    quiet: Annotated[bool, Opt("--quiet", "-q", help="Only errors and the summary.")] = False,
) -> None:
    """Assign the customers of ORDERS to a saved model's personas, without refitting.

    Cleaning rules come from the model; customers.csv has the layout run writes.
    """
    _setup_logging(quiet)
    from custseg.commands.score import score as score_orders
    from custseg.commands.score import write_scores
    from custseg.config import load_settings

    with _user_errors():
        settings = load_settings(config, {"as_of": as_of})
        with _progress_bars(not quiet) as bars:
            result = score_orders(input_path, model, settings, progress=bars)
        written = write_scores(result, out)
        _log_outputs(written, out)
    counts = result.customers["persona"].value_counts()
    _out.print(
        f"{len(result.customers):,} customers scored: "
        + ", ".join(f"{p} {n:,}" for p, n in counts.items()),
        soft_wrap=True,
    )


@app.command()
def migrate(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Order lines.")],
    as_of: Annotated[
        list[str],
        Opt("--as-of", help="Two dates: the first and the second snapshot (give it twice)."),
    ],
    out: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/migration"),
    model: Annotated[
        Path | None,
        Opt(
            "--model",
            "-m",
            help="Assign both snapshots with this model.json (default: fit "
            "one on the first snapshot).",
        ),
    ] = None,
    config: Annotated[Path | None, Opt(help="Parameters YAML.")] = None,
    quiet: Annotated[bool, Opt("--quiet", "-q", help="Only errors and the summary.")] = False,
) -> None:
    """Segment two snapshots with one model and show who moved between personas."""
    _setup_logging(quiet)
    from custseg.commands.migrate import migrate as migrate_snapshots
    from custseg.commands.migrate import write_migration
    from custseg.config import load_settings

    with _user_errors():
        if len(as_of) != 2:
            raise UserError(
                f"--as-of must be given twice (two snapshots), not {len(as_of)} time(s)."
            )
        dates = [load_settings(config, {"as_of": a}).as_of for a in as_of]
        assert dates[0] is not None and dates[1] is not None
        settings = load_settings(config, {})
        with _progress_bars(not quiet) as bars:
            result = migrate_snapshots(
                input_path,
                dates[0],
                dates[1],
                settings,
                model_path=model,
                progress=bars,  # type: ignore[arg-type]
            )
        written = write_migration(result, out)
        _log_outputs(written, out)
    _out.print(result.log["sentence"], soft_wrap=True)
    _out.print(
        f"{len(result.moved):,} customers moved from a valuable persona to an at-risk one "
        f"(movers.csv); the flows are in migration.csv and migration.html.",
        soft_wrap=True,
    )


@app.command()
def clv(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Order lines.")],
    calibration_end: Annotated[
        str | None,
        Opt(
            help="Fit on purchase days up to and including this date, then backtest the "
            "next --horizon days (default: fit on all the data, no backtest)."
        ),
    ] = None,
    horizon: Annotated[int, Opt(help="Days to predict.")] = 90,
    discount_rate: Annotated[float, Opt(help="Annual discount rate for clv (0.1 = 10%).")] = 0.1,
    out: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/clv"),
    config: Annotated[Path | None, Opt(help="Parameters YAML.")] = None,
    quiet: Annotated[bool, Opt("--quiet", "-q", help="Only errors and the summary.")] = False,
) -> None:
    """Predict each customer's purchases and spend (BG/NBD + Gamma-Gamma), with a backtest."""
    _setup_logging(quiet)
    import datetime as dt

    from custseg.commands.clv import lifetime_value, write_clv
    from custseg.config import load_settings

    with _user_errors():
        settings = load_settings(config, {})
        end = None
        if calibration_end is not None:
            try:
                end = dt.date.fromisoformat(calibration_end)
            except ValueError as exc:
                raise UserError(
                    f"Invalid value for --calibration-end: {calibration_end!r} is not a date "
                    "such as 2011-09-09."
                ) from exc
        if not 0 <= discount_rate < 10:
            raise UserError(
                f"Invalid value for --discount-rate: {discount_rate} (use 0.1 for 10%)."
            )
        with _progress_bars(not quiet) as bars:
            result = lifetime_value(
                input_path,
                settings,
                calibration_end=end,
                horizon=horizon,
                discount_rate=discount_rate,
                progress=bars,
            )
        written = write_clv(result, out)
        _log_outputs(written, out)
    _out.print(result.personas.round(3).to_string(index=False))
    if result.backtest is not None:
        _out.print(result.backtest.round(3).to_string(index=False))


@app.command()
def cohorts(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Order lines.")],
    out: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/cohorts"),
    config: Annotated[Path | None, Opt(help="Parameters YAML.")] = None,
    quiet: Annotated[bool, Opt("--quiet", "-q", help="Only errors and the summary.")] = False,
) -> None:
    """Compute monthly cohort retention and revenue, and a retention curve per persona."""
    _setup_logging(quiet)
    from custseg.commands.cohorts import cohorts as cohort_tables
    from custseg.commands.cohorts import write_cohorts
    from custseg.config import load_settings

    with _user_errors():
        settings = load_settings(config, {})
        with _progress_bars(not quiet) as bars:
            result = cohort_tables(input_path, settings, progress=bars)
        written = write_cohorts(result, out)
        _log_outputs(written, out)
    first = result.cohorts[result.cohorts["month_index"] == 1]
    _out.print(
        f"{result.cohorts['cohort'].nunique()} cohorts; on average "
        f"{first['retention'].mean():.0%} of a cohort buys again the month after its first "
        "purchase.",
        soft_wrap=True,
    )


@app.command()
def plan(
    campaigns: Annotated[
        Path, typer.Argument(metavar="CAMPAIGNS", help="A YAML list of campaigns.")
    ],
    clv_dir: Annotated[
        Path, Opt("--clv", help="A folder written by custseg clv (clv_personas.csv).")
    ] = Path("data/clv"),
    out: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/plan"),
) -> None:
    """Compute campaigns' expected incremental revenue and profit (what-if, not causal)."""
    _setup_logging(False)
    from custseg.commands.plan import plan_campaigns, write_plan

    with _user_errors():
        table = plan_campaigns(campaigns, clv_dir)
        written = write_plan(table, out)
        _log_outputs(written, out)
    _out.print(table.round(2).to_string(index=False))


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run's output folder.")] = Path(
        "data/processed"
    ),
    figures: Annotated[Path, Opt(help="Folder for the PNG figures.")] = Path("reports/figures"),
    html_out: Annotated[Path | None, Opt("--html", help="Also copy report.html here.")] = None,
    quiet: Annotated[bool, Opt("--quiet", "-q")] = False,
) -> None:
    """Write a run's charts as PNG files for slides (and optionally copy its report.html)."""
    _setup_logging(quiet)
    from custseg.io import atomic_write_text
    from custseg.reporting import load_run, render_report, write_figures

    log = logging.getLogger("custseg")
    with _user_errors():
        result = load_run(run_dir)
        if html_out is not None:
            atomic_write_text(html_out, render_report(result))
            log.info("report   %s", html_out)
        written = write_figures(result, figures)
    log.info("figures  %s in %s", ", ".join(p.name for p in written), figures)


@app.command()
def synth(
    out: Annotated[Path, Opt("--out", "-o", help="Output file: .parquet, .csv or .csv.gz.")] = Path(
        "data/raw/synthetic-orders.parquet"
    ),
    customers: Annotated[int, Opt("--customers", "-n", min=10, help="Number of customers.")] = 4000,
    seed: Annotated[int, Opt(min=0, help="Random seed.")] = 0,
    quiet: Annotated[bool, Opt("--quiet", "-q")] = False,
) -> None:
    """Write synthetic order lines with known latent segments (and <stem>_truth.csv)."""
    _setup_logging(quiet)
    from custseg.synth import write_synthetic

    with _user_errors():
        info = write_synthetic(out, customers=customers, seed=seed)
    logging.getLogger("custseg").info(
        "synth    %s order lines for %s customers in %s; latent types in %s",
        f"{info['rows']:,}",
        f"{customers:,}",
        out,
        info["truth"],
    )


@app.command()
def download(
    dest: Annotated[Path, Opt(help="Where to put the workbook.")] = Path(
        "data/raw/online-retail.xlsx"
    ),
    url: Annotated[str | None, Opt(help="Zip to fetch (default: the UCI archive).")] = None,
    quiet: Annotated[bool, Opt("--quiet", "-q")] = False,
) -> None:
    """Fetch the UCI Online Retail workbook and check its structure."""
    _setup_logging(quiet)
    from custseg.download import UCI_URL, fetch_online_retail

    with _user_errors():
        rows = fetch_online_retail(dest, url=url or UCI_URL)
    logging.getLogger("custseg").info("download %s rows checked; saved to %s", f"{rows:,}", dest)


def main() -> None:
    """Entry point of the ``custseg`` console script.

    Usage mistakes (an unknown option, ``--seed abc``) end like every user error: one line
    on stderr and exit code 2, instead of Click's framed box.
    """
    import sys

    # Typer vendors Click; its exceptions are not re-exported under a public name.
    from typer._click.exceptions import ClickException

    try:
        code = app(standalone_mode=False)
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = exc.format_message().rstrip(".")
        _err.print(f"[bold red]error:[/] {escape(message + where)}.", soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        _err.print("interrupted; no output was changed.")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
