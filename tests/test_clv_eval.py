"""The evaluation tables of clv (by frequency, week by week, deciles, Gini), by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from custseg.clv import BgNbd
from custseg.clv_eval import by_frequency, deciles, gini, tracking


def test_by_frequency_groups_seven_and_more() -> None:
    table = by_frequency(
        np.array([0.0, 0.0, 1.0, 7.0, 12.0]),
        np.array([0.2, 0.4, 1.0, 3.0, 5.0]),
        np.array([0.0, 1.0, 2.0, 4.0, 6.0]),
    )
    assert table["frequency"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].tolist() == [2, 1, 0, 0, 0, 0, 0, 2]
    assert table.iloc[0][["actual", "predicted"]].tolist() == [0.5, pytest.approx(0.3)]
    assert table.iloc[7][["actual", "predicted"]].tolist() == [5.0, 4.0]


def test_gini_of_a_ranking() -> None:
    actual = np.array([10.0, 0.0, 5.0, 0.0])
    assert gini(actual, actual) == pytest.approx(1.0)  # the best order
    assert gini(-actual, actual) < 0  # the worst order ranks the buyers last
    # Ranked 10, 0, 5, 0: captured shares 2/3, 2/3, 1, 1 -> mean 5/6 - 5/8 = 5/24, against
    # the best order's 2/3, 1, 1, 1 -> 11/12 - 5/8 = 7/24: 5/7.
    assert gini(np.array([4.0, 3.0, 2.0, 1.0]), actual) == pytest.approx(5 / 7)


def test_deciles_sum_predicted_and_actual() -> None:
    predicted = np.arange(20, 0, -1, dtype=float)  # customer 0 has the highest prediction
    actual = np.zeros(20)
    actual[:2] = 50.0
    table = deciles(predicted, actual)
    assert table["customers"].tolist() == [2] * 10
    assert table.iloc[0]["predicted_revenue"] == 39.0 and table.iloc[0]["actual_revenue"] == 100.0
    assert table.iloc[0]["actual_share"] == 1.0 and table.iloc[9]["actual_share"] == 0.0


def test_tracking_counts_repeat_purchases_week_by_week() -> None:
    days = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "day": pd.to_datetime(
                ["2011-01-01", "2011-01-03", "2011-01-20", "2011-01-02", "2011-01-09", "2011-01-12"]
            ),
            "spend": 1.0,
        }
    )
    model = BgNbd(0.5, 10.0, 0.8, 2.5)
    table = tracking(days, model, dt.date(2011, 1, 10), dt.date(2011, 1, 21))
    # Weeks end on 01-07, 01-14, 01-21; c's first purchase is after the cut-off: not counted.
    assert table["week_end"].tolist() == ["2011-01-07", "2011-01-14", "2011-01-21"]
    assert table["period"].tolist() == ["calibration", "holdout", "holdout"]
    assert table["actual"].tolist() == [1, 2, 3]
    # Predicted: a from 01-01, b from 01-02, E[X(age in days)] summed.
    expected = [
        float(
            model.expected_cumulative(np.array([6.0]))[0]
            + model.expected_cumulative(np.array([5.0]))[0]
        ),
        float(
            model.expected_cumulative(np.array([13.0]))[0]
            + model.expected_cumulative(np.array([12.0]))[0]
        ),
    ]
    assert table["predicted"].tolist()[:2] == pytest.approx(expected)
