"""Cached calls into the library: the dashboard's only way to compute anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from custseg.commands.common import resolve_input
from custseg.commands.run import segment
from custseg.config import Settings
from custseg.dashboard.uploads import save_upload
from custseg.io import InputFormat, read_columns
from custseg.results import ModelRecord, RunResult

__all__ = [
    "MAX_UPLOAD_MB",
    "columns_of",
    "default_input",
    "fingerprint",
    "run_clv",
    "run_migration",
    "run_scoring",
    "run_segmentation",
    "save_upload",
]

#: Largest upload accepted, in MB; the same value is set as ``server.maxUploadSize`` in
#: ``.streamlit/config.toml`` (Streamlit refuses larger files before the app sees them).
#: MB are decimal (10**6 bytes), as the uploader counts and shows them on Linux and macOS;
#: Streamlit's server counts 2**20, so the app checks the smaller of the two itself.
MAX_UPLOAD_MB = 200


@st.cache_data(show_spinner="Preparing the default data...")
def default_input(synthetic_customers: int) -> tuple[str, str]:
    """Return the default input path and the sentence saying which data it is."""
    path, note = resolve_input(None, Settings(synthetic_customers=synthetic_customers))
    return str(path), note


def fingerprint(path: Path) -> str:
    """Return a file's identity for the caches: its resolved path, size and mtime."""
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


@st.cache_data(show_spinner="Reading the columns...", max_entries=32)
def _columns_cached(
    path: str, fingerprint: str, settings_json: str, sheet: str | None
) -> tuple[InputFormat, list[str], list[str]]:
    settings = Settings.model_validate_json(settings_json)
    return read_columns(Path(path), settings.csv, sheet)


def columns_of(
    path: Path, settings: Settings, sheet: str | None
) -> tuple[InputFormat, list[str], list[str]]:
    """Return (format, columns, sheets) of ``path``, cached by its size and mtime."""
    return _columns_cached(str(path), fingerprint(path), settings.model_dump_json(), sheet)


@st.cache_data(show_spinner="Segmenting the customers...", max_entries=16)
def _segment_cached(path: str, fingerprint: str, settings_json: str) -> RunResult:
    return segment(Path(path), Settings.model_validate_json(settings_json))


def run_segmentation(path: Path, settings: Settings) -> RunResult:
    """Segment ``path`` with ``settings``, computed once per (file, settings) and cached.

    Raises
    ------
    UserError
        As :func:`custseg.commands.run.segment` does.
    """
    return _segment_cached(str(path), fingerprint(path), settings.model_dump_json())


@st.cache_data(show_spinner="Scoring the uploaded orders with the current model...", max_entries=8)
def _score_cached(path: str, fingerprint: str, model_json: str, settings_json: str) -> RunResult:
    import json

    from custseg.commands.score import score_with_model

    record = ModelRecord.from_dict(json.loads(model_json))
    return score_with_model(
        Path(path),
        record.model(),
        record,
        Settings.model_validate_json(settings_json),
        "the model of the segments shown",
    )


def run_scoring(path: Path, record: ModelRecord, settings: Settings) -> RunResult:
    """Score ``path`` with a model record (model.json content), cached.

    Raises
    ------
    UserError
        As :func:`custseg.commands.score.score_with_model` does.
    """
    import json

    return _score_cached(
        str(path),
        fingerprint(path),
        json.dumps(record.to_dict(), sort_keys=True),
        settings.model_dump_json(),
    )


@st.cache_data(show_spinner="Segmenting both snapshots...", max_entries=8)
def _migrate_cached(
    path: str, fingerprint: str, before: str, after: str, settings_json: str
) -> Any:
    import datetime as dt

    from custseg.commands.migrate import migrate

    return migrate(
        Path(path),
        dt.datetime.fromisoformat(before),
        dt.datetime.fromisoformat(after),
        Settings.model_validate_json(settings_json),
    )


def run_migration(path: Path, before: str, after: str, settings: Settings) -> Any:
    """Compare two snapshots of ``path`` (see :func:`custseg.commands.migrate.migrate`), cached."""
    return _migrate_cached(str(path), fingerprint(path), before, after, settings.model_dump_json())


@st.cache_data(show_spinner="Fitting BG/NBD and Gamma-Gamma...", max_entries=8)
def _clv_cached(
    path: str, fingerprint: str, end: str | None, horizon: int, settings_json: str
) -> Any:
    import datetime as dt

    from custseg.commands.clv import lifetime_value

    return lifetime_value(
        Path(path),
        Settings.model_validate_json(settings_json),
        calibration_end=dt.date.fromisoformat(end) if end else None,
        horizon=horizon,
    )


def run_clv(path: Path, end: str | None, horizon: int, settings: Settings) -> Any:
    """Lifetime value of ``path``'s customers (see :func:`custseg.commands.clv.lifetime_value`)."""
    return _clv_cached(str(path), fingerprint(path), end, horizon, settings.model_dump_json())
