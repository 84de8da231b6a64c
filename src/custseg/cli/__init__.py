"""The ``custseg`` command line: parses options, calls the library, maps errors to exit codes.

Every command that reads order lines takes the same input options (columns, sheet, CSV
dialect, engine, config: :class:`custseg.cli.options.InputOptions`), and the cleaning, as-of
and model options where it has them, declared once in :mod:`custseg.cli.options`. Nothing
heavy is imported until a command runs, so ``custseg --help`` answers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from custseg.cli.console import (
    err,
    leave,
    log_outputs,
    out,
    outlive_readers,
    plan_table,
    progress_bars,
    setup_logging,
    summary_table,
    user_errors,
)
from custseg.cli.helptext import plain_help
from custseg.cli.options import (
    AsOfOption,
    CleaningOptions,
    ForceOption,
    InputOptions,
    ModelOptions,
    Options,
    QuietOption,
    QuietSummaryOption,
    QuietTableOption,
    ToDbOption,
    shared,
)
from custseg.errors import UserError
from custseg.worker import fit_ahead

if TYPE_CHECKING:  # pragma: no cover
    from custseg.config import Settings

__all__ = ["app", "main"]


plain_help()

app = typer.Typer(
    name="custseg",
    help="Customer segmentation from retail order lines: clean, RFM, K-Means, named personas.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
Opt = typer.Option
Arg = typer.Argument

_INPUT_HELP = (
    "Order lines: .xlsx, .csv, .csv.gz or .parquet (with --engine spark also a folder or URL)."
)


def _settings(inputs: InputOptions, *groups: Options, **extra: Any) -> Settings:
    """Load the YAML parameters (--config) and apply the options the user gave."""
    from custseg.config import load_settings

    overrides: dict[str, Any] = {}
    for group in (inputs, *groups):
        for key, value in group.overrides().items():
            if isinstance(value, dict):
                overrides.setdefault(key, {}).update(value)
            else:
                overrides[key] = value
    overrides.update(extra)
    return load_settings(inputs.config, overrides)


def _say_engine(settings: Settings, command: str) -> None:
    """Say which engine reads the order lines (and that nothing falls back to another)."""
    if settings.engine.name == "spark":
        import os

        master = settings.engine.spark_master
        where = (
            master
            or (
                f"SPARK_MASTER={os.environ['SPARK_MASTER']}" if "SPARK_MASTER" in os.environ else ""
            )
            or ("master from spark-submit" if "PYSPARK_GATEWAY_PORT" in os.environ else "")
            or "local[*], PySpark's default master"
        )
        logging.getLogger("custseg").info("engine   %s runs on Apache Spark (%s)", command, where)


def _check_out(source: Path | str, out_dir: Path, force: bool, model: Path | None = None) -> None:
    """Refuse, before any work, an --out that holds an input or is not custseg's.

    The inputs are the order lines and, where given, the model file (``--model``): outputs
    written over ``R/model.json`` would replace the model being read. See
    :func:`custseg.io.writers.check_out_dir` and :mod:`custseg.io.outputs`.
    """
    from custseg.io.outputs import forcing, writable
    from custseg.io.writers import check_out_dir

    check_out_dir(source, out_dir)
    if model is not None:
        check_out_dir(model, out_dir)
    if out_dir.expanduser().is_dir():
        with forcing(force):
            writable(out_dir.expanduser(), "--out")


def _forcing(force: bool) -> Any:
    from custseg.io.outputs import forcing

    return forcing(force)


def _check_db(url: str | None, out_dir: Path) -> None:
    """Refuse, before any work, a --to-db that is no database URL custseg writes."""
    from custseg.io.database import is_database, redact

    if url is not None and not is_database(url):
        raise UserError(
            f"--to-db {redact(url)}: give a database URL, postgresql://user@host/db or "
            "sqlite:///file.db."
        )
    if url is not None:  # reached now, not after the work
        from custseg.io.db_out import check_target

        check_target(url, out_dir)


def _to_db(url: str | None, command: str, result: Any, settings: Settings, source: Any) -> None:
    """Write the results into --to-db's database too (see custseg.commands.to_db)."""
    if url is None:
        return
    from custseg.commands.to_db import write_to_db
    from custseg.io.database import is_database, source_of

    shown = str(source)
    if is_database(shown):
        shown = source_of(shown, settings.columns.table, settings.columns.query).shown
    try:
        write_to_db(url, command, result, settings, shown)
    except UserError as exc:  # the files are in --out already: say so
        raise UserError(f"{exc} The files in --out were written.") from exc


