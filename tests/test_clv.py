"""BG/NBD and Gamma-Gamma: summaries, metrics, simulated and real parameters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.clv import backtest_metrics, fit_bg_nbd, fit_gamma_gamma, summary_from_days
from custseg.config import load_settings
from custseg.pipeline import lifetime_value


def test_summary_by_hand() -> None:
    days = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "day": pd.to_datetime(["2011-01-01", "2011-01-05", "2011-01-11", "2011-01-20"]),
            "spend": [10.0, 20.0, 40.0, 7.0],
        }
    )
    s = summary_from_days(days, dt.date(2011, 1, 20))
    assert s.loc["a"].tolist() == [2.0, 10.0, 19.0, 30.0]  # repeats 2, mean (20 + 40) / 2
    assert s.loc["b"].tolist() == [0.0, 0.0, 0.0, 0.0]  # first purchase on the end day: T = 0


def test_backtest_metrics_by_hand() -> None:
    m = backtest_metrics(
        np.array([1.0, 2.0, 0.0, 3.0]),
        np.array([0.0, 2.0, 1.0, 5.0]),
        np.array([10.0, 20.0, 0.0, 30.0]),
        np.array([0.0, 30.0, 10.0, 60.0]),
        np.array([4.0, 3.0, 2.0, 1.0]),
    )
    assert m["purchases_mae"] == pytest.approx((1 + 0 + 1 + 2) / 4)
    assert m["purchases_rmse"] == pytest.approx(np.sqrt((1 + 0 + 1 + 4) / 4))
    assert m["purchases_aggregate_error_pct"] == pytest.approx(100 * (6 - 8) / 8)
    assert m["revenue_mae"] == pytest.approx((10 + 10 + 10 + 30) / 4)
    assert m["revenue_aggregate_error_pct"] == pytest.approx(100 * (60 - 100) / 100)
    # Top 10% of 4 customers is 1 customer: the first by ranking, who spent 0 of 100.
    assert m["top_decile_capture"] == 0.0
    assert m["purchases_corr"] == pytest.approx(np.corrcoef([1, 2, 0, 3], [0, 2, 1, 5])[0, 1])


def test_backtest_metrics_of_an_empty_window_are_blank_without_warnings() -> None:
    import warnings

    nothing = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning fails the test
        m = backtest_metrics(np.array([1.0, 2.0, 0.0]), nothing, np.ones(3), nothing, np.ones(3))
    assert m["purchases_mae"] == pytest.approx(1.0)
    assert np.isnan(m["purchases_corr"])
    assert np.isnan(m["purchases_aggregate_error_pct"])
    assert np.isnan(m["revenue_aggregate_error_pct"])
    assert m["top_decile_capture"] == 0.0


def _simulate(n: int, seed: int) -> pd.DataFrame:
    """Draw customers from the BG/NBD and Gamma-Gamma generative processes."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.5, 10.0, 0.8, 2.5
    p, q, v = 6.0, 4.0, 15.0
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    big_t = rng.uniform(30, 365, n)
    nu = rng.gamma(q, 1 / v, n)
    rows = []
    for i in range(n):
        t, last, x = 0.0, 0.0, 0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > big_t[i]:
                break
            x, last = x + 1, t
            if rng.random() < drop[i]:
                break
        spend = rng.gamma(p, 1 / nu[i], x).mean() if x else 0.0
        rows.append((x, last, big_t[i], spend))
    return pd.DataFrame(rows, columns=["frequency", "recency", "T", "monetary"])


def test_parameters_are_recovered_from_simulated_customers() -> None:
    data = _simulate(20_000, seed=1)
    bg = fit_bg_nbd(data)
    assert bg.r == pytest.approx(0.5, rel=0.1)
    assert bg.alpha == pytest.approx(10.0, rel=0.15)
    assert bg.a == pytest.approx(0.8, rel=0.25)
    assert bg.b == pytest.approx(2.5, rel=0.3)
    gg = fit_gamma_gamma(data)
    assert gg.p == pytest.approx(6.0, rel=0.15)
    assert gg.q == pytest.approx(4.0, rel=0.15)
    assert gg.v == pytest.approx(15.0, rel=0.2)
    assert bg.warnings == [] and gg.warnings == []


@pytest.mark.realdata
def test_real_split_matches_the_maximum_likelihood_point(real_parquet: Path) -> None:
    result = lifetime_value(
        real_parquet,
        load_settings(None, {}),
        calibration_end=dt.date(2011, 9, 9),
        horizon=91,
    )
    bg, gg = result.params["bg_nbd"], result.params["gamma_gamma"]
    assert bg["customers"] == 3_370 and gg["customers"] == 1_956
    assert bg["r"] == pytest.approx(0.7236, rel=0.005)
    assert bg["alpha"] == pytest.approx(65.57, rel=0.005)
    assert bg["log_likelihood"] == pytest.approx(-37358.766, rel=0.005)
    assert bg["a"] < 1e-3  # at the bound: reported
    assert any("not identifiable" in w for w in result.params["warnings"])
    assert gg["p"] == pytest.approx(2.329, rel=0.005)
    assert gg["q"] == pytest.approx(3.345, rel=0.005)
    assert gg["v"] == pytest.approx(413.8, rel=0.005)
    assert gg["log_likelihood"] == pytest.approx(-13367.0, rel=0.005)
    back = result.backtest.set_index("method")
    model, rate = back.loc["bg_nbd_gamma_gamma"], back.loc["baseline_rate"]
    assert round(model["purchases_mae"], 3) == 0.940
    assert round(model["purchases_rmse"], 3) == 1.515
    assert round(model["purchases_corr"], 3) == 0.794
    assert round(model["purchases_aggregate_error_pct"], 1) == -24.5
    assert round(rate["purchases_mae"], 3) == 0.926
    assert round(rate["purchases_rmse"], 3) == 1.673
    assert round(rate["purchases_corr"], 3) == 0.703
    assert -46 < model["revenue_aggregate_error_pct"] < -40
    assert any("does not beat the naive rate baseline" in w for w in result.params["warnings"])
    customers = result.customers
    # Customers whose first purchase is on the cut-off day (T = 0) get finite predictions.
    assert (customers["T"] == 0).sum() > 0
    numbers = customers.drop(columns=["customer_id", "persona"]).to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
    assert customers["persona"].notna().all()
