"""Signals: SIGTERM and SIGHUP end a command as Ctrl-C does, never in the middle of a commit.

:func:`install` makes SIGTERM and SIGHUP raise :class:`Terminated` (and SIGINT raise
``KeyboardInterrupt``), so that ``finally`` blocks run: staging folders are removed and the
command says how it ended. While outputs are being moved into place
(:func:`deferred`), a signal is held and raised once the move is complete, so a folder
never holds a mix of two runs' files.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = [
    "CLEANUPS",
    "Terminated",
    "deferred",
    "install",
    "pid_alive",
    "raise_for",
    "stopped_by",
]


def pid_alive(pid: int) -> bool:
    """Tell whether a process with this id runs (one of another user's counts as running)."""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM or SIGHUP).

    Attributes
    ----------
    signum : int
        The signal; the command exits with 128 + signum.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_held: list[int] = []
_deferring: list[bool] = [False]
_received: list[int] = []


def stopped_by() -> int | None:
    """Return the signal that asked this process to stop, if one did.

    A library may turn the exception raised for it into its own (DuckDB raises "Query
    interrupted"); the command still knows why it ended.
    """
    return _received[0] if _received else None


def raise_for(signum: int) -> None:
    """Raise what the signal ``signum`` raises: ``KeyboardInterrupt`` or :class:`Terminated`."""
    _raise(signum)


def _raise(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


#: Work to do before the process ends at once on a second signal (remove staging folders).
CLEANUPS: list[Callable[[], None]] = []


def _handler(signum: int, frame: FrameType | None) -> None:
    del frame
    again = bool(_received)
    _received.append(signum)
    if _deferring[0]:
        _held.append(signum)
        return
    if again:
        # Asked twice: the first stop is stuck (a library ignoring it, a lock never freed).
        # Remove what is half-written, then end now, with the same exit status.
        import contextlib
        import os
        import sys

        for cleanup in CLEANUPS:
            with contextlib.suppress(Exception):  # best effort: the process ends either way
                cleanup()

        sys.stderr.write(f"stopped by {signal.Signals(signum).name} (asked twice)\n")
        os._exit(128 + signum)
    _raise(signum)


def install() -> None:
    """Route SIGTERM, SIGHUP and SIGINT through :func:`_handler` (main thread only)."""
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGTERM, SIGHUP and SIGINT while the body runs; raise the first one after it."""
    _deferring[0] = True
    try:
        yield
    finally:
        _deferring[0] = False
        if _held:
            signum = _held[0]
            _held.clear()
            _raise(signum)
