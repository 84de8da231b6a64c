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
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("custseg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
