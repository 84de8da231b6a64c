"""Stage logging with timings, and progress hooks for long steps."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

__all__ = ["ProgressFactory", "StageTimer", "logger"]

logger = logging.getLogger("custseg")

#: ``factory(description, total)`` returns ``advance(n)``, or a no-op; the CLI draws a bar.
ProgressFactory = Callable[[str, int], Callable[[int], None]]


def _no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda n: None


class StageTimer:
    """Log each stage's outcome and duration, and keep the durations for run_log.json.

    Parameters
    ----------
    progress : ProgressFactory, optional
        Makes progress callbacks for long steps; default: none.
    silent : bool
        Time without logging (for stages run inside another, e.g. the holdout check).
    """

    def __init__(self, progress: ProgressFactory | None = None, *, silent: bool = False) -> None:
        self.timings: dict[str, float] = {}
        self.progress: ProgressFactory = progress or _no_progress
        self.silent = silent

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[list[str]]:
        """Time a stage; append a summary sentence to the yielded list to log it.

        Parameters
        ----------
        name : str
            Stage name (a key of ``timings``).

        Yields
        ------
        list of str
            Messages to log when the stage ends.
        """
        notes: list[str] = []
        start = time.perf_counter()
        yield notes
        self.record(name, time.perf_counter() - start, notes)

    def record(self, name: str, elapsed: float, notes: list[str]) -> None:
        """Keep and log the duration of a stage timed elsewhere (e.g. on another thread).

        Parameters
        ----------
        name : str
            Stage name (a key of ``timings``).
        elapsed : float
            Its seconds.
        notes : list of str
            Messages to log.
        """
        # A stage run twice (the cleaning of two snapshots) adds up.
        self.timings[name] = round(self.timings.get(name, 0.0) + elapsed, 3)
        summary = (
            "; ".join(n.rstrip(".") if i < len(notes) - 1 else n for i, n in enumerate(notes))
            if notes
            else "done"
        )
        if not self.silent:
            logger.info("%-8s %s (%.2f s)", name, summary, elapsed)
