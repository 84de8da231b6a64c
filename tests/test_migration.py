"""Migration and holdout tables by hand."""

from __future__ import annotations

import numpy as np
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


def test_holdout_table_equals_merging_the_whole_table() -> None:
    """The sample's rows are picked out before the merge: the same table, to the bit."""
    from custseg.migration import holdout_table

    rng = np.random.default_rng(7)
    n = 2_000
    full = pd.DataFrame(
        {
            "customer_id": [str(10_000 + i) for i in rng.permutation(n)],
            "frequency": rng.integers(1, 30, n),
            "monetary": rng.random(n) * 1_000,
        }
    )
    before = full.sample(300, random_state=1).reset_index(drop=True)
    before["frequency"] = np.maximum(1, before["frequency"] - rng.integers(0, 3, 300))
    before["monetary"] = before["monetary"] * rng.random(300)
    before["persona"] = np.where(before["frequency"] > 10, "Loyal", "At Risk")
    before.loc[0, "customer_id"] = "not in full"  # an id only the sample has is left out
    joined = before.merge(
        full[["customer_id", "frequency", "monetary"]], on="customer_id", suffixes=("", "_full")
    )
    after = joined["frequency_full"] - joined["frequency"]
    spend = joined["monetary_full"] - joined["monetary"]
    want = (
        pd.DataFrame(
            {
                "persona": joined["persona"],
                "customers": 1,
                "bought_again": (after > 0).astype(float),
                "holdout_orders_mean": after,
                "holdout_spend_mean": spend,
            }
        )
        .groupby("persona")
        .agg(
            customers=("customers", "sum"),
            bought_again=("bought_again", "mean"),
            holdout_orders_mean=("holdout_orders_mean", "mean"),
            holdout_spend_mean=("holdout_spend_mean", "mean"),
        )
        .reindex(["Loyal", "At Risk"])
        .reset_index()
        .round({"bought_again": 4, "holdout_orders_mean": 3, "holdout_spend_mean": 2})
    )
    got = holdout_table(before, full, ["Loyal", "At Risk"])
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
    assert got["customers"].sum() == 299


def test_the_rows_of_the_sample_keep_their_order_and_mixed_ids_keep_the_whole_table() -> None:
    from custseg.migration import _rows_of

    full = pd.DataFrame({"customer_id": ["c", "a", "d", "b"], "x": [1, 2, 3, 4]})
    got = _rows_of(full, pd.Series(["b", "c", "z"]))
    assert got["customer_id"].tolist() == ["c", "b"] and got["x"].tolist() == [1, 4]
    mixed = pd.DataFrame({"customer_id": ["c", 1, "d"], "x": [1, 2, 3]})
    assert _rows_of(mixed, pd.Series(["c"])) is mixed
