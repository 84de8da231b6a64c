"""The one exception type a user can cause."""

from __future__ import annotations

__all__ = ["UserError", "first_line"]


class UserError(Exception):
    """A problem with the user's input or options, described in one sentence.

    The command line prints the message and exits with code 2; the dashboard shows it
    in the page. The message names the file, column or value and says what to do.
    """


def first_line(exc: BaseException) -> str:
    """Return the first line of an exception's message (its type name when it has none)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
