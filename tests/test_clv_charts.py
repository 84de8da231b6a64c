"""The lifetime-value charts show what their tables hold, and leave out what says nothing."""

from __future__ import annotations

import pandas as pd

from custseg.clv_charts import clv_persona_chart, deciles_chart, frequency_chart, tracking_chart

PERSONAS = pd.DataFrame(
    {"persona": ["Champions", "Hibernating"], "expected_revenue": [900.0, 100.0],
     "p_alive_mean": [0.99, 0.98]}
)  # fmt: skip


def test_p_alive_is_charted_only_where_it_says_something() -> None:
    both = clv_persona_chart(PERSONAS, 90)
    assert len(both.data) == 2 and list(both.data[1].y) == [0.99, 0.98]
    only = clv_persona_chart(PERSONAS, 90, alive=False)
    assert len(only.data) == 1 and list(only.data[0].y) == [900.0, 100.0]
    assert [a.text for a in only.layout.annotations] == ["Expected revenue, next 90 days"]
    # What it draws, not "lifetime value" (the clv column is discounted; these bars are not).
    assert only.layout.title.text == "What each persona is expected to buy"


def test_evaluation_charts_carry_their_tables() -> None:
    freq = pd.DataFrame(
        {
            "frequency": ["0", "7+"],
            "customers": [5, 2],
            "actual": [0.1, 3.0],
            "predicted": [0.2, 2.5],
        }
    )
    fig = frequency_chart(freq)
    assert [t.name for t in fig.data] == ["actual", "predicted"] and list(fig.data[1].y) == [
        0.2,
        2.5,
    ]
    track = pd.DataFrame(
        {"week_end": ["2011-01-07", "2011-01-14"], "period": ["calibration", "holdout"],
         "actual": [1, 3], "predicted": [1.5, 2.5]}
    )  # fmt: skip
    fig = tracking_chart(track)
    assert list(fig.data[0].y) == [1, 3] and fig.layout.shapes[0].x0 == "2011-01-14"
    dec = pd.DataFrame(
        {"decile": [1, 2], "predicted_revenue": [5.0, 1.0], "actual_revenue": [6.0, 0.0],
         "gini": [0.8123, 0.8123]}
    )  # fmt: skip
    fig = deciles_chart(dec)
    assert "Gini of the ranking 0.81" in fig.layout.title.text
    assert list(fig.data[0].x) == ["D1", "D2"]
