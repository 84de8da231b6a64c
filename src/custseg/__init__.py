"""custseg: customer segmentation from retail order lines.

The stages, in the order :mod:`custseg.pipeline` runs them: :mod:`custseg.io` (read and map
columns), :mod:`custseg.cleaning` (counted rules), :mod:`custseg.features` (RFM),
:mod:`custseg.preprocessing` (log1p + scaling), :mod:`custseg.model_selection` (choose k),
:mod:`custseg.clustering` (K-Means, stable labels), :mod:`custseg.personas` (names), and
:mod:`custseg.reporting` (report.html, figures). Shells: :mod:`custseg.cli`,
:mod:`custseg.dashboard` and the notebook.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("custseg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