#: Options that set DuckDB, which Spark does not read.
DUCKDB_ONLY = ("memory_limit", "temp_dir", "threads", "cache")


def _say_ignored(
    settings: Settings,
    inputs: InputOptions,
    *,
    cleaning: CleaningOptions | None = None,
    fit: ModelOptions | None = None,
    model: Path | None = None,
) -> None:
    """Warn about every option given that this command, so configured, does not use."""
    log = logging.getLogger("custseg")

    def note(flags: list[str], why: str) -> None:
        if flags:
            verb = "is" if len(flags) == 1 else "are"
            log.warning("note     %s %s ignored: %s", ", ".join(flags), verb, why)

    if settings.engine.name == "spark":
        note(inputs.given(*DUCKDB_ONLY), "they set DuckDB, and Spark reads the input")
    else:
        note(inputs.given("spark_master"), "the engine is DuckDB (see --engine)")
    if model is not None:
        if cleaning is not None:
            note(cleaning.given(), "the model's own cleaning rules are used (--model)")
        if fit is not None:
            note(fit.given(), "the personas come from the model, nothing is fitted (--model)")
    elif fit is not None and settings.model.k != "auto":
        given = "--k" if fit.given("k") else "k in the config file"
        note(fit.given("k_min", "k_max"), f"{given} = {settings.model.k}: only that k is scored")


@app.command()
@shared
def run(
    input_path: Annotated[
        str | None,
        Arg(
            metavar="INPUT",
            show_default=False,
            help=_INPUT_HELP + " Default: data/raw/online-retail.xlsx, else the synthetic default.",
        ),
    ] = None,
    out_dir: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/processed"),
    *,
    inputs: InputOptions,
    cleaning: CleaningOptions,
    as_of: AsOfOption,
    fit: ModelOptions,
    with_clv: Annotated[
        bool,
        Opt(
            "--with-clv",
            help="Add custseg clv's predictions (P(alive), churn, expected purchases and "
            "value, value tier, next purchase) to customers.csv and the persona cards; about "
            "1 s on the real workbook (YAML: predictions.with_clv).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        Opt(
            "--dry-run",
            help="Only say how INPUT is read (as custseg inspect does); write nothing.",
        ),
    ] = False,
    force: ForceOption = False,
    to_db: ToDbOption = None,
    quiet: QuietSummaryOption = False,
) -> None:
    """Segment the customers of INPUT and write the outputs to --out."""
    setup_logging(quiet)
    if not dry_run:
        fit_ahead(input_path)
    from custseg.commands import run as command
    from custseg.commands.common import SYNTHETIC_INPUT, resolve_input

    with user_errors():
        settings = _settings(inputs, cleaning, as_of, fit)
        if with_clv:
            predictions = settings.predictions.model_copy(update={"with_clv": True})
            settings = settings.model_copy(update={"predictions": predictions})
        _say_ignored(settings, inputs, fit=fit)
        url = input_path is not None and "://" in input_path
        path, note = resolve_input(
            input_path if url or input_path is None else Path(input_path), settings
        )
        synthetic = input_path is None and path == SYNTHETIC_INPUT
        # Results of made-up data must not pass for the user's: said even with --quiet.
        logging.getLogger("custseg").log(logging.WARNING if synthetic else logging.INFO, note)
        if not dry_run:
            _check_out(path, out_dir, force)
            _check_db(to_db, out_dir)
        _say_engine(settings, "run")
        if dry_run:
            _inspect(path, settings, None, quiet)
            return
        with progress_bars(not quiet) as bars:
            result = command.segment(path, settings, progress=bars)
        with _forcing(force):
            written = command.write_outputs(result, out_dir)
        log_outputs(written, out_dir)
        _to_db(to_db, "run", result, settings, path)
    out.print(summary_table(result.segments, "the synthetic default data" if synthetic else ""))
    chosen = result.model.k_selection.reason
    out.print(f"Why k={result.model.k}: {chosen}", soft_wrap=True)


