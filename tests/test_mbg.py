"""The modified BG/NBD, and every purchase model's likelihood against numerical integration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from custseg.clv import BgNbd
from custseg.mbg import ModifiedBgNbd, fit_modified_bg_nbd
from custseg.pareto import ParetoNbd

# Two customers: one seen once 30 days ago, one with 3 repeat purchases, the last on day 20
# of 40.
X, TX, BIG_T = np.array([0.0, 3.0]), np.array([0.0, 20.0]), np.array([30.0, 40.0])


def _gamma_nodes(shape: float, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Gauss-Laguerre nodes and weights for E[f(rate)] under Gamma(shape, rate)."""
    nodes, weights = special.roots_genlaguerre(120, shape - 1)
    return nodes / rate, weights / weights.sum()


def _beta_nodes(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes and weights for E[f(p)] under Beta(a, b)."""
    nodes, weights = special.roots_jacobi(120, b - 1, a - 1)
    return (nodes + 1) / 2, weights / weights.sum()


def _mixed(individual, first, second) -> float:
    """Integrate an individual likelihood over two independent mixing laws (Gauss rules)."""
    (u, wu), (v, wv) = first, second
    grid = individual(u[:, None], v[None, :])
    return float(wu @ grid @ wv)


@pytest.mark.parametrize("i", [0, 1])
def test_each_likelihood_is_its_mixture_integrated_numerically(i: int) -> None:
    x, t_x, big_t = X[i], TX[i], BIG_T[i]
    r, alpha, a, b, s, beta = 0.5, 10.0, 0.8, 2.5, 0.6, 12.0

    def bg(lm: np.ndarray, p: np.ndarray) -> np.ndarray:  # dropout only after a repurchase
        alive = (1 - p) ** x * lm**x * np.exp(-lm * big_t)
        dead = p * (1 - p) ** (x - 1) * lm**x * np.exp(-lm * t_x) if x > 0 else 0.0
        return alive + dead

    def mbg(lm: np.ndarray, p: np.ndarray) -> np.ndarray:  # also right after the first one
        alive = (1 - p) ** (x + 1) * lm**x * np.exp(-lm * big_t)
        return alive + p * (1 - p) ** x * lm**x * np.exp(-lm * t_x)

    def pareto(lm: np.ndarray, mu: np.ndarray) -> np.ndarray:
        both = lm + mu
        alive = lm**x * np.exp(-both * big_t)
        return alive + lm**x * mu / both * (np.exp(-both * t_x) - np.exp(-both * big_t))

    dropout, lifetime = _beta_nodes(a, b), _gamma_nodes(s, beta)
    for model, individual, second in (
        (BgNbd(r, alpha, a, b), bg, dropout),
        (ModifiedBgNbd(r, alpha, a, b), mbg, dropout),
        (ParetoNbd(r, alpha, s, beta), pareto, lifetime),
    ):
        closed = model.log_likelihoods(X[i : i + 1], TX[i : i + 1], BIG_T[i : i + 1])[0]
        numeric = np.log(_mixed(individual, _gamma_nodes(r, alpha), second))
        assert closed == pytest.approx(numeric, abs=1e-7), model.LABEL


def test_modified_bg_nbd_lets_a_one_time_buyer_lapse() -> None:
    model = ModifiedBgNbd(0.5, 10.0, 0.8, 2.5)
    once = np.zeros(3)
    alive = model.p_alive(once, once, np.array([0.0, 30.0, 300.0]))
    # At T = 0 only the drop at the first purchase counts: b / (a + b) of customers stay.
    assert alive[0] == pytest.approx(1 / (1 + 0.8 / 2.5))
    assert alive[1] < alive[0] and alive[2] < alive[1]
    # BG/NBD cannot say this: a one-time buyer is alive for sure.
    assert BgNbd(0.5, 10.0, 0.8, 2.5).p_alive(once, once, np.array([300.0]))[0] == 1.0


def test_expected_purchases_of_a_new_customer_is_the_cumulative_curve() -> None:
    # A customer seen at T = 0 with x = 0 expects the population's E[X(t)], times P(alive)
    # for the modified model (it may drop at the first purchase), exactly for BG/NBD.
    zero = np.zeros(1)
    for t in (10.0, 90.0, 365.0):
        bg = BgNbd(0.5, 10.0, 0.8, 2.5)
        assert bg.expected_purchases(t, zero, zero, zero)[0] == pytest.approx(
            bg.expected_cumulative(np.array([t]))[0]
        )


def test_the_modified_model_matches_a_simulation_of_itself() -> None:
    # Customers drawn from the modified BG/NBD process: their mean repeat purchases by t
    # match E[X(t)], and the fit recovers the parameters.
    rng = np.random.default_rng(5)
    n, r, alpha, a, b = 40_000, 0.6, 20.0, 0.7, 3.0
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    big_t = rng.uniform(100, 400, n)
    alive = rng.random(n) >= p  # the drop right after the first purchase
    t, last, x = np.zeros(n), np.zeros(n), np.zeros(n)
    while alive.any():
        t = np.where(alive, t + rng.exponential(1 / lam), t)
        bought = alive & (t <= big_t)
        x, last = np.where(bought, x + 1, x), np.where(bought, t, last)
        alive = bought & (rng.random(n) >= p)
    summary = pd.DataFrame({"frequency": x, "recency": last, "T": big_t})
    fitted = fit_modified_bg_nbd(summary)
    truth = {"r": r, "alpha": alpha, "a": a, "b": b}
    for name, value in truth.items():
        low, high = fitted.interval(name, 0.999)
        assert low < value < high, (name, getattr(fitted, name), low, high)
    model = ModifiedBgNbd(r, alpha, a, b)
    # Customers seen for at least 300 days: mean repeat purchases in the first 300 days.
    long = big_t >= 300
    assert x[long].mean() == pytest.approx(model.expected_cumulative(np.array([300.0]))[0], rel=0.1)


@pytest.mark.realdata
def test_the_modified_model_on_all_cdnow_customers(cdnow: Path) -> None:
    from tests.test_pareto import _cdnow_weeks

    summary = _cdnow_weeks(cdnow)
    fitted = fit_modified_bg_nbd(summary)
    assert fitted.customers == 2357
    # The estimates the lifetimes package documents for its ModifiedBetaGeoFitter on the
    # same CDNOW calibration summary (an independent implementation).
    for name, value in {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}.items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.005), name
    # An independent check of the optimum: the likelihood summed over customers one by one
    # (no grouping into triples) is the fit's, and no nearby point is higher.
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    total = float(fitted.log_likelihoods(x, t_x, big_t).sum())
    assert total == pytest.approx(fitted.log_likelihood, abs=1e-6)
    for i in range(4):
        for step in (0.99, 1.01):
            values = fitted.params.copy()
            values[i] *= step
            assert fitted.with_params(values).log_likelihoods(x, t_x, big_t).sum() < total
    # It fits CDNOW at least as well as BG/NBD (-9582.43): it has the same four parameters
    # and a drop after the first purchase that CDNOW's many one-time buyers call for.
    assert fitted.log_likelihood > -9582.43
    assert all(se is not None and se > 0 for se in fitted.std_errors.values())
