"""The one exception type a user can cause."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A problem with the user's input or options, described in one sentence.

    The command line prints the message and exits with code 2; the dashboard shows it
    in the page. The message names the file, column or value and says what to do.
    """