@app.command()
@shared
def score(
    input_path: Annotated[str, Arg(metavar="ORDERS", help="Order lines to score.")],
    model: Annotated[
        Path | None,
        Opt(
            "--model",
            "-m",
            help="A model.json written by run; default: the newer of models/model.json "
            "(make run) and data/processed/model.json (custseg run), the log says which.",
        ),
    ] = None,
    out_dir: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/scored"),
    *,
    inputs: InputOptions,
    as_of: AsOfOption,
    force: ForceOption = False,
    quiet: QuietSummaryOption = False,
) -> None:
    """Assign the customers of ORDERS to a saved model's personas, without refitting.

    Cleaning rules come from the model; customers.csv has the layout run writes.
    """
    setup_logging(quiet)
    from custseg.commands import score as command

    with user_errors():
        settings = _settings(inputs, as_of)
        _say_ignored(settings, inputs)
        model = _default_model(model)
        _check_out(input_path, out_dir, force, model)
        _say_engine(settings, "score")
        with progress_bars(not quiet) as bars:
            result = command.score(input_path, model, settings, progress=bars)
        with _forcing(force):
            written = command.write_scores(result, out_dir)
        log_outputs(written, out_dir)
    counts = result.customers["persona"].value_counts()
    order = dict.fromkeys(result.model.model().personas)  # the model's order, as the log's
    out.print(
        f"{len(result.customers):,} customers scored: "
        + ", ".join(f"{p} {int(counts.get(p, 0)):,}" for p in order),
        soft_wrap=True,
    )


#: Where ``score`` looks for its model by default, and where ``run`` writes one by default.
_SAVED_MODEL, _RUN_MODEL = Path("models/model.json"), Path("data/processed/model.json")


def _default_model(model: Path | None) -> Path:
    """Return ``model``, else the newer of models/model.json and data/processed/model.json.

    ``make run`` copies its model to models/; ``custseg run`` alone writes data/processed/
    only. Without --model the newer of the two is the last run's model, whichever wrote
    it: models/model.json alone was taken before, so an earlier ``make run`` on other data
    scored with a stale model without a word. The log says which file, and warns when the
    other one holds a different model.
    """
    if model is not None:
        return model
    found = [path for path in (_SAVED_MODEL, _RUN_MODEL) if path.is_file()]
    if not found:
        raise UserError(
            f"No model at {_SAVED_MODEL} (make run copies one there) nor at {_RUN_MODEL} "
            "(where custseg run writes one): run custseg run first, or name a model.json "
            "with --model."
        )
    chosen = max(found, key=lambda path: path.stat().st_mtime)  # a tie: models/
    other = _RUN_MODEL if chosen == _SAVED_MODEL else _SAVED_MODEL
    log = logging.getLogger("custseg")
    if other not in found:
        log.info("model    %s (no --model given; %s is absent)", chosen, other)
    elif other.read_bytes() == chosen.read_bytes():
        log.info("model    %s (no --model given; %s is the same model)", chosen, other)
    else:
        log.warning(
            "model    using %s, the newer of the two default models (%s is older and "
            "differs); give --model to choose",
            chosen,
            other,
        )
    return chosen


