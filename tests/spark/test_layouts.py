"""Shop exports and times with UTC offsets read the same on Spark as on DuckDB."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from custseg.config import load_settings
from custseg.session import Session
from tests.io.exports import SHOPIFY, STRIPE, WOOCOMMERCE
from tests.test_timezones import MIXED_OFFSETS

pytestmark = pytest.mark.spark


@pytest.mark.parametrize(
    ("text", "overrides"),
    [
        (SHOPIFY, {}),
        (SHOPIFY, {"cleaning": {"returns": "net"}, "columns": {"timezone": "America/Los_Angeles"}}),
        (WOOCOMMERCE, {"cleaning": {"currency": "EUR"}}),
        (STRIPE, {}),
        (MIXED_OFFSETS, {"columns": {"timezone": "Europe/Berlin"}}),
    ],
)
def test_layout_parity(spark, tmp_path: Path, text: str, overrides: dict) -> None:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    out = []
    for engine in ("duckdb", "spark"):
        settings = load_settings(None, {**overrides, "engine": {"name": engine}})
        with Session(path, settings) as session:
            cleaned = session.cleaning()
            rfm = session.rfm().sort_values("customer_id").reset_index(drop=True)
            days = session.daily().sort_values(["customer_id", "day"]).reset_index(drop=True)
            out.append((cleaned.dropped, cleaned.as_of, rfm, days, session.zone))
    (d_drop, d_asof, d_rfm, d_days, d_zone), (s_drop, s_asof, s_rfm, s_days, s_zone) = out
    assert s_drop == d_drop and s_asof == d_asof and s_zone == d_zone
    pd.testing.assert_frame_equal(s_rfm, d_rfm, check_dtype=False)
    pd.testing.assert_frame_equal(s_days, d_days, check_dtype=False)


def test_non_product_codes_on_spark(spark, tmp_path: Path) -> None:
    from tests.test_products import LINES

    path = tmp_path / "retail.csv"
    path.write_text(LINES)
    found = []
    for engine in ("duckdb", "spark"):
        for drop in (False, True):
            settings = load_settings(
                None, {"engine": {"name": engine}, "cleaning": {"drop_non_product": drop}}
            )
            with Session(path, settings) as session:
                cleaned = session.cleaning()
                found.append((cleaned.dropped["non_product"], cleaned.non_product["lines"]))
    assert found == [(0, 3), (3, 0), (0, 3), (3, 0)]


def test_a_mix_of_naive_and_offset_times_is_refused_alike(spark, tmp_path: Path) -> None:
    from custseg.errors import UserError

    path = tmp_path / "mixed.csv"
    path.write_text(MIXED_OFFSETS + "4,c,2024-07-01 09:00:00,3\n", encoding="utf-8")
    said = []
    for engine in ("duckdb", "spark"):
        with pytest.raises(UserError) as err:
            Session(path, load_settings(None, {"engine": {"name": engine}}))
        said.append(str(err.value))
    assert said[0] == said[1]
    assert (
        "(row 1: '2024-06-30T23:30:00Z') and without one (row 4: '2024-07-01 09:00:00')"
        in (said[0])
    )
