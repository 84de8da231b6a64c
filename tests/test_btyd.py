"""Shared model machinery: triples, standard errors, intervals, draws, next-purchase timing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from custseg.btyd import fit_ml, triples
from custseg.clv import BgNbd, fit_bg_nbd
from custseg.mbg import ModifiedBgNbd
from custseg.pareto import ParetoNbd

TRUTH = {"r": 0.5, "alpha": 10.0, "a": 0.8, "b": 2.5}


def simulate_bg_nbd(n: int, seed: int, params: dict[str, float] = TRUTH) -> pd.DataFrame:
    """Customers drawn from the BG/NBD process (vectorised over customers)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    big_t = rng.uniform(30, 365, n)
    t, last, x = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        t = np.where(alive, t + rng.exponential(1 / lam), t)
        bought = alive & (t <= big_t)
        x, last = np.where(bought, x + 1, x), np.where(bought, t, last)
        alive = bought & (rng.random(n) >= p)
    return pd.DataFrame({"frequency": x, "recency": last, "T": big_t})


def test_triples_group_customers_and_map_them_back() -> None:
    summary = pd.DataFrame(
        {"frequency": [1.0, 0.0, 1.0, 1.0], "recency": [5.0, 0.0, 5.0, 6.0], "T": [9.0] * 4}
    )
    x, t_x, _, weights, inverse = triples(summary)
    assert x.tolist() == [0.0, 1.0, 1.0] and t_x.tolist() == [0.0, 5.0, 6.0]
    assert weights.tolist() == [1.0, 2.0, 1.0]
    assert x[inverse].tolist() == summary["frequency"].tolist()
    assert t_x[inverse].tolist() == summary["recency"].tolist()