@app.command()
@shared
def migrate(
    input_path: Annotated[str, Arg(metavar="INPUT", help="Order lines.")],
    dates: Annotated[
        list[str],
        Opt("--as-of", help="Two dates: the first and the second snapshot (give it twice)."),
    ],
    out_dir: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/migration"),
    model: Annotated[
        Path | None,
        Opt(
            "--model",
            "-m",
            help="Assign both snapshots with this model.json (default: fit "
            "one on the first snapshot).",
        ),
    ] = None,
    *,
    inputs: InputOptions,
    cleaning: CleaningOptions,
    fit: ModelOptions,
    force: ForceOption = False,
    to_db: ToDbOption = None,
    quiet: QuietSummaryOption = False,
) -> None:
    """Segment two snapshots with one model and show who moved between personas."""
    setup_logging(quiet)
    if model is None:
        fit_ahead(input_path)
    from custseg.commands import migrate as command

    with user_errors():
        if len(dates) != 2:
            raise UserError(
                f"--as-of must be given twice (two snapshots), not {len(dates)} time(s)."
            )
        parsed = [_settings(inputs, AsOfOption(a)).as_of for a in dates]
        assert parsed[0] is not None and parsed[1] is not None
        settings = _settings(inputs, cleaning, fit)
        _say_ignored(settings, inputs, cleaning=cleaning, fit=fit, model=model)
        _check_out(input_path, out_dir, force, model)
        _check_db(to_db, out_dir)
        _say_engine(settings, "migrate")
        with progress_bars(not quiet) as bars:
            result = command.migrate(
                input_path, parsed[0], parsed[1], settings, model_path=model, progress=bars
            )
        with _forcing(force):
            written = command.write_migration(result, out_dir)
        log_outputs(written, out_dir)
        _to_db(to_db, "migrate", result, settings, input_path)
    out.print(result.log["sentence"], soft_wrap=True)
    out.print("The flows are in migration.csv and migration.html.", soft_wrap=True)


@app.command()
@shared
def clv(
    input_path: Annotated[str, Arg(metavar="INPUT", help="Order lines.")],
    calibration_end: Annotated[
        str | None,
        Opt(
            help="Fit every model on purchase days up to and including this date, backtest "
            "and predict the next --horizon days (default: choose the model on the last 25% "
            "of the data's time span, refit it on all the data, predict after it)."
        ),
    ] = None,
    horizon: Annotated[int, Opt(help="Days to predict.")] = 90,
    discount_rate: Annotated[
        float, Opt(help="Annual discount rate for clv, 0 to 1 (0.1 = 10%).")
    ] = 0.1,
    saved_model: Annotated[
        Path | None,
        Opt(
            "--model",
            "-m",
            help="Predict with the clv_model.json of an earlier clv run: no fitting, no backtest.",
        ),
    ] = None,
    draws: Annotated[
        int, Opt(help="Parameter draws for the 90% intervals of each customer (0: none).")
    ] = 200,
    out_dir: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/clv"),
    *,
    inputs: InputOptions,
    cleaning: CleaningOptions,
    as_of: AsOfOption,
    fit: ModelOptions,
    force: ForceOption = False,
    to_db: ToDbOption = None,
    quiet: QuietSummaryOption = False,
) -> None:
    """Predict each customer's purchases, churn risk and value (the backtest's best model)."""
    setup_logging(quiet)
    fit_ahead(input_path)
    import datetime as dt

    from custseg.commands import clv as command

    with user_errors():
        settings = _settings(inputs, cleaning, as_of, fit)
        _say_ignored(settings, inputs, fit=fit)
        end = None
        if calibration_end is not None:
            try:
                end = dt.date.fromisoformat(calibration_end)
            except ValueError as exc:
                raise UserError(
                    f"Invalid value for --calibration-end: {calibration_end!r} is not a date "
                    "such as 2011-09-09."
                ) from exc
        if not 0 <= draws <= 10_000:
            raise UserError(f"Invalid value for --draws: {draws} (use 0 to 10,000).")
        if not 0 <= discount_rate <= 1:  # 5 meant 5%, not 500% a year
            raise UserError(
                f"Invalid value for --discount-rate: {discount_rate} (the yearly rate as a "
                "fraction from 0 to 1: use 0.1 for 10%)."
            )
        _check_out(input_path, out_dir, force, saved_model)
        _check_db(to_db, out_dir)
        _say_engine(settings, "clv")
        with progress_bars(not quiet) as bars:
            result = command.lifetime_value(
                input_path,
                settings,
                calibration_end=end,
                horizon=horizon,
                discount_rate=discount_rate,
                model_file=saved_model,
                draws=draws,
                progress=bars,
            )
        with _forcing(force):
            written = command.write_clv(result, out_dir)
        log_outputs(written, out_dir)
        _to_db(to_db, "clv", result, settings, input_path)
    from custseg.cli.console import clv_table

    params = result.params
    alive = bool(params["p_alive_informative"])
    after = None if end is None else f"{end:%Y-%m-%d}"
    out.print(clv_table(result.personas, horizon, alive, after))
    if result.backtest is not None:
        out.print(params["choice"]["reason"], soft_wrap=True)
        out.print("The backtest of every model is in backtest.csv and clv.html.", soft_wrap=True)


