"""custseg: customer segmentation from retail order lines.

A command opens one :class:`custseg.session.Session` on its input: the engine
(:mod:`custseg.engines`, :mod:`custseg.spark`), the reading (:mod:`custseg.io`), the staging
(:mod:`custseg.staging`) and the one scan that counts every cleaning rule
(:mod:`custseg.cleaning`); the session hands out what is derived from it (RFM:
:mod:`custseg.features`; cohorts: :mod:`custseg.cohorts`). The stages are pure:
:mod:`custseg.segmentation` (scaling, :mod:`custseg.model_selection`, :mod:`custseg.clustering`,
:mod:`custseg.personas`, :mod:`custseg.scores`), :mod:`custseg.holdout`, :mod:`custseg.clv`,
:mod:`custseg.migration`. :mod:`custseg.commands` composes them, one module per command;
:mod:`custseg.reporting` draws the pages; :mod:`custseg.results` defines what is written.
Shells: :mod:`custseg.cli`, :mod:`custseg.dashboard` and the notebook.

From Python: ``custseg.segment``, ``custseg.lifetime_value``, ``custseg.cohort_retention``,
``custseg.migrate`` and ``custseg.synthetic_orders`` (:mod:`custseg.api`, loaded on first use).
"""

__all__ = [
    "__version__",
    "cohort_retention",
    "default_input",
    "exploration",
    "lifetime_value",
    "migrate",
    "segment",
    "synthetic_orders",
]

_API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> object:
    """Load the Python API (:mod:`custseg.api`) on first use: ``import custseg`` stays light.

    ``__version__`` too: :mod:`importlib.metadata` takes 0.06 s to import, and the console
    script forks the fitting worker right after ``import custseg`` (:mod:`custseg.launch`).
    """
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("custseg")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    if name in _API:
        from custseg import api

        return getattr(api, name)
    raise AttributeError(f"module 'custseg' has no attribute {name!r}")
