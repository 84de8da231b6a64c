"""The first look at raw lines: by hand on the tiny fixture, and the real data's figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from custseg.explore import explore, monthly_chart


def test_tiny_lines_by_hand(tiny_csv: Path) -> None:
    # 12 lines, 10 invoices (1001 and 1008 have two lines each), customers 1-4 and two
    # anonymous lines (1005 and C1010) worth 2.5 and -5.
    e = explore(tiny_csv)
    assert e.facts["lines"] == 12 and e.facts["orders"] == 10
    assert e.facts["customers"] == 4 and e.facts["anonymous_lines"] == 2
    # Buyers (a line of positive quantity): 1, 2 and 3; 2 bought once (1004), 3 in 1007
    # and 1008, 1 in 1001, 1002.
    assert e.facts["buyers"] == 3 and e.facts["one_time_buyers"] == 1
    assert e.facts["negative_quantity_lines"] == 3  # C1003, 1009, C1010
    total = 2 * 5 + 3 + 5 - 5 + 3 * 2.5 + 2.5 + 0 + 0 + 8 + 8 - 8 - 5
    assert e.monthly["revenue"].sum() == pytest.approx(total)
    assert e.facts["anonymous_revenue_share"] == pytest.approx(round((2.5 - 5) / total, 4))
    assert e.monthly["month"].tolist() == ["2011-01"]
    assert set(e.countries["country"]) == {"UK"}
    top = e.outliers[e.outliers["kind"] == "largest |quantity|"].iloc[0]
    assert top["orderid"] == "1004" and top["quantity"] == 3
    assert len(monthly_chart(e).data) == 2


@pytest.mark.realdata
def test_the_real_datas_canonical_figures(real_parquet: Path) -> None:
    e = explore(real_parquet)
    assert e.facts["lines"] == 541_909
    assert e.facts["orders"] == 25_900
    assert e.facts["customers"] == 4_372
    assert e.facts["anonymous_lines"] == 135_080
    assert len(e.countries) == 38
    assert e.monthly["revenue"].sum() == pytest.approx(9_747_747.934, abs=0.05)
    assert e.monthly["month"].iloc[0] == "2010-12" and e.monthly["month"].iloc[-1] == "2011-12"