@app.command()
@shared
def cohorts(
    input_path: Annotated[str, Arg(metavar="INPUT", help="Order lines.")],
    out_dir: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/cohorts"),
    model: Annotated[
        Path | None,
        Opt(
            "--model",
            "-m",
            help="Take the personas from this model.json, without refitting (default: fit "
            "them as run does).",
        ),
    ] = None,
    *,
    inputs: InputOptions,
    cleaning: CleaningOptions,
    as_of: AsOfOption,
    fit: ModelOptions,
    force: ForceOption = False,
    to_db: ToDbOption = None,
    quiet: QuietSummaryOption = False,
) -> None:
    """Compute monthly cohort retention and revenue, and a retention curve per persona."""
    setup_logging(quiet)
    if model is None:
        fit_ahead(input_path)
    from custseg.commands import cohorts as command

    with user_errors():
        settings = _settings(inputs, cleaning, as_of, fit)
        _say_ignored(settings, inputs, cleaning=cleaning, fit=fit, model=model)
        _check_out(input_path, out_dir, force, model)
        _check_db(to_db, out_dir)
        _say_engine(settings, "cohorts")
        with progress_bars(not quiet) as bars:
            result = command.cohorts(input_path, settings, model_path=model, progress=bars)
        with _forcing(force):
            written = command.write_cohorts(result, out_dir)
        log_outputs(written, out_dir)
        _to_db(to_db, "cohorts", result, settings, input_path)
    from custseg.cohorts import headline

    out.print(headline(result.cohorts), soft_wrap=True)


def _inspect(path: Path | str, settings: Settings, save: Path | None, quiet: bool) -> None:
    from rich.table import Table

    from custseg.commands.inspect import check_save, inspect_input, save_mapping

    if save is not None:
        check_save(save)  # before the input is read
    with progress_bars(not quiet) as bars:
        found = inspect_input(path, settings, progress=bars)
    table = Table(title="How custseg reads it", show_header=False, box=None)
    for what, value in found.rows:
        table.add_row(what, escape(value))
    out.print(table)
    if save is not None:
        save_mapping(found, save)
        logging.getLogger("custseg").info("saved    %s (use it with --config)", save)


@app.command()
@shared
def inspect(
    input_path: Annotated[str, Arg(metavar="INPUT", help=_INPUT_HELP)],
    save: Annotated[
        Path | None,
        Opt(
            "--save",
            metavar="YAML",
            help="Also write what was found as a parameters file, for --config.",
        ),
    ] = None,
    *,
    inputs: InputOptions,
    quiet: QuietTableOption = False,
) -> None:
    """Say how INPUT is read: layout, columns, encoding, decimals, dates, time zone, currency."""
    setup_logging(quiet)
    with user_errors():
        settings = _settings(inputs)
        _say_engine(settings, "inspect")
        _inspect(input_path, settings, save, quiet)


