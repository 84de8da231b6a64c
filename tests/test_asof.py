"""Checks on a given as-of date: far after the data, or the data's end at another time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.asof import as_of_text, late_as_of, midnight_as_of
from custseg.cleaning import CleaningResult
from custseg.cli import app

LAST = dt.datetime(2011, 12, 9, 12, 50)


def _cleaned(
    as_of: dt.datetime,
    source: str = "option",
    after: int = 0,
    kept: int = 8,
    last: dt.datetime = LAST,
) -> CleaningResult:
    return CleaningResult(
        rows_read=10, rows_kept=kept, dropped={"after_as_of": after}, as_of=as_of,
        as_of_source=source, last_purchase=last,
    )  # fmt: skip


def test_an_as_of_date_well_after_the_data_is_said() -> None:
    assert late_as_of(_cleaned(dt.datetime(2015, 1, 1))) == (
        "the as-of date 2015-01-01 is 1,118 days after the last kept purchase (2011-12-09): "
        "every customer's recency counts those days without data, and any window after the "
        "data's end (the holdout check's) finds no purchase; check the date"
    )
    # 30 days after is a deliberate "today" for an export a month old: not said.
    assert late_as_of(_cleaned(LAST + dt.timedelta(days=30))) is None
    assert late_as_of(_cleaned(LAST + dt.timedelta(days=31))) is not None
    # The data's own as-of date, and an earlier one, are never said.
    assert late_as_of(_cleaned(LAST + dt.timedelta(days=1), "last kept purchase + 1 day")) is None
    assert late_as_of(_cleaned(dt.datetime(2011, 6, 1))) is None


def test_the_data_end_at_midnight_is_said_with_the_default_time() -> None:
    midnight = dt.datetime(2011, 12, 10)
    assert midnight_as_of(_cleaned(midnight)) == (
        "2011-12-10 00:00 keeps every line, as the default as-of date does, but the "
        "default is 2011-12-10 12:50 (the last kept purchase + 1 day): recency counts whole "
        "days to 00:00, so some recencies, and personas with them, differ by a day from "
        "custseg run's; for run's snapshot give --as-of 2011-12-10T12:50"
    )
    # Not said: the default itself (given or not), a snapshot of the past (lines left out),
    # a date on another day, and no kept line at all.
    assert midnight_as_of(_cleaned(LAST + dt.timedelta(days=1))) is None
    assert midnight_as_of(_cleaned(midnight, "last kept purchase + 1 day")) is None
    assert midnight_as_of(_cleaned(midnight, after=3)) is None
    assert midnight_as_of(_cleaned(dt.datetime(2011, 12, 11))) is None
    assert midnight_as_of(_cleaned(midnight, kept=0)) is None


def test_an_as_of_value_is_written_as_short_as_it_can_be_and_no_shorter() -> None:
    assert as_of_text(dt.datetime(2011, 12, 10)) == "2011-12-10"
    assert as_of_text(dt.datetime(2011, 12, 10, 12, 50)) == "2011-12-10T12:50"
    assert as_of_text(dt.datetime(2024, 3, 1, 9, 5, 7)) == "2024-03-01T09:05:07"
    assert as_of_text(dt.datetime(2024, 3, 1, 0, 0, 0, 500)) == "2024-03-01T00:00:00.000500"
    # Each reads back as the same time (the parameters' own parsing).
    for at in (dt.datetime(2024, 3, 1, 9, 5, 7), dt.datetime(2024, 3, 1, 0, 0, 0, 500)):
        assert dt.datetime.fromisoformat(as_of_text(at)) == at


def test_the_suggested_as_of_keeps_the_seconds_of_a_shop_export() -> None:
    # Shop exports have seconds: cut to minutes, the suggested flag was another as-of date.
    last = dt.datetime(2024, 3, 1, 9, 5, 7)
    said = midnight_as_of(_cleaned(dt.datetime(2024, 3, 2), last=last))
    assert said is not None and said.endswith("for run's snapshot give --as-of 2024-03-02T09:05:07")


@pytest.mark.realdata
@pytest.mark.slow
def test_the_real_data_end_at_midnight_moves_recencies_and_personas(
    real_parquet: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(real_parquet), "--out", str(tmp_path / "run"), "-q"])
    assert ran.exit_code == 0, ran.output
    args = ["score", str(real_parquet), "--model", str(tmp_path / "run" / "model.json")]
    scored = runner.invoke(app, [*args, "--as-of", "2011-12-10", "--out", str(tmp_path / "s")])
    assert scored.exit_code == 0, scored.output
    said = " ".join(scored.stderr.split())
    assert "as-of 2011-12-10 00:00 keeps every line, as the default as-of date does" in said
    assert "give --as-of 2011-12-10T12:50" in said
    # What the note warns of, counted (the figures of midnight_as_of's docstring).
    run = pd.read_csv(tmp_path / "run" / "customers.csv", dtype={"customer_id": str})
    now = pd.read_csv(tmp_path / "s" / "customers.csv", dtype={"customer_id": str})
    assert list(run["customer_id"]) == list(now["customer_id"])  # the same 4,338 customers
    assert int((run["recency_days"] != now["recency_days"]).sum()) == 2069
    assert int((run["persona"] != now["persona"]).sum()) == 26
    # The time the note gives is run's snapshot: the same customers.csv, byte for byte.
    again = runner.invoke(
        app, [*args, "--as-of", "2011-12-10T12:50", "--out", str(tmp_path / "t"), "-q"]
    )
    assert again.exit_code == 0, again.output
    assert (tmp_path / "t" / "customers.csv").read_bytes() == (
        tmp_path / "run" / "customers.csv"
    ).read_bytes()
    assert "as-of " not in again.stderr
