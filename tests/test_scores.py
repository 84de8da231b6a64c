"""RFM scores 1-5 and the checked rule-segment map."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg.errors import UserError
from custseg.scores import (
    check_segment_map,
    quintile_scores,
    rfm_scores,
    segment_map,
    segment_of_codes,
)

COLUMNS = ["segment", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max"]


def test_quintiles_by_hand() -> None:
    # min ranks 1, 2, 2, 4, 5 of 5: score = 1 + floor(5 (rank - 1) / 5)
    assert quintile_scores(pd.Series([10, 20, 20, 30, 40])).tolist() == [1, 2, 2, 4, 5]
    # Recency is reversed: 1 day is best; the two 5s share a score.
    scores = quintile_scores(pd.Series([1, 5, 5, 100, 3]), higher_is_better=False)
    assert scores.tolist() == [5, 2, 2, 1, 4]
    # Many ties (half the customers ordered once): min ranks 1,1,1,1,5,5,7,8 of 8.
    freq = quintile_scores(pd.Series([1, 1, 1, 1, 2, 2, 3, 10]))
    assert freq.tolist() == [1, 1, 1, 1, 3, 3, 4, 5]


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=60))
def test_equal_values_equal_scores_and_monotone(values: list[int]) -> None:
    series = pd.Series(values)
    scores = quintile_scores(series)
    assert scores.between(1, 5).all()
    for value in set(values):
        assert scores[series == value].nunique() == 1
    order = series.sort_values(kind="mergesort").index
    assert scores[order].is_monotonic_increasing


@given(
    st.lists(
        st.sampled_from([-2.5, -0.0, 0.0, 1.0, 1.0 + 2**-52, 3.0, 1e12]) | st.floats(-1e6, 1e6),
        max_size=80,
    ),
    st.booleans(),
)
def test_quintiles_equal_pandas_min_rank(values: list[float], higher: bool) -> None:
    # The sort-based minimum rank gives exactly what pandas' rank(method="min") gives.
    series = pd.Series(values, index=[7 * i + 3 for i in range(len(values))], dtype=float)
    x = series if higher else -series
    expected = (1 + (5 * (x.rank(method="min") - 1) // max(len(x), 1))).astype("int64")
    got = quintile_scores(series, higher_is_better=higher)
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_quintiles_refuse_missing_values() -> None:
    # No customer has one after cleaning; a score made up for one would be a wrong number.
    with pytest.raises(ValueError, match="without missing"):
        quintile_scores(pd.Series([1.0, float("nan"), 3.0]))


def test_packaged_map_covers_all_125_codes_exactly_once() -> None:
    rules = segment_map()
    assert len(rules) == 11
    assert [name for name, _ in rules][:3] == ["Champions", "Loyal", "Potential Loyalists"]
    codes = pd.Series([f"{r}{f}{m}" for r in "12345" for f in "12345" for m in "12345"])
    names = segment_of_codes(codes)
    assert names.notna().all() and len(codes) == 125
    assert names[codes == "555"].item() == "Champions"
    assert names[codes == "111"].item() == "Lost"
    assert names[codes == "151"].item() == "Can't Lose Them"
    assert names[codes == "511"].item() == "New Customers"


def test_maps_with_gaps_or_overlaps_are_refused() -> None:
    good = pd.DataFrame([(name, *lo_hi) for name, lo_hi in segment_map()], columns=COLUMNS)
    check_segment_map(good)
    # A popular published grid: Loyal as R 2-5 x F 3-5 overlaps Champions at 5/5.
    overlap = good.copy()
    overlap.loc[overlap["segment"] == "Loyal", ["r_min", "r_max", "f_min"]] = [2, 5, 3]
    with pytest.raises(UserError, match=r"code 231 is claimed by Loyal and At Risk"):
        check_segment_map(overlap)
    gap = good[good["segment"] != "Need Attention"]
    with pytest.raises(UserError, match=r"no segment for code\(s\) 331, 332"):
        check_segment_map(gap)


def test_rfm_scores_columns() -> None:
    customers = pd.DataFrame(
        {
            "recency_days": [1, 300, 40, 2, 200],
            "frequency": [20, 1, 3, 1, 9],
            "monetary": [5000.0, 10.0, 300.0, 50.0, 900.0],
        }
    )
    out = rfm_scores(customers)
    assert out["rfm_code"].tolist() == ["555", "111", "333", "412", "244"]
    assert out["rfm_segment"].tolist() == [
        "Champions",
        "Lost",
        "Need Attention",
        "Promising",
        "At Risk",
    ]


def test_persona_crosstab_counts() -> None:
    from custseg.scores import persona_crosstab

    customers = pd.DataFrame(
        {
            "cluster": [1, 0, 0, 1, 0],
            "persona": ["Lost", "Champions", "Champions", "Lost", "Champions"],
            "rfm_segment": ["Lost", "Champions", "Loyal", "Hibernating", "Champions"],
        }
    )
    table = persona_crosstab(customers)
    assert list(table.index) == ["Champions", "Lost"]  # cluster order
    assert len(table.columns) == 11 and table.columns[0] == "Champions"
    assert table.loc["Champions", "Champions"] == 2
    assert table.loc["Champions", "Loyal"] == 1
    assert table.loc["Lost", "Hibernating"] == 1 and table.loc["Lost", "Lost"] == 1
    assert int(table.to_numpy().sum()) == 5
