"""Import heavy libraries in the background while the input is being read.

scikit-learn takes about a second to import and Plotly's figures a few tenths; reading a
workbook takes seconds in fastexcel's Rust code, which releases the GIL. A command that
will need those libraries starts importing them (:func:`preload`) before it reads, so the
two overlap; when the command reaches its first use, Python's import lock makes it wait
for the background import to finish, never import twice. Where a command forked the fitting
worker (:mod:`custseg.worker`), scikit-learn is imported there, and not here at all.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["FITTING", "REPORT", "background", "preload"]

#: What fitting segments imports (custseg.model_selection brings pandas).
FITTING = (
    "sklearn.cluster",
    "sklearn.metrics",
    "scipy.spatial.distance",
    "custseg.model_selection",
)
#: What drawing the report imports.
REPORT = ("plotly.graph_objects", "plotly.subplots", "plotly.io")


def _load(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # pragma: no cover - the real import reports it, in its place
            return


def preload(*names: str) -> threading.Thread:
    """Start importing ``names`` in a daemon thread; return the thread.

    Parameters
    ----------
    *names : str
        Module names, imported in order; those of :data:`FITTING` are left to the fitting
        worker where one runs.

    Returns
    -------
    threading.Thread
        Started; joining it is never needed (the first real import waits for it).
    """
    from custseg import worker

    if worker.running():  # it imports them, and runs the fits
        names = tuple(name for name in names if name not in FITTING)
    thread = threading.Thread(target=_load, args=(names,), name="custseg-preload", daemon=True)
    thread.start()
    return thread


def background(work: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``work(*args)`` in a daemon thread; return a function that waits for its result.

    Unlike a thread pool's worker, the thread never holds the process open: a command
    stopped by a signal exits even if the work is stuck (a signal that interrupts an import
    in the main thread can leave that module's import lock held for good).

    Returns
    -------
    callable
        Called with no arguments: waits, then returns the result or raises its exception.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work(*args)
        except BaseException as exc:  # handed to the waiting caller
            box["error"] = exc

    thread = threading.Thread(target=run, name="custseg-background", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in box:
            raise box["error"]
        value: T = box["value"]
        return value

    return result
