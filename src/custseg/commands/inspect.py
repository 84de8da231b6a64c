"""``custseg inspect``: what custseg reads in a file, before anything is computed.

It opens the input as every command does (:class:`custseg.session.Session`) and reports what
was found: the layout, the column of each field, the encoding, delimiter and decimal
separator, the date layout, whether times carry UTC offsets, and the currency. The findings
can be saved as a parameters file (``--save``) that reads the same file the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from custseg.config import Settings
from custseg.io.writers import atomic_write_text
from custseg.progress import ProgressFactory
from custseg.session import Session

__all__ = ["Inspection", "check_save", "inspect_input", "save_mapping"]


@dataclass(frozen=True)
class Inspection:
    """What reading an input found.

    Attributes
    ----------
    rows : list of (str, str)
        What was found, in words: (what, value).
    parameters : dict
        The settings that read the file this way, for a parameters YAML.
    """

    rows: list[tuple[str, str]]
    parameters: dict[str, Any]


def _strip(value: str) -> str:
    return value.strip("'")


def inspect_input(
    source: Path | str, settings: Settings, *, progress: ProgressFactory | None = None
) -> Inspection:
    """Read the input's header and a sample, and say how custseg reads it.

    Raises
    ------
    UserError
        As every command does for an input it cannot read.
    """
    with Session(source, settings, progress=progress) as session:
        info = session.input
        mapping = info.mapping
        options = {k: _strip(str(v)) for k, v in info.options.items()}
        encoding = options.get("encoding_detected") or options.get("encoding") or "utf-8"
        if "transcoded_from" in options:
            encoding = options["transcoded_from"]
        decimal = options.get("decimal") or settings.csv.decimal or "."
        date_type = info.types.get(mapping.date, "")
        # A format applies to dates held as text only (the reader says it ignores it for
        # typed ones): neither shown nor saved for those.
        text_dates = date_type.upper() in ("", "VARCHAR")
        date_format = (info.date_format or settings.csv.date_format) if text_dates else None
        rows = [
            (
                "input",
                session.source
                if session.source != session.location
                else f"{source} ({info.format})",
            ),
            ("layout", mapping.layout),
            *[(f"column {k}", str(v)) for k, v in mapping.as_dict().items() if v is not None],
        ]
        if info.format == "xlsx" and options.get("sheet"):
            rows.append(("sheets read", options["sheet"]))
        if info.format == "csv":
            rows += [
                ("encoding", encoding),
                ("delimiter", repr(options["delimiter"]) if "delimiter" in options else "sniffed"),
                ("decimal separator", decimal),
            ]
        if date_format:
            dates = date_format
        elif date_type and date_type != "VARCHAR":
            dates = f"typed ({date_type.lower()})"
        else:
            dates = "ISO 8601"
        zone = (
            f"UTC offsets: instants, calendar in {session.zone}"
            if session.zone
            else "no offsets: wall-clock times"
        )
        rows += [
            ("dates", dates),
            ("time zone", zone),
            ("currency", session.currency or "no currency column"),
        ]
        if mapping.cancelled_pattern:
            rows.append(("cancellations", f"invoice ids matching {mapping.cancelled_pattern}"))
        if mapping.void:
            rows.append(("cancellations", "the export's status columns"))
    columns: dict[str, Any] = {"layout": mapping.layout}
    if not mapping.sources:
        columns.update({k: v for k, v in mapping.as_dict().items() if v is not None})
    if settings.columns.sheet is not None:
        columns["sheet"] = settings.columns.sheet
    for key in ("table", "query"):  # a database input's rows
        if getattr(settings.columns, key) is not None:
            columns[key] = getattr(settings.columns, key)
    if session.zone is not None:
        columns["timezone"] = session.zone
    csv: dict[str, Any] = {}
    if info.format == "csv":
        if "delimiter" in options:
            csv["delimiter"] = options["delimiter"]
        if decimal.startswith(","):
            csv["decimal"] = ","
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            csv["encoding"] = encoding.split(" ")[0]
    if date_format:
        csv["date_format"] = date_format.split(" (")[0]
    parameters: dict[str, Any] = {"columns": columns}
    if csv:
        parameters["csv"] = csv
    if session.currency is not None:
        parameters["cleaning"] = {"currency": session.currency}
    return Inspection(rows=rows, parameters=parameters)


_HEADER = "# Written by custseg inspect: how custseg reads the file. Use it with --config.\n"


def check_save(target: Path) -> None:
    """Refuse, before the input is read, a ``--save`` file custseg did not write."""
    from custseg.io.outputs import own_file

    own_file(target, "--save", lambda head: head.startswith(_HEADER.encode()), "parameter file")


def save_mapping(inspection: Inspection, target: Path) -> None:
    """Write the parameters that read the file this way, as YAML (atomically).

    An existing ``target`` is replaced only if an earlier ``inspect --save`` wrote it.
    """
    check_save(target)
    text = _HEADER + yaml.safe_dump(inspection.parameters, sort_keys=False, allow_unicode=True)
    atomic_write_text(target, text)
