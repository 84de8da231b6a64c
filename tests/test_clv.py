"""BG/NBD and Gamma-Gamma: summaries, metrics, simulated and real parameters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.clv import (
    GammaGamma,
    backtest_metrics,
    fit_bg_nbd,
    fit_gamma_gamma,
    summary_from_days,
)
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
    # frequency, recency, T, paid_repeats, monetary, spend
    assert s.loc["a"].tolist() == [2.0, 10.0, 19.0, 2.0, 30.0, 70.0]  # mean (20 + 40) / 2
    assert s.loc["b"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 7.0]  # first purchase on the end day


def test_a_zero_amount_day_is_a_purchase_without_spend() -> None:
    days = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "z"],
            "day": pd.to_datetime(["2011-01-01", "2011-01-05", "2011-01-11", "2011-01-02"]),
            "spend": [10.0, 0.0, 40.0, 0.0],
        }
    )
    s = summary_from_days(days, dt.date(2011, 1, 20))
    # a: two repeat days, one of them paid (40): the mean spend is 40, not 20.
    assert s.loc["a"].tolist() == [2.0, 10.0, 19.0, 1.0, 40.0, 50.0]
    # z: one purchase of $0 is still a customer with a first purchase (CDNOW has eight).
    assert s.loc["z"].tolist() == [0.0, 0.0, 18.0, 0.0, 0.0, 0.0]


def test_spend_is_summed_exactly_as_the_engine_sums_it() -> None:
    from custseg.clv_choice import holdout_actuals

    # 0.1 + 0.2 is 0.30000000000000004 as floats; the lines' millionths add up to 0.3.
    days = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "day": pd.to_datetime(
                ["2011-01-01", "2011-01-02", "2011-01-03", "2011-01-04", "2011-01-02"]
            ),
            "spend": [1.1, 2.2, 0.1, 0.2, 5.0],
        }
    )
    assert 1.1 + 2.2 != 3.3 and 0.1 + 0.2 != 0.3
    s = summary_from_days(days[days["day"] <= "2011-01-02"], dt.date(2011, 1, 2))
    assert s["spend"].tolist() == [3.3, 5.0]
    actual = holdout_actuals(days, s, dt.date(2011, 1, 2), 5)
    assert actual["revenue"].tolist() == [0.3, 0.0]
    assert actual["purchases"].tolist() == [2, 0]


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
    # Spend drawn independently of frequency, as the model assumes: no correlation to speak of.
    assert gg.spend_frequency_corr is not None and abs(gg.spend_frequency_corr) < 0.1


def test_spend_that_grows_with_frequency_is_warned_about() -> None:
    # Gamma-Gamma's assumption broken by hand: customers who buy more often spend more.
    x = np.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5] * 20, dtype=float)
    m = x * 40.0 + np.tile([5.0, -5.0], 100)
    gg = fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary": m}))
    expected = float(np.corrcoef(x, m)[0, 1])
    assert gg.spend_frequency_corr == pytest.approx(expected, abs=1e-6) and expected > 0.99
    assert any(
        w.startswith(
            "Gamma-Gamma assumes that what a customer spends per purchase does not depend on "
            f"how often they buy; here the two correlate (r = {expected:.2f} over 200 repeat"
        )
        for w in gg.warnings
    ), gg.warnings
    assert gg.as_dict()["spend_frequency_corr"] == gg.spend_frequency_corr
    # Read back from clv_model.json; a file without the key (older) reads as unknown.
    again = GammaGamma.from_dict(gg.as_dict())
    assert again.spend_frequency_corr == gg.spend_frequency_corr
    older = {k: v for k, v in gg.as_dict().items() if k != "spend_frequency_corr"}
    assert GammaGamma.from_dict(older).spend_frequency_corr is None
    with pytest.raises(ValueError):
        GammaGamma.from_dict({**gg.as_dict(), "spend_frequency_corr": "high"})


@pytest.mark.realdata
def test_real_split_matches_the_maximum_likelihood_point(real_parquet: Path) -> None:
    result = lifetime_value(
        real_parquet,
        load_settings(None, {}),
        calibration_end=dt.date(2011, 9, 9),
        horizon=91,
    )
    bg, gg = result.params["models"]["bg_nbd"], result.params["gamma_gamma"]
    assert bg["customers"] == 3_370 and gg["customers"] == 1_956
    # The 40 lines of price 0 are purchases now: 3 purchase days of them alone, which moved
    # the log-likelihood from -37,358.77 (they were dropped) to -37,363.10.
    assert result.params["zero_amount_purchase_days"] == 3
    assert bg["r"] == pytest.approx(0.7236, rel=0.005)
    assert bg["alpha"] == pytest.approx(65.57, rel=0.005)
    assert bg["log_likelihood"] == pytest.approx(-37363.10, abs=0.01)
    assert bg["a"] < 1e-3 and bg["std_errors"]["a"] is None  # at the bound: reported
    assert not result.params["p_alive_informative"]
    assert any("cannot tell active from lapsed" in w for w in result.params["warnings"])
    assert gg["p"] == pytest.approx(2.329, rel=0.005)
    assert gg["q"] == pytest.approx(3.345, rel=0.005)
    assert gg["v"] == pytest.approx(413.8, rel=0.005)
    assert gg["log_likelihood"] == pytest.approx(-13367.0, rel=0.005)
    back = result.backtest.set_index("method")
    model, rate = back.loc["bg_nbd"], back.loc["baseline_rate"]
    assert round(model["purchases_mae"], 3) == 0.940
    assert round(model["purchases_rmse"], 3) == 1.519
    assert round(model["purchases_corr"], 3) == 0.795
    assert round(model["purchases_aggregate_error_pct"], 1) == -24.5
    assert round(rate["purchases_mae"], 3) == 0.927
    assert round(rate["purchases_rmse"], 3) == 1.676
    assert round(rate["purchases_corr"], 3) == 0.703
    assert -46 < model["revenue_aggregate_error_pct"] < -40
    # Nobody drops out in this window, so the three models are the same fit: a tie, which
    # goes to BG/NBD, and the reason says so.
    assert result.params["choice"]["chosen"] == "bg_nbd"
    assert (
        "within 0.5% or 0.0005 purchases of each other: a tie, won by bg_nbd"
        in result.params["choice"]["reason"]
    )
    customers = result.customers
    # Customers whose first purchase is on the cut-off day (T = 0) get finite predictions.
    assert (customers["T"] == 0).sum() > 0
    text = ["customer_id", "persona", "expected_next_purchase", "value_tier", "reason"]
    numbers = customers.drop(columns=[*text, "avg_days_between_purchases"]).to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
    assert customers["persona"].notna().all()