def test_standard_errors_of_an_exponential_rate_are_the_textbook_ones() -> None:
    # Exponential data with rate lambda: the MLE is 1 / mean and its standard error is
    # lambda / sqrt(n) (observed information n / lambda^2).
    data = np.random.default_rng(0).exponential(1 / 3.0, 400)

    def loglik(params: np.ndarray) -> np.ndarray:
        return np.log(params[0]) - params[0] * data

    def gradient(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return loglik(params), (1 / params[0] - data)[:, None]

    rate = 1 / data.mean()
    for given in (None, gradient):  # the Hessian from values, then from gradients
        fit = fit_ml(loglik, np.ones_like(data), ("rate",), np.array([1.0]), "test", given)
        assert fit.values["rate"] == pytest.approx(rate, rel=1e-6)
        assert fit.std_errors["rate"] == pytest.approx(rate / np.sqrt(400), rel=1e-3)
        assert fit.notes == []


def test_a_parameter_at_its_bound_has_no_standard_error_and_says_why() -> None:
    # Nobody drops out (a dropout probability of 0 for everyone): the mean dropout
    # a / (a + b) goes to 0, here with b at its upper bound (a = 35, b = 7.9e5; the search
    # without gradients stopped lower, at a = 1e-6 and b = 1e6, 0.37 below in likelihood).
    summary = simulate_bg_nbd(3000, 2, {**TRUTH, "a": 1e-12})
    model = fit_bg_nbd(summary)
    assert model.a / (model.a + model.b) < 1e-4
    assert model.b > 1e5 and model.std_errors["b"] is None
    assert model.std_errors["r"] is not None and model.std_errors["r"] > 0
    assert any("b = " in w and "standard error is undefined" in w for w in model.warnings)
    draws = model.draws(50, seed=1)
    assert np.all(draws[:, 3] == model.b)  # held fixed


def test_parameter_intervals_cover_the_truth_about_90_percent_of_the_time() -> None:
    # 40 replications of 1,500 simulated BG/NBD customers: each of the four 90% intervals
    # (160 in all) covers the true value. The measured coverage with 200 replications is in
    # docs/lifetime-value.md (Uncertainty).
    covered = []
    for seed in range(40):
        fitted = BgNbd.fit(simulate_bg_nbd(1500, seed))
        for name, value in TRUTH.items():
            interval = fitted.interval(name, 0.9)
            assert interval is not None
            covered.append(interval[0] <= value <= interval[1])
    assert 0.82 <= np.mean(covered) <= 0.97


def test_purchase_probabilities_match_a_simulation_of_the_model() -> None:
    # Customers with a given history: draw who is alive from P(alive), their rates from the
    # posterior, simulate the next 30 days; compare with p_purchase and the median wait.
    rng = np.random.default_rng(7)
    n = 200_000
    x, t_x, big_t = np.array([2.0]), np.array([40.0]), np.array([100.0])
    for model in (
        BgNbd(0.5, 10.0, 0.8, 2.5),
        ModifiedBgNbd(0.5, 10.0, 0.8, 2.5),
        ParetoNbd(0.5, 10.0, 0.6, 12.0),
    ):
        alive = rng.random(n) < model.p_alive(x, t_x, big_t)[0]
        lam = rng.gamma(0.5 + x[0], 1 / (10.0 + big_t[0]), n)
        first = rng.exponential(1 / lam)
        if isinstance(model, ParetoNbd):  # alive until a dropout time from Gamma(s, beta + T)
            mu = rng.gamma(0.6, 1 / (12.0 + big_t[0]), n)
            first = np.where(rng.exponential(1 / mu) < first, np.inf, first)
        bought = alive & (first <= 30)
        assert model.p_purchase(30, x, t_x, big_t)[0] == pytest.approx(bought.mean(), abs=0.005)
        wait = model.median_wait(x, t_x, big_t)[0]
        assert np.mean(first[alive] <= wait) == pytest.approx(0.5, abs=0.006), model.LABEL


def test_the_waiting_time_of_bg_nbd_has_its_closed_form() -> None:
    # Alive, the next purchase is exponential with a Gamma(r + x, alpha + T) rate: the median
    # is (alpha + T) (2^(1 / (r + x)) - 1).
    model = BgNbd(0.5, 10.0, 0.8, 2.5)
    x, t_x, big_t = np.array([0.0, 3.0]), np.array([0.0, 50.0]), np.array([20.0, 80.0])
    expected = (10.0 + big_t) * (2 ** (1 / (0.5 + x)) - 1)
    assert model.median_wait(x, t_x, big_t) == pytest.approx(expected, rel=1e-9)


def test_a_saved_model_is_the_same_model() -> None:
    fitted = BgNbd.fit(simulate_bg_nbd(800, 3))
    again = BgNbd.from_dict(fitted.as_dict())
    assert again == fitted


def test_likelihoods_from_distinct_counts_are_the_same_to_the_bit() -> None:
    from scipy.special import betaln, gammaln

    from custseg.btyd import distinct
    from custseg.clv import _gg_ll

    summary = simulate_bg_nbd(3000, seed=4)
    x, t_x, big_t, _, _ = triples(summary)
    values, where = distinct(x)
    assert len(values) < len(x) / 10  # repeat counts take few values
    assert np.array_equal(values[where], x)
    params = np.array([0.7, 12.0, 0.9, 2.2])
    per_row = (x, np.arange(len(x)))  # every row its own "distinct" value
    for model in (BgNbd, ModifiedBgNbd, ParetoNbd):
        given = model.loglik(params, x, t_x, big_t, (values, where))
        assert np.array_equal(given, model.loglik(params, x, t_x, big_t, per_row)), model.NAME
        assert np.array_equal(given, model.loglik(params, x, t_x, big_t)), model.NAME
        # The straightforward per-row form: gammaln(r + x) of every row.
        if model is BgNbd:
            r, alpha, a, b = params
            rows = x > 0
            a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            a2 = betaln(a, b + x) - betaln(a, b)
            a3 = -(r + x) * np.log(alpha + big_t)
            a4 = np.full_like(x, -np.inf)
            a4[rows] = (
                np.log(a)
                - np.log(b + x[rows] - 1)
                - (r + x[rows]) * np.log(alpha + t_x[rows])
                + betaln(a, b + x[rows])
                - betaln(a, b)
            )
            assert np.array_equal(given, a1 + np.logaddexp(a2 + a3, a4))
    spend = np.array([3.0, 1.0, 3.0, 2.0])
    mean = np.array([20.0, 35.5, 12.25, 40.0])
    gg = np.array([2.1, 3.4, 15.0])
    p, q, v = gg
    direct = (
        gammaln(p * spend + q)
        - gammaln(p * spend)
        - gammaln(q)
        + q * np.log(v)
        + (p * spend - 1) * np.log(mean)
        + p * spend * np.log(spend)
        - (p * spend + q) * np.log(spend * mean + v)
    )
    assert np.array_equal(_gg_ll(gg, spend, mean), direct)
    assert distinct(spend)[0].tolist() == [1.0, 2.0, 3.0]
    # The positions keep the shape of what is given.
    assert distinct(np.array([[2.0], [0.0], [2.0]]))[1].tolist() == [[1], [0], [1]]


def _central(f: Any, params: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Each row's derivative of ``f`` in each parameter, by central differences."""
    columns = []
    for i in range(len(params)):
        e = np.zeros(len(params))
        e[i] = step * params[i]
        columns.append((f(params + e) - f(params - e)) / (2 * e[i]))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("model", [BgNbd, ModifiedBgNbd, ParetoNbd], ids=lambda m: m.NAME)
@pytest.mark.parametrize(
    "params",
    [[0.24, 4.4, 0.79, 2.4], [0.24, 2.4, 0.79, 4.4], [2.4, 40.0, 7.9, 0.4], [0.5, 10, 900, 3e4]],
)
def test_each_models_gradient_is_the_derivative_of_its_likelihood(
    model: Any, params: list[float]
) -> None:
    summary = simulate_bg_nbd(1500, seed=5)
    x, t_x, big_t, _, _ = triples(summary)
    t_x[np.argmax(x)] = big_t[np.argmax(x)]  # a last purchase at T: no dropout term
    theta = np.array(params)
    value, grad = model.gradient(theta, x, t_x, big_t)
    assert grad.shape == (len(x), 4)
    assert value == pytest.approx(model.loglik(theta, x, t_x, big_t), rel=1e-12, abs=1e-12)
    numeric = _central(lambda p: model.loglik(p, x, t_x, big_t), theta)
    # Row by row (x = 0 rows have small gradients), in units of the row's largest one.
    scale = np.maximum(np.abs(numeric).max(axis=1, keepdims=True), 1e-3)
    assert np.abs(grad - numeric) / scale == pytest.approx(0.0, abs=1e-5)


def test_gamma_gammas_gradient_is_the_derivative_of_its_likelihood() -> None:
    from custseg.clv import _gg_grad, _gg_ll

    rng = np.random.default_rng(6)
    x = rng.integers(1, 40, 500).astype(np.float64)
    spend = rng.gamma(2.0, 30.0, 500)
    for params in ([6.2, 3.9, 15.4], [0.6, 13.9, 1.4]):
        theta = np.array(params)
        value, grad = _gg_grad(theta, x, spend)
        assert np.array_equal(value, _gg_ll(theta, x, spend))
        numeric = _central(lambda p: _gg_ll(p, x, spend), theta)
        scale = np.abs(numeric).max(axis=0)
        assert np.abs(grad - numeric).max(axis=0) / scale == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("model", [BgNbd, ModifiedBgNbd, ParetoNbd], ids=lambda m: m.NAME)
def test_the_gradient_search_reaches_the_gradient_free_optimum(model: Any) -> None:
    summary = simulate_bg_nbd(2000, seed=7)
    x, t_x, big_t, weights, _ = triples(summary)
    values: list[int] = []

    def loglik(p: np.ndarray) -> np.ndarray:
        values.append(1)
        return model.loglik(p, x, t_x, big_t)

    def fit(with_gradient: bool) -> Any:
        values.clear()
        return fit_ml(
            loglik,
            weights,
            model.PARAMS,
            model.start(x, big_t),
            model.LABEL,
            (lambda p: model.gradient(p, x, t_x, big_t)) if with_gradient else None,
        )

    followed = fit(True)
    # The search and the Hessian used the gradient alone: the value is computed once, at
    # the optimum.
    assert len(values) == 1
    searched = fit(False)
    assert len(values) > 200
    assert followed.log_likelihood >= searched.log_likelihood - 1e-6
    for name in model.PARAMS:
        assert followed.values[name] == pytest.approx(searched.values[name], rel=1e-3), name
        assert followed.std_errors[name] == pytest.approx(searched.std_errors[name], rel=1e-3)


def test_a_gradient_that_fails_falls_back_to_the_search_without_it() -> None:
    summary = simulate_bg_nbd(1000, seed=8)
    x, t_x, big_t, weights, _ = triples(summary)
    calls = []

    def broken(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(p)
        return BgNbd.loglik(p, x, t_x, big_t), np.full((len(x), 4), np.nan)

    args = (lambda p: BgNbd.loglik(p, x, t_x, big_t), weights, BgNbd.PARAMS)
    fell_back = fit_ml(*args, BgNbd.start(x, big_t), "BG/NBD", broken)
    plain = fit_ml(*args, BgNbd.start(x, big_t), "BG/NBD")
    assert calls  # the gradient was tried
    assert fell_back == plain  # estimates, standard errors (from values) and notes


def _direct_damped_hyp2f1(a: float, b: float, c: float, z: float) -> float:
    """(1-z)^a 2F1(a, b; c; z) from the defining series, term by term in Python floats."""
    term = total = 1.0
    for k in range(100_000):
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        total += term
        if abs(term) < 1e-17 * abs(total) and k > 10:
            break
    return float((1 - z) ** a * total)


def test_the_hypergeometric_product_is_finite_where_scipy_gives_nan() -> None:
    from scipy.special import hyp2f1

    from custseg.btyd import damped_hyp2f1

    # Where scipy's hyp2f1 gives NaN (b and c in the thousands, z near 1): the fallback
    # against the defining series.
    for a, b, c, z in [(0.5, 3000.0, 2999.5, 0.95), (3.5, 1e6 + 3, 1e6 + 3.5, 0.95)]:
        assert np.isnan(hyp2f1(a, b, c, z))
        got = damped_hyp2f1(a, b, c, np.array([z]), 1 - np.array([z]))[0]
        assert got == pytest.approx(_direct_damped_hyp2f1(a, b, c, z), rel=1e-9)
    # Where scipy is finite, its value is kept to the bit; the fallback agrees with it.
    from custseg.btyd import _euler_series

    a, b, z = np.array([0.7, 5.2, 20.5]), np.array([2.4, 30.0, 8.0]), np.array([0.2, 0.6, 0.9])
    c = a + b + 0.8
    scipy_value = (1 - z) ** a * hyp2f1(a, b, c, z)
    assert np.array_equal(damped_hyp2f1(a, b, c, z, 1 - z), scipy_value)
    assert _euler_series(c - a, c - b, c, z) == pytest.approx(scipy_value, rel=1e-12)


@pytest.mark.parametrize("model", [BgNbd, ModifiedBgNbd], ids=lambda m: m.NAME)
def test_expected_purchases_are_finite_with_parameters_in_the_thousands(model: Any) -> None:
    from scipy.special import hyp2f1

    # a = 0.5, b = 3,000 (little dropout seen) and a long horizon: scipy's hyp2f1 is NaN.
    fitted = model(0.5, 10.0, 0.5, 3000.0, log_likelihood=0.0, customers=0)
    x, t_x, big_t = np.array([0.0, 2.0, 12.0]), np.array([0.0, 40.0, 100.0]), np.full(3, 120.0)
    horizon = 2400.0
    r, alpha, a, b = fitted.params
    shift = 0.0 if model is BgNbd else 1.0  # the modified model's 2F1(r+x, b+x+1; a+b+x)
    z = horizon / (alpha + big_t + horizon)
    assert np.isnan(hyp2f1(r + x, b + x + shift, a + b + x - 1 + shift, z)).all()
    got = fitted.expected_purchases(horizon, x, t_x, big_t)
    product = [
        _direct_damped_hyp2f1(r + xi, b + xi + shift, a + b + xi - 1 + shift, zi)
        for xi, zi in zip(x, z, strict=True)
    ]
    head = (a + b + x - 1 + shift) / (a - 1)
    expected = head * (1 - np.array(product)) * fitted.p_alive(x, t_x, big_t)
    assert np.all(expected > 0)
    assert got == pytest.approx(expected, rel=1e-9)


def test_a_model_with_a_likelihood_of_its_own_does_not_inherit_a_gradient() -> None:
    from dataclasses import dataclass

    from custseg.clv import _bg_grad

    @dataclass
    class Tempered(BgNbd):  # another likelihood: BG/NBD's gradient would mislead the search
        loglik = staticmethod(lambda params, *data, **kw: 0.5 * BgNbd.loglik(params, *data, **kw))

    @dataclass
    class Renamed(BgNbd):  # the same likelihood: its gradient still applies
        LABEL = "renamed"

    assert Tempered.gradient is None
    assert Renamed.gradient is BgNbd.gradient is _bg_grad
    summary = simulate_bg_nbd(600, seed=3)
    # Half the log-likelihood has the same optimum, found without a gradient.
    assert Tempered.fit(summary).params == pytest.approx(BgNbd.fit(summary).params, rel=1e-3)


def test_the_information_leaves_out_a_parameter_the_likelihood_is_flat_in() -> None:
    from custseg.btyd import _information

    # r and alpha curved (and correlated), b flat: b is left out, the rest inverted.
    hess = np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 1e-12], [0.0, 1e-12, 0.0]])
    kept, cov, flat = _information(hess)
    assert kept == [0, 1] and flat == [2]
    assert cov == pytest.approx(np.array([[2.0, -1.0], [-1.0, 4.0]]) / 7)
    # Positive definite: everything kept, the inverse.
    kept, cov, flat = _information(hess[:2, :2])
    assert kept == [0, 1] and flat == [] and cov @ hess[:2, :2] == pytest.approx(np.eye(2))
    # A flat direction that mixes two parameters: the one weighing most in it goes.
    mixed = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    kept, cov, flat = _information(mixed)
    assert len(flat) == 1 and flat[0] in (0, 1) and 2 in kept
    assert cov[-1, -1] == pytest.approx(1 / 3)
    # Nothing curved: nothing kept.
    assert _information(np.zeros((2, 2)))[0] == []


