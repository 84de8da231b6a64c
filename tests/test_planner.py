"""The what-if campaign planner, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from custseg.errors import UserError
from custseg.planner import Campaign, plan_campaign, plan_table


def test_planner_by_hand() -> None:
    personas = pd.DataFrame(
        {
            "persona": ["Champions", "Lost"],
            "customers": [100, 1000],
            "expected_revenue": [50_000.0, 10_000.0],
        }
    )
    one = plan_campaign(Campaign("c", "Champions", 0.5, 10.0, 0.2, 0.4), personas)
    # 20 responders x 500 per customer = 10,000; cost 100 x 0.5 + 20 x 10 = 250
    assert one["responders"] == 20 and one["incremental_revenue"] == 10_000
    assert one["customers"] == 100 and isinstance(one["customers"], int)  # a count, not 100.0
    assert one["cost"] == 250 and one["profit"] == 10_000 * 0.4 - 250
    table = plan_table(Campaign("c", "Champions", 0.5, 10.0, 0.2, 0.4), personas)
    assert table["persona"].tolist() == ["Champions", "Lost"]
    # Lost: 200 responders x 10 = 2,000; cost 500 + 2,000; profit 800 - 2,500.
    assert table.loc[1, "profit"] == 2_000 * 0.4 - 2_500
    with pytest.raises(UserError, match=r"response_rate = 1\.5 is outside 0\.\.1"):
        plan_campaign(Campaign("bad", "Lost", response_rate=1.5), personas)
    with pytest.raises(UserError, match="no persona 'Loyal'"):
        plan_campaign(Campaign("x", "Loyal"), personas)
