"""How the dashboard shows a table: each column's kind and header."""

from __future__ import annotations

import pandas as pd

from custseg.dashboard.tables import kind, label


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
    }
    assert label("p_purchase_30d") == "P(purchase in 30 days)"
    assert label("expected_spend_per_purchase") == "Expected spend per purchase"
    assert label("recency_days") == "Recency (days)"