def test_the_series_fallback_needs_one_number_per_entry_whatever_its_length() -> None:
    import tracemalloc

    from custseg.btyd import _euler_series

    # 20,000 entries whose series need hundreds of terms each (z = 0.97): a table of every
    # term would be hundreds of megabytes; the running sum holds one number per entry.
    n = 20_000
    a, b, z = np.full(n, 0.5), np.full(n, 3000.0), np.linspace(0.5, 0.97, n)
    c = b - 0.5  # BG/NBD's a = 0.5: the series of 2F1(c-a, c-b; c; z) has many terms
    tracemalloc.start()
    got = _euler_series(c - a, c - b, c, z)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40 * n * 8  # some arrays of the entries (the terms took 300 MB)
    for i in (0, n // 2, n - 1):
        assert got[i] == pytest.approx(_direct_damped_hyp2f1(a[i], b[i], c[i], z[i]), rel=1e-9)


def test_bounded_clips_a_far_step_without_a_warning() -> None:
    # The optimiser can try log parameters far out: exp overflows to inf, which is clipped
    # to the upper bound. A RuntimeWarning leaked to the user's console from clv.
    import warnings

    from custseg.btyd import LOWER, UPPER, bounded

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = bounded(np.array([1000.0, -1000.0, 0.0]))
    assert out.tolist() == [UPPER, LOWER, 1.0]
