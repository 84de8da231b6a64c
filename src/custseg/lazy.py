"""Import heavy libraries in the background while the input is being read.

scikit-learn takes about a second to import and Plotly's figures a few tenths; reading a
workbook takes seconds in fastexcel's Rust code, which releases the GIL. A command that
will need those libraries starts importing them (:func:`preload`) before it reads, so the
two overlap; when the command reaches its first use, Python's import lock makes it wait
for the background import to finish, never import twice.
"""

from __future__ import annotations

import importlib
import threading

__all__ = ["FITTING", "REPORT", "preload"]

#: What fitting segments imports.
FITTING = ("sklearn.cluster", "sklearn.metrics", "scipy.spatial.distance")
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
        Module names, imported in order.

    Returns
    -------
    threading.Thread
        Started; joining it is never needed (the first real import waits for it).
    """
    thread = threading.Thread(target=_load, args=(names,), name="custseg-preload", daemon=True)
    thread.start()
    return thread