@app.command()
def plan(
    campaigns: Annotated[
        Path, typer.Argument(metavar="CAMPAIGNS", help="A YAML list of campaigns.")
    ],
    clv_dir: Annotated[
        Path, Opt("--clv", help="A folder written by custseg clv (clv_personas.csv).")
    ] = Path("data/clv"),
    out_dir: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/plan"),
    force: ForceOption = False,
    quiet: QuietTableOption = False,
) -> None:
    """Compute campaigns' expected incremental revenue and profit (what-if, not causal)."""
    setup_logging(quiet)
    from custseg.commands.plan import clv_basis, plan_campaigns, write_plan
    from custseg.io.writers import check_out_dir

    campaigns, clv_dir, out_dir = (p.expanduser() for p in (campaigns, clv_dir, out_dir))
    with user_errors(memory_option=False):
        check_out_dir(campaigns, out_dir)
        check_out_dir(clv_dir, out_dir)  # the folder read is not the folder written
        table = plan_campaigns(campaigns, clv_dir)
        with _forcing(force):
            written = write_plan(table, out_dir)
        log_outputs(written, out_dir)
    out.print(plan_table(table, clv_basis(clv_dir)))


@app.command()
def report(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="A run's output folder.")
    ] = Path("data/processed"),
    figures: Annotated[Path, Opt(help="Folder for the PNG figures.")] = Path("reports/figures"),
    html_out: Annotated[Path | None, Opt("--html", help="Also copy report.html here.")] = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write a run's charts as PNG files for slides (and optionally copy its report.html)."""
    setup_logging(quiet)
    from custseg.io import atomic_write_text
    from custseg.io.outputs import own_file
    from custseg.io.writers import check_out_dir
    from custseg.reporting import is_custseg_page, load_run, render_report, write_figures

    log = logging.getLogger("custseg")
    run_dir, figures = run_dir.expanduser(), figures.expanduser()
    html_out = html_out.expanduser() if html_out is not None else None
    with user_errors(memory_option=False):
        check_out_dir(run_dir, figures, "--figures")  # figures over the run would replace it
        if html_out is not None:  # a page of custseg's, or a new file
            own_file(html_out, "--html", is_custseg_page, "report page")
        result = load_run(run_dir)
        if html_out is not None:
            atomic_write_text(html_out, render_report(result))
            log.info("report   %s", html_out)
        with _forcing(force):
            written = write_figures(result, figures)
    log.info("figures  %s in %s", ", ".join(p.name for p in written), figures)


# custseg export (audiences for the campaign tools), synth, download and clear-cache: their
# own modules.
from custseg.cli import export as _export  # noqa: E402, F401
from custseg.cli import tools as _tools  # noqa: E402, F401


def _alike(option: str, names: Sequence[str]) -> list[str]:
    """Keep the option names like ``option`` by their words, not by their shared ``--``.

    Click compares names dashes included, so --frobnicate suggested --force.
    """
    from difflib import get_close_matches

    bare = option.lstrip("-")
    return [n for n in names if get_close_matches(bare, [n.lstrip("-")], cutoff=0.6)]


def main() -> None:
    """Entry point of the ``custseg`` console script.

    Usage mistakes (an unknown option, ``--seed abc``) end like every user error: one line
    on stderr and exit code 2, instead of Click's framed box.
    """
    import sys

    # Typer vendors Click; its exceptions are not re-exported under a public name.
    from typer._click.exceptions import ClickException, NoSuchOption

    from custseg.signals import Terminated, install

    install()  # SIGTERM and SIGHUP end a command as Ctrl-C does (staging removed, a message)
    outlive_readers()  # `custseg run ... | head` still writes every output
    try:
        code = app(standalone_mode=False)
    except ClickException as exc:
        if isinstance(exc, NoSuchOption) and exc.possibilities:
            exc.possibilities = _alike(exc.option_name, exc.possibilities)
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = exc.format_message().rstrip(".")
        err.print(f"[bold red]error:[/] {escape(message + where)}.", soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("interrupted; no output was changed.")
        sys.exit(130)
    except Terminated as exc:
        err.print(f"stopped by {exc}; no output was changed.")
        sys.exit(128 + exc.signum)
    leave(code if isinstance(code, int) else 0)
