"""What the command line prints: log lines, progress bars, one-line errors, the summary.

Logging goes through rich's console on stderr, so that log lines print above any live
progress bar; results go to stdout. Every error a user can cause ends here in one sentence
and exit code 2.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from custseg.errors import UserError
from custseg.signals import Terminated, stopped_by

__all__ = [
    "EXIT_USER_ERROR",
    "err",
    "leave",
    "log_outputs",
    "out",
    "outlive_readers",
    "progress_bars",
    "setup_logging",
    "summary_table",
    "user_errors",
]


class _Trimmed:
    """Standard output for a pipe or file, without the spaces Rich ends table lines with.

    Rich pads every line of a table (its title and caption too) to the table's width: on
    a screen they are nothing, in a file they are trailing spaces on every line. Rich
    writes each ``print`` whole, so each write's line ends are trimmed. The stream is looked
    up at each write (:func:`outlive_readers` and test runners replace it).
    """

    _PADDED = re.compile(r" +\n")

    def write(self, text: str) -> int:
        sys.stdout.write(self._PADDED.sub("\n", text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.stdout, name)


err = Console(stderr=True, highlight=False)
out = Console(highlight=False)
if not out.is_terminal:  # pipes and files: COLUMNS if set, else wide enough to cut nothing
    width = int(os.environ.get("COLUMNS", "200"))
    out = Console(highlight=False, width=width, file=_Trimmed())  # type: ignore[arg-type]

EXIT_USER_ERROR = 2


class _Outliving:
    """A standard stream that outlives its reader (``custseg run ... | head -3``).

    When the reader goes away, the next write fails with a broken pipe. The command's work
    is its files, not its console lines: the stream then writes to the null device instead,
    and the command goes on and ends as it would have (the log and the summary are lost,
    not the outputs).
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _lost(self) -> None:
        # Point the descriptor itself at the null device, so that the stream's buffered
        # text (and Python's own last flush) goes nowhere instead of failing again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            self._lost()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._lost()
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def outlive_readers() -> None:
    """Let stdout and stderr outlive their readers (see :class:`_Outliving`); once."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _Outliving):
            setattr(sys, name, _Outliving(stream))


class _ConsoleHandler(logging.Handler):
    """Log through the rich console, so lines print above any live progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        err.print(self.format(record), markup=False, highlight=False, soft_wrap=True)


def setup_logging(quiet: bool) -> None:
    """Send custseg's log to stderr through rich; only warnings and errors when quiet."""
    logger = logging.getLogger("custseg")
    logger.handlers.clear()
    handler = _ConsoleHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def log_outputs(written: list[Path], folder: Path) -> None:
    """Log the files a command wrote (paths inside ``folder``), and where."""
    names = ", ".join(
        str(p.relative_to(folder)) if p.is_relative_to(folder) else p.name for p in written
    )
    logging.getLogger("custseg").info("outputs  %s in %s", names, folder)


def _outputs_state() -> str:
    """Say whether a stopped command had moved its outputs into place (all of them or none)."""
    writers = sys.modules.get("custseg.io.writers")
    done = list(getattr(writers, "COMMITTED", []))
    if not done:
        return "no output was changed."
    return f"the outputs in {done[-1]} were all written before it stopped."


@contextmanager
def user_errors(*, memory_option: bool = True) -> Iterator[None]:
    """Turn a user's mistake into one line and exit 2; a bug into one line and exit 1.

    Interrupted (Ctrl-C) ends with exit 130. Outputs are written through staging folders,
    so in every case no output was changed. Running out of memory is the machine's limit
    (exit 2); the advice names ``--memory-limit`` where the command has it
    (``memory_option``).
    """
    try:
        yield
    except UserError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_USER_ERROR) from None
    except KeyboardInterrupt:
        err.print(f"interrupted; {_outputs_state()}")
        raise typer.Exit(130) from None
    except Terminated as exc:
        err.print(f"stopped by {exc}; {_outputs_state()}")
        raise typer.Exit(128 + exc.signum) from None
    except Exception as exc:  # a bug, not the user's fault: one line, unless debugging
        signum = stopped_by()
        if signum is not None:  # a library turned the signal into its own error
            import signal

            if signum == signal.SIGINT:
                err.print(f"interrupted; {_outputs_state()}")
                raise typer.Exit(130) from None
            err.print(f"stopped by {signal.Signals(signum).name}; {_outputs_state()}")
            raise typer.Exit(128 + signum) from None
        from custseg.errors import first_line, out_of_memory

        if (memory := out_of_memory(exc, option=memory_option)) is not None:  # not a bug
            err.print(f"[bold red]error:[/] {escape(memory)}", soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR) from None
        if os.environ.get("CUSTSEG_DEBUG"):
            raise

        first = escape(first_line(exc)[:300])
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {first}. No output was changed; "
            "rerun with CUSTSEG_DEBUG=1 for the traceback and report it.",
            soft_wrap=True,
            markup=True,
        )
        raise typer.Exit(1) from None


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Callable[[str, int], Callable[[int], None]] | None]:
    """Yield a progress-bar factory on a terminal (see :data:`custseg.progress.ProgressFactory`).

    Elsewhere, or when not ``enabled``, yield None: log lines say what happened.
    """
    if not enabled or not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
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


