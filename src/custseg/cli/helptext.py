"""Corrections to Typer's ``--help`` rendering, applied once when the CLI is imported."""

from __future__ import annotations

from typing import Any

__all__ = ["plain_help"]


def plain_help() -> None:
    """Write --help as click does, with option names whole.

    Typer 0.29 shows every flag's type as ``<bool>`` (``--quiet <bool>`` reads as if it took
    a value) and a required argument as ``{ORDERS}`` in the usage line: a flag gets no
    type, and usage says NAME and [NAME]. And in a terminal 80 columns wide, Rich's option
    table cut ``--drop-non-positive-price`` to ``--drop-non-positive-…``: a name too long
    for its column now continues on the next line (:func:`_names_whole`).
    """
    from typer import core

    if not hasattr(core.TyperOption, "display_type_rich") or not hasattr(
        core.TyperArgument, "_usage_display_name"
    ):
        return  # another Typer: its own rendering, nothing to correct
    shown = core.TyperOption.display_type_rich

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    def usage_name(self: Any) -> str:
        name = str(self.display_name_raw)
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    for kind in (core.TyperCommand, core.TyperGroup):
        kind.format_help = _names_whole_first(kind.format_help)  # type: ignore[method-assign]


def _names_whole_first(format_help: Any) -> Any:
    def wrapped(self: Any, ctx: Any, formatter: Any) -> Any:
        _names_whole()
        return format_help(self, ctx, formatter)

    return wrapped


def _names_whole() -> None:
    """Make the tables of Typer's help fold a long name onto a second line, never cut it.

    Rich shrinks the widest columns of a table that does not fit, and ends a word too long
    for its column with "…": an option name has no space to wrap at. (Keeping the names
    whole on one line instead left the help text 11 characters wide at 80 columns.) Done
    when help is first shown, so that other commands never import Typer's Rich module.
    """
    from rich.table import Table
    from typer import rich_utils

    if getattr(getattr(rich_utils, "Table", None), "custseg_names_whole", False):
        return

    class NamesWhole(Table):
        custseg_names_whole = True

        def add_row(self, *renderables: Any, **kwargs: Any) -> None:
            super().add_row(*renderables, **kwargs)
            for column in self.columns[:-1]:
                column.overflow = "fold"

    setattr(rich_utils, "Table", NamesWhole)  # noqa: B010 (not exported: typed as unknown)
