"""How a table column reads (dashboard and HTML pages): its kind, header and cells."""

from __future__ import annotations

import pandas as pd

from custseg.labels import cell_text, kind, label


def test_each_column_is_shown_for_what_it_is() -> None:
    frame = pd.DataFrame(
        {
            "persona": ["A"],
            "customers": [1306],
            "share": [0.1729],
            "p_purchase_30d": [0.52],
            "expected_revenue": [1306251.1031],
            "purchases_aggregate_error_pct": [-24.5],
            "purchases_rmse": [1.519],
            "cluster": [0],
            "chosen": [True],
            "bought_again": [0.6612],
            "holdout_orders_mean": [0.619],
            "frequency_mean": [4.643],
            "orders": [12.0],
        }
    )
    kinds = {c: kind(c, frame[c]) for c in frame.columns}
    assert kinds == {
        "persona": "text",
        "customers": "count",
        "share": "percent",
        "p_purchase_30d": "percent",
        "expected_revenue": "money",
        "purchases_aggregate_error_pct": "percent_points",
        "purchases_rmse": "number",
        "cluster": "count",
        "chosen": "text",
        "bought_again": "percent",
        "holdout_orders_mean": "number",
        "frequency_mean": "number",
        "orders": "count",
    }
    # The holdout table of report.html: a mean of 0.62 orders read "1" when means were counts.
    assert cell_text(kinds["holdout_orders_mean"], 0.619) == "0.619"
    assert cell_text(kinds["bought_again"], 0.6612) == "66.1%"
    assert label("p_purchase_30d") == "P(purchase in 30 days)"
    assert label("expected_spend_per_purchase") == "Expected spend per purchase"
    assert label("recency_days") == "Recency (days)"
    assert [label(c) for c in ("rfm_code", "rfm_segment", "clv_mean", "r_score")] == [
        "RFM code",
        "RFM segment",
        "CLV mean",
        "R score",
    ]


def test_cells_by_kind() -> None:
    assert cell_text("percent", 0.1729) == "17.3%"
    assert cell_text("percent_points", -24.5) == "-24.5%"
    assert cell_text("money", 1306251.1031) == "1,306,251.10"
    assert cell_text("count", 4338) == "4,338"
    assert cell_text("number", 0.0123456) == "0.01235" and cell_text("number", 65572.3) == "65,572"
    assert cell_text("number", float("nan")) == "" and cell_text("text", "x") == "x"
