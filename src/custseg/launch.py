"""The ``custseg`` console script: forks the fitting worker before the command line loads.

A command that fits K-Means forks a worker that imports scikit-learn on the second core
while the command reads its input (:mod:`custseg.worker`). The command line itself
(Typer, Rich and the option declarations) takes 0.25 to 0.3 s to import, and the worker
used to be forked after it. So :func:`main` looks at the arguments first
(:func:`fits_ahead`: the command's name and a few flags, nothing more), forks the worker at
once when the command will fit, and only then imports the command line. The command still
decides: its own :func:`custseg.worker.fit_ahead` keeps the worker for a file of moderate
size and ends it for a large file, a folder or a URL, as before. Side by side on the real
workbook (whole processes taking turns): ``run --seed 1`` 0.96x to 0.98x the time,
``cohorts`` 0.95x to 1.00x; the worker's imports now end about when the command's do.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["FITTING_COMMANDS", "fits_ahead", "main"]

#: The commands that fit K-Means, and the flags with which they do not (a saved model, a
#: dry run): what :func:`fits_ahead` reads.
FITTING_COMMANDS: dict[str, tuple[str, ...]] = {
    "run": ("--dry-run",),
    "clv": (),
    "cohorts": ("--model", "-m"),
    "migrate": ("--model", "-m"),
}


def fits_ahead(args: Sequence[str]) -> bool:
    """Tell whether the command line ``args`` (without the program) will fit K-Means.

    The command is the first argument, as the command line has no options of its own
    before it; help asked anywhere fits nothing. A wrong guess only costs time: a worker
    forked for nothing is ended by the command or at exit, and a command that fits without
    one fits in its own process.

    Examples
    --------
    >>> fits_ahead(["cohorts", "orders.xlsx"])
    True
    >>> fits_ahead(["cohorts", "orders.xlsx", "--model=models/model.json"])
    False
    >>> fits_ahead(["run", "--help"])
    False
    """
    if not args or args[0] not in FITTING_COMMANDS:
        return False
    stoppers = ("--help", *FITTING_COMMANDS[args[0]])
    return not any(a in stoppers or a.split("=", 1)[0] in stoppers for a in args[1:])


def main() -> None:
    """Entry point of the ``custseg`` console script (and of ``python -m custseg``)."""
    if fits_ahead(sys.argv[1:]):
        from custseg.lazy import FITTING
        from custseg.worker import start

        start(FITTING)
    from custseg.cli import main as command_line

    command_line()
