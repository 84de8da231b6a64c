"""Migration and holdout tables by hand."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from custseg.migration import NEW, migration_matrix, movements, movers

runner = CliRunner()


def test_migration_matrix_and_movers_by_hand() -> None:
    before = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "persona": ["Champions", "Champions", "Loyal", "Lost"],
            "recency_days": [1, 2, 3, 300],
            "frequency": [9, 8, 7, 1],
            "monetary": [900.0, 800.0, 700.0, 10.0],
        }
    )
    after = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "persona": ["Champions", "At Risk", "Loyal", "Lost", "Lost"],
            "recency_days": [5, 120, 4, 390, 30],
            "frequency": [10, 8, 8, 1, 1],
            "monetary": [950.0, 800.0, 720.0, 10.0, 5.0],
        }
    )
    order = ["Champions", "Loyal", "At Risk", "Lost"]
    matrix = migration_matrix(before, after, order)
    assert matrix.to_dict("records") == [
        {"from_persona": "Champions", "to_persona": "Champions", "customers": 1, "share": 0.5},
        {"from_persona": "Champions", "to_persona": "At Risk", "customers": 1, "share": 0.5},
        {"from_persona": "Loyal", "to_persona": "Loyal", "customers": 1, "share": 1.0},
        {"from_persona": "Lost", "to_persona": "Lost", "customers": 1, "share": 1.0},
        {"from_persona": NEW, "to_persona": "Lost", "customers": 1, "share": 1.0},
    ]
    moved = movers(before, after, order)
    assert moved["customer_id"].tolist() == ["b"]
    assert moved.loc[0, "steps"] == 2  # Champions (0) -> At Risk (2)
    assert moved.loc[0, "recency_days_before"] == 2 and moved.loc[0, "recency_days_after"] == 120
    # Champions -> Need Attention-like moves count too: any step down the model's order.
    after.loc[0, "persona"] = "Loyal"
    both = movers(before, after, order)
    assert both["customer_id"].tolist() == ["a", "b"]
    # a bought again (9 -> 10 orders) yet moved down; b did not (8 -> 8).
    assert both["bought_again"].tolist() == [True, False]
    assert both.columns[:5].tolist() == [
        "customer_id", "from_persona", "to_persona", "steps", "bought_again"
    ]  # fmt: skip
    after.loc[3, "persona"] = "At Risk"  # Lost -> At Risk: up
    assert movements(before, after, order) == {
        "moved_down": 2, "moved_up": 1, "stayed": 1, "new_customers": 1
    }  # fmt: skip


def test_holdout_table_by_hand() -> None:
    from custseg.migration import holdout_table

    before = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "persona": ["Champions", "Champions", "Lost"],
            "frequency": [5, 3, 1],
            "monetary": [500.0, 300.0, 10.0],
        }
    )
    full = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "frequency": [7, 3, 1, 2],
            "monetary": [700.0, 300.0, 10.0, 9.0],
        }
    )
    table = holdout_table(before, full, ["Champions", "Lost"])
    assert table.to_dict("records") == [
        {
            "persona": "Champions",
            "customers": 2,
            "bought_again": 0.5,
            "holdout_orders_mean": 1.0,
            "holdout_spend_mean": 100.0,
        },
        {
            "persona": "Lost",
            "customers": 1,
            "bought_again": 0.0,
            "holdout_orders_mean": 0.0,
            "holdout_spend_mean": 0.0,
        },
    ]
