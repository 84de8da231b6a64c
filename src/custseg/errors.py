"""The one exception type a user can cause."""

from __future__ import annotations

__all__ = ["UserError", "first_line", "out_of_memory"]


class UserError(Exception):
    """A problem with the user's input or options, described in one sentence.

    The command line prints the message and exits with code 2; the dashboard shows it
    in the page. The message names the file, column or value and says what to do.
    """


def first_line(exc: BaseException) -> str:
    """Return the first line of an exception's message (its type name when it has none)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def out_of_memory(exc: BaseException, *, option: bool = True) -> str | None:
    """Say what to do when the engine (or Python) ran out of memory; None for other errors.

    DuckDB stops at its memory limit when an operator cannot spill to disk (a very wide
    GROUP BY, such as ``--drop-duplicates`` over hundreds of millions of lines): that is
    the limit's doing, not a damaged file.

    Parameters
    ----------
    exc : BaseException
        The error.
    option : bool
        Whether the command takes ``--memory-limit`` (``export``, ``plan`` and the commands
        that read no order lines do not: their DuckDB has its default, 80% of the memory).

    Examples
    --------
    >>> out_of_memory(MemoryError())
    'ran out of memory; free some memory or run it on a larger machine.'
    >>> out_of_memory(ValueError("no")) is None
    True
    """
    if isinstance(exc, MemoryError):
        return "ran out of memory; free some memory or run it on a larger machine."
    if type(exc).__name__ != "OutOfMemoryException":
        return None
    used = first_line(exc).rpartition("(")[2].rstrip(")")
    limit = f" ({used})" if "used" in used else ""
    if not option:
        return (
            f"the engine ran out of memory{limit}; free some memory or run it on a larger machine."
        )
    return (
        f"the engine ran out of its memory limit{limit}; raise it with --memory-limit "
        "(engine.memory_limit), e.g. --memory-limit 4GB, and keep --temp-dir on a disk "
        "with room to spill."
    )
