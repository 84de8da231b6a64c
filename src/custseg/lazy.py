"""Import heavy libraries in the background while the input is being read.

scikit-learn takes about a second to import and Plotly's figures a few tenths; reading a
workbook takes seconds in fastexcel's Rust code, which releases the GIL. A command that
will need those libraries starts importing them (:func:`preload`) before it reads, so the
two overlap; when the command reaches its first use, Python's import lock makes it wait
for the background import to finish, never import twice. Where a command forked the fitting
worker (:mod:`custseg.worker`), scikit-learn is imported there, and not here at all; that
worker also defers a package scikit-learn imports but K-Means never uses (:func:`defer`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["FITTING", "FITTING_DIRECT", "REPORT", "background", "defer", "preload", "skip_init"]

#: What fitting segments imports (custseg.model_selection brings pandas).
FITTING = (
    "sklearn.cluster",
    "sklearn.metrics",
    "scipy.spatial.distance",
    "custseg.model_selection",
)
#: The packages of :data:`FITTING` whose ``__init__`` the fitting worker skips
#: (:func:`skip_init`): the names custseg takes from each, by the module defining them.
_SCORES = dict.fromkeys(
    ("calinski_harabasz_score", "davies_bouldin_score", "silhouette_score"),
    "sklearn.metrics.cluster._unsupervised",
)
FITTING_DIRECT: dict[str, dict[str, str]] = {
    "sklearn.cluster": {"KMeans": "sklearn.cluster._kmeans"},
    # custseg takes the scores from sklearn.metrics, scikit-learn's modules from .cluster.
    "sklearn.metrics": _SCORES,
    "sklearn.metrics.cluster": _SCORES,
    # What sklearn.metrics' modules take from it (its __init__ brings scipy.optimize).
    "sklearn.preprocessing": {
        "normalize": "sklearn.preprocessing._data",
        "LabelEncoder": "sklearn.preprocessing._label",
    },
}
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


_loading = threading.RLock()


class _Deferred(types.ModuleType):
    """Stands in for a package not yet run (see :func:`defer` and :func:`skip_init`)."""

    #: For :func:`skip_init`: name -> the module that defines it; None for :func:`defer`.
    _direct: dict[str, str] | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        if self._direct is None:
            return _Later(self.__name__, name)
        source = self._direct.get(name)
        if source is None:  # a name the package's own __init__ makes: run it now
            return getattr(_real(self.__name__), name)
        value = getattr(importlib.import_module(source), name)
        setattr(self, name, value)
        return value


class _Later:
    """One name of a deferred package: runs the package when it is first called or read."""

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name

    def _target(self) -> Any:
        return getattr(_real(self._module), self._name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._target(), attr)

    def __repr__(self) -> str:
        return f"<{self._module}.{self._name}, not imported yet>"


def _real(name: str) -> types.ModuleType:
    """Import the package ``name`` for real (in place of its stand-in), once."""
    with _loading:
        if isinstance(sys.modules.get(name), _Deferred):
            del sys.modules[name]
            module = importlib.import_module(name)
            parent, _, child = name.rpartition(".")
            setattr(sys.modules[parent], child, module)
        return importlib.import_module(name)


def defer(name: str) -> bool:
    """Let imports bind the package ``name`` without running it until it is used.

    scikit-learn imports ``scipy.stats`` (0.7 s of its 2 s import) but K-Means never
    uses it: ``sklearn.utils.fixes`` calls ``scipy.stats.mode`` in helpers, and
    ``sklearn.metrics`` takes ``rankdata``, ``gmean``, ``chi2`` and ``spearmanr`` from it
    for scores custseg does not compute. The fitting worker (:mod:`custseg.worker`)
    defers it before importing scikit-learn, which then takes 1.44 s against 2.16 s here.
    A stand-in takes the package's place: a name taken from it (``from scipy.stats
    import rankdata``) is a forwarder, and the first call or attribute read of one runs
    the real package, which from then on is the one imported (so results never change:
    only when the 0.7 s are spent). Its submodules import as usual.

    Parameters
    ----------
    name : str
        A package, e.g. ``"scipy.stats"``; its parent package is imported now.

    Returns
    -------
    bool
        Whether a stand-in was put in place (False when the package is imported already
        or cannot be found).
    """
    return _stand_in(name, None)


def skip_init(name: str, direct: dict[str, str]) -> bool:
    """Let the package ``name`` be used without running its ``__init__`` for ``direct`` names.

    ``sklearn.cluster``'s ``__init__`` imports every clustering algorithm,
    ``sklearn.metrics``' every metric (with ``sklearn.neighbors`` and more) and
    ``sklearn.preprocessing``'s ``scipy.optimize`` and ``scipy.interpolate``, where the
    fitting worker needs K-Means and three cluster scores: skipping the three took the
    worker's imports from 1.11-1.45 s to 0.85-1.09 s here (:data:`FITTING_DIRECT`).
    A stand-in takes the package's place; its submodules import as usual; ``from name
    import X`` gives the very object the defining module holds when ``X`` is one of
    ``direct``, and otherwise runs the package's ``__init__`` first (as :func:`defer`'s
    stand-in does; from then on it is the real package), so any name still works.

    Parameters
    ----------
    name : str
        A package, e.g. ``"sklearn.cluster"``; its parent package is imported now.
    direct : dict
        Name -> the module that defines it, e.g. ``{"KMeans": "sklearn.cluster._kmeans"}``.

    Returns
    -------
    bool
        Whether a stand-in was put in place (False when the package is imported already
        or cannot be found).
    """
    return _stand_in(name, dict(direct))


def _stand_in(name: str, direct: dict[str, str] | None) -> bool:
    if name in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None or spec.submodule_search_locations is None:
        return False
    stand_in = _Deferred(name)
    stand_in._direct = direct
    stand_in.__spec__ = spec
    stand_in.__path__ = list(spec.submodule_search_locations)
    stand_in.__file__ = spec.origin
    stand_in.__package__ = name
    parent, _, child = name.rpartition(".")
    sys.modules[name] = stand_in
    if parent:
        setattr(sys.modules[parent], child, stand_in)
    return True