def summary_table(segments: Any, of: str = "") -> Table:
    """Return segments.csv as a table that fits 80 columns (``of``: said after the title)."""
    title = "Customer segments" + (f" of {of}" if of else "")
    table = Table(title=title, title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD)
    # Short headers so that the table fits 80 columns; the caption says what they mean (in
    # two lines of its width: wrapped by rich, a last word stood alone in the middle).
    headers = ["#", "persona", "customers", "share", "recency", "orders", "spend", "revenue"]
    table.caption = (
        "recency (days), orders and spend: means per customer;\nrevenue: share of all revenue"
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


def clv_table(personas: Any, horizon: int, alive: bool, after: str | None = None) -> Table:
    """Return clv_personas.csv as a table that fits 80 columns (churn only if informative).

    ``after``: the calibration end (``--calibration-end``), which the horizon follows.
    """
    when = (
        f"the {horizon} days after {after} (--calibration-end)" if after else f"next {horizon} days"
    )
    table = Table(
        title=f"Lifetime value by persona, {when}",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    headers = ["persona", "customers", "revenue", "share", "buy 30d", "per order", "clv"]
    if alive:
        headers.insert(5, "churn")
    table.caption = (
        "revenue: expected in the horizon; buy 30d: mean probability of a purchase in 30 days; "
        "per order: expected spend per purchase; clv: discounted"
        + ("; churn: mean churn probability" if alive else "")
    )
    for name in headers:
        table.add_column(name, justify="left" if name == "persona" else "right", no_wrap=True)
    for row in personas.itertuples():
        cells = [
            str(row.persona),
            f"{row.customers:,}",
            f"{row.expected_revenue:,.0f}",
            f"{row.share:.1%}",
            f"{row.p_purchase_30d:.0%}",
            f"{row.expected_spend_per_purchase:,.0f}",
            f"{row.clv:,.0f}",
        ]
        if alive:
            cells.insert(5, f"{row.churn_probability_mean:.0%}")
        table.add_row(*cells)
    return table


def plan_table(plan: Any, basis: str | None = None) -> Table:
    """Return plan.csv as a table that fits 80 columns (every figure is in plan.csv).

    ``basis`` (:func:`custseg.commands.plan.clv_basis`) ends the caption.
    """
    table = Table(
        title="Campaign plan (what-if)",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    headers = ["campaign", "persona", "customers", "+buyers", "+revenue", "cost", "profit"]
    headers.append("roi")
    table.caption = (
        "+buyers and +revenue: what the uplift adds in the campaign's days; profit: +revenue "
        "x margin - cost; roi: profit / cost (plan.csv has every figure)"
    ) + (f". {basis}" if basis else "")
    for name in headers:
        if name in ("campaign", "persona"):  # names wrap rather than push the figures off
            width = 8 if name == "campaign" else 11  # "Hibernating"
            table.add_column(name, justify="left", min_width=width, overflow="fold")
        else:
            table.add_column(name, justify="right", no_wrap=True)
    for row in plan.itertuples():
        table.add_row(
            str(row.campaign),
            str(row.persona),
            f"{row.customers:,}",
            f"{row.incremental_buyers:,.0f}",
            f"{row.incremental_revenue:,.0f}",
            f"{row.cost:,.0f}",
            f"{row.profit:,.0f}",
            f"{row.roi:.2f}",
        )
    return table


def leave(code: int) -> NoReturn:
    """End the process with ``code`` once the command is done, without the interpreter's teardown.

    Every output is written and closed by now, and the session's engine closed. What
    remains of a normal exit is running the ``atexit`` handlers (done here: the fitting
    worker is stopped, temporary folders removed, Spark stopped) and then freeing every
    module and object one by one, which took 0.3 s after importing pandas, scipy, Plotly
    and DuckDB and up to 0.5 s after a command (of a 3.5 s run), for nothing the user sees.
    The streams are flushed last (logging's own exit handler flushes its handlers).
    """
    import atexit
    import threading

    # Threads a normal exit would wait for (a pool's workers): their work is done, but a
    # thread still running keeps the usual exit, which waits for it.
    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.main_thread()
    ):
        sys.exit(code)
    run = getattr(atexit, "_run_exitfuncs", None)
    if run is None:  # not CPython: the usual exit
        sys.exit(code)
    run()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
