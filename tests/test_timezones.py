"""Times with UTC offsets are instants; a calendar zone for days and months."""

import datetime as dt
import logging
from pathlib import Path

import pytest

from custseg.config import ColumnsConfig, Settings
from custseg.errors import UserError
from custseg.session import Session
from custseg.timezones import calendar_to_utc

MIXED_OFFSETS = (
    "order_id,customer_id,order_date,amount\n"
    "1,a,2024-06-30T23:30:00Z,10\n"  # 23:30 UTC on the 30th
    "2,a,2024-07-01 01:15:00+02:00,5\n"  # 23:15 UTC on the 30th: before order 1
    "3,b,2024-07-01 08:00:00 -0500,7\n"  # 13:00 UTC on the 1st
)


def test_offsets_become_utc_instants(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(MIXED_OFFSETS)
    session = Session(path, Settings())
    cleaned = session.cleaning()
    assert session.zone == "UTC"
    assert cleaned.first_purchase == dt.datetime(2024, 6, 30, 23, 15)
    assert cleaned.as_of == dt.datetime(2024, 7, 2, 13, 0)  # the last instant + 1 day
    rfm = session.rfm().set_index("customer_id")
    # a: last at 23:30 UTC on June 30, 1 day 13.5 hours before the as-of date.
    assert rfm.loc["a"].tolist() == [1, 2, 15.0]
    assert rfm.loc["b"].tolist() == [1, 1, 7.0]
    # Months in UTC: both of a's orders are in June; in Berlin (UTC+2) order 2 is July 1st.
    months = session.engine.frame(f"SELECT * FROM {session.monthly()} ORDER BY 1, 2")
    assert [f"{m:%Y-%m}" for m in months["month"]] == ["2024-06", "2024-07"]
    berlin = Session(path, Settings(columns=ColumnsConfig(timezone="Europe/Berlin")))
    months = berlin.engine.frame(f"SELECT * FROM {berlin.monthly()} ORDER BY 1, 2")
    assert [
        (c, f"{m:%Y-%m}") for c, m in zip(months["customer"], months["month"], strict=True)
    ] == [
        ("a", "2024-07"),
        ("b", "2024-07"),
    ]


def test_a_file_mixing_naive_and_offset_times_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(MIXED_OFFSETS + "4,c,2024-07-01 09:00:00,3\n")
    with pytest.raises(UserError) as err:
        Session(path, Settings())
    assert str(err.value) == (
        f"{path}: column 'order_date' mixes times with a UTC offset (row 1: "
        "'2024-06-30T23:30:00Z') and without one (row 4: '2024-07-01 09:00:00'); the zone of "
        "the second kind is unknown. Export every time with its offset, or none."
    )


def test_a_naive_time_far_down_the_file_is_found(tmp_path: Path) -> None:
    # Whether times carry offsets is told from the first 50,000 rows; where they do, every
    # row is checked.
    body = "".join(f"{i},c{i % 7},2024-06-30T12:00:00Z,1\n" for i in range(60_000))
    path = tmp_path / "long.csv"
    path.write_text("order_id,customer_id,order_date,amount\n" + body + "x,c1,2024-07-01,2\n")
    with pytest.raises(UserError, match=r"\(row 60001: '2024-07-01'\)"):
        Session(path, Settings())


def test_a_shop_export_names_its_own_date_column(tmp_path: Path) -> None:
    from tests.io.exports import SHOPIFY

    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY.replace("2023-03-12 00:30:00 -0800", "2023-03-12 00:30:00"))
    with pytest.raises(UserError) as err:
        Session(path, Settings())
    said = str(err.value)
    assert "column 'Created at' mixes times" in said and "cs_l_" not in said
    # The export's lines are regrouped by order before the check: examples name orders.
    assert "(order '#1001': '2023-03-10 10:00:00 -0800')" in said
    assert "(order '#1002': '2023-03-12 00:30:00')" in said


def test_timezone_is_ignored_for_wall_clock_times(
    tmp_path: Path, tiny_csv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        session = Session(tiny_csv, Settings(columns=ColumnsConfig(timezone="Asia/Tokyo")))
    assert session.zone is None
    assert "--timezone is ignored: the times carry no UTC offset" in caplog.text


def test_an_unknown_zone_is_one_sentence() -> None:
    from custseg.config import load_settings

    with pytest.raises(UserError, match=r"'Mars/Olympus' is not an IANA time zone"):
        load_settings(None, {"columns": {"timezone": "Mars/Olympus"}})


def test_calendar_times_in_utc() -> None:
    midnight = dt.datetime(2023, 3, 12)
    assert calendar_to_utc(midnight, None) == midnight
    assert calendar_to_utc(midnight, "UTC") == midnight
    # Midnight on the day the US changes clocks is still standard time (UTC-8).
    assert calendar_to_utc(midnight, "America/Los_Angeles") == dt.datetime(2023, 3, 12, 8)
    assert calendar_to_utc(dt.datetime(2023, 3, 13), "America/Los_Angeles") == dt.datetime(
        2023, 3, 13, 7
    )


def test_an_as_of_date_is_a_date_of_the_calendar(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(MIXED_OFFSETS)
    # --as-of 2024-07-01T01:20 in Berlin is 23:20 UTC on June 30: order 2 (23:15 UTC) is
    # before it; order 1 (23:30 UTC) and order 3 are after it.
    when = dt.datetime(2024, 7, 1, 1, 20)
    berlin = Settings(as_of=when, columns=ColumnsConfig(timezone="Europe/Berlin"))
    cleaned = Session(path, berlin).cleaning()
    assert cleaned.as_of == dt.datetime(2024, 6, 30, 23, 20)
    assert cleaned.dropped["after_as_of"] == 2
    utc = Session(path, Settings(as_of=when)).cleaning()
    assert utc.as_of == when and utc.dropped["after_as_of"] == 1
