"""Choosing the purchase model by its backtest: the rule, ties, and a whole run."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from custseg.clv_choice import MODELS, _choose, choose_model
from custseg.errors import UserError


def _table(rmse: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"method": list(rmse), "purchases_rmse": list(rmse.values())})


def test_the_best_model_that_beats_the_baseline_wins() -> None:
    chosen, reason = _choose(
        _table({"bg_nbd": 1.50, "mbg_nbd": 1.40, "pareto_nbd": 1.45, "baseline_rate": 1.60})
    )
    assert chosen == "mbg_nbd"
    assert reason == (
        "mbg_nbd chosen: the lowest holdout RMSE of purchases (1.400) among the models that "
        "beat the naive rate baseline (1.600); bg_nbd 1.500, pareto_nbd 1.450."
    )


def test_when_no_model_beats_the_baseline_the_closest_is_chosen_and_said() -> None:
    chosen, reason = _choose(
        _table({"bg_nbd": 1.70, "mbg_nbd": 1.80, "pareto_nbd": 1.65, "baseline_rate": 1.60})
    )
    assert chosen == "pareto_nbd"
    assert "no model beat the naive rate baseline" in reason and "Trust its rankings" in reason


def test_a_model_without_finite_predictions_cannot_be_chosen_and_is_named() -> None:
    chosen, reason = _choose(
        _table({"bg_nbd": np.nan, "mbg_nbd": 1.80, "pareto_nbd": 1.65, "baseline_rate": 1.70})
    )
    assert chosen == "pareto_nbd"
    assert reason.endswith("mbg_nbd 1.800; bg_nbd left out: its predictions are not finite.")
    chosen, reason = _choose(
        _table({"bg_nbd": np.nan, "mbg_nbd": np.nan, "pareto_nbd": 1.65, "baseline_rate": 1.7})
    )
    assert chosen == "pareto_nbd"
    assert reason == (
        "pareto_nbd chosen: the lowest holdout RMSE of purchases (1.650) among the models that "
        "beat the naive rate baseline (1.700); bg_nbd, mbg_nbd left out: their predictions are "
        "not finite."
    )
    with pytest.raises(UserError, match="no purchase model gives finite predictions"):
        _choose(_table({**dict.fromkeys(MODELS, np.nan), "baseline_rate": 1.7}))


def test_a_tie_goes_to_the_first_model_in_order() -> None:
    chosen, reason = _choose(
        _table({"bg_nbd": 1.5190, "mbg_nbd": 1.5189, "pareto_nbd": 1.60, "baseline_rate": 1.7})
    )
    assert chosen == "bg_nbd" and "(bg_nbd, mbg_nbd within 0.5% or 0.0005 purchases" in reason


def test_when_nobody_buys_in_the_holdout_every_model_ties() -> None:
    # Every RMSE is about 0: a relative distance would pick whichever is a hair lower.
    chosen, reason = _choose(
        _table({"bg_nbd": 3e-7, "mbg_nbd": 2e-7, "pareto_nbd": 1e-9, "baseline_rate": 0.0})
    )
    assert chosen == "bg_nbd"
    assert "no model beat the naive rate baseline's holdout RMSE of purchases (0.000)" in reason
    assert "(bg_nbd, mbg_nbd, pareto_nbd within 0.5% or 0.0005 purchases" in reason
    # A model equal to the baseline to three decimals does not beat it.
    chosen, reason = _choose(
        _table({"bg_nbd": 1.6001, "mbg_nbd": 1.70, "pareto_nbd": 1.599, "baseline_rate": 1.5994})
    )
    assert chosen == "bg_nbd" and "no model beat" in reason


def test_every_model_is_backtested_beside_the_baselines() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for c in range(300):
        start = rng.integers(0, 60)
        for d in np.unique(start + rng.integers(0, 200, rng.integers(1, 6))):
            rows.append((f"c{c}", pd.Timestamp("2011-01-01") + pd.Timedelta(days=int(d)), 10.0))
    days = pd.DataFrame(rows, columns=["customer_id", "day", "spend"])
    choice = choose_model(days, dt.date(2011, 5, 1), 60, automatic=False)
    assert choice.backtest["method"].tolist() == [
        *MODELS,
        "baseline_rate",
        "baseline_calibration_revenue",
    ]
    assert choice.backtest["chosen"].sum() == 1
    assert choice.backtest.loc[choice.backtest["chosen"], "method"].item() == choice.chosen
    assert set(choice.predicted) == set(MODELS) and len(choice.actual) == len(choice.summary)
    # Holdout purchases are the purchase days in (cut, cut + 60] of the customers seen by
    # the cut (those first seen later are not in the calibration).
    known = days.groupby("customer_id")["day"].min() <= "2011-05-01"
    window = days[(days["day"] > "2011-05-01") & (days["day"] <= "2011-06-30")]
    window = window[window["customer_id"].map(known)]
    assert choice.actual["purchases"].sum() == len(window)
