"""Pareto/NBD: the published CDNOW estimates, and the model's own identities."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.clv import fit_bg_nbd, summary_from_days
from custseg.pareto import ParetoNbd, fit_pareto_nbd


def _cdnow_weeks(path: Path) -> pd.DataFrame:
    """The CDNOW calibration summary (to 1997-09-30), same-day records merged, in weeks."""
    raw = pd.read_csv(path, dtype={"customer": str}, parse_dates=["date"])
    days = (
        raw.groupby(["customer", "date"], as_index=False)["amount"]
        .sum()
        .rename(columns={"customer": "customer_id", "date": "day", "amount": "spend"})
    )
    end = dt.date(1997, 9, 30)
    summary = summary_from_days(days[days["day"] <= pd.Timestamp(end)], end)
    summary[["recency", "T"]] /= 7
    return summary


@pytest.mark.realdata
def test_the_published_cdnow_estimates_on_all_customers(cdnow: Path) -> None:
    summary = _cdnow_weeks(cdnow)
    # 2,357 customers (the 8 whose only purchase was $0 included), 2,457 repeat purchases.
    assert len(summary) == 2357 and summary["frequency"].sum() == 2457
    pareto = fit_pareto_nbd(summary)
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in published.items():
        assert getattr(pareto, name) == pytest.approx(value, rel=0.005), name
    assert pareto.log_likelihood == pytest.approx(-9595.0, abs=0.05)
    assert pareto.warnings == []
    bg = fit_bg_nbd(summary)  # the same customers: BG/NBD's published values too
    for name, value in {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}.items():
        assert getattr(bg, name) == pytest.approx(value, rel=0.005), name
    assert bg.log_likelihood == pytest.approx(-9582.43, abs=0.05)


MODEL = ParetoNbd(r=0.55, alpha=10.6, s=0.61, beta=11.7, log_likelihood=0.0, customers=0)


def test_a_new_customer_expects_the_populations_purchases() -> None:
    # Seen for no time (x = t_x = T = 0): alive for sure, and the expectation is the
    # unconditional E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)].
    zero = np.zeros(1)
    r, alpha, s, beta = MODEL.params
    for t in (1.0, 39.0, 78.0):
        unconditional = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
        assert MODEL.p_alive(zero, zero, zero)[0] == pytest.approx(1.0)
        assert MODEL.expected_purchases(t, zero, zero, zero)[0] == pytest.approx(unconditional)


def test_silence_lowers_the_chance_of_being_alive() -> None:
    x, t_x = np.full(4, 3.0), np.full(4, 10.0)
    big_t = np.array([10.0, 20.0, 40.0, 80.0])
    alive = MODEL.p_alive(x, t_x, big_t)
    assert alive[0] == pytest.approx(1.0) and np.all(np.diff(alive) < 0)
    # Nine purchases by week 10 and thirty weeks of silence: a frequent buyer's silence says
    # more, so less likely alive than the customer with three.
    assert MODEL.p_alive(np.array([9.0]), np.array([10.0]), np.array([40.0]))[0] < alive[2]


@pytest.mark.realdata
def test_the_dropout_integral_is_the_hypergeometric_closed_form(cdnow: Path) -> None:
    # The quadrature used in the fit against FHL's 2F1 expression, on every CDNOW customer
    # and at two parameter points (alpha above and below beta: both branches of A0).
    from custseg.pareto import _log_a0, _log_dead

    summary = _cdnow_weeks(cdnow)
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    for params in (np.array([0.55, 10.6, 0.61, 11.7]), np.array([0.8, 20.0, 1.3, 4.0])):
        r, _, s, _ = params
        closed = np.log(s) + _log_a0(params, x, t_x, big_t) - np.log(r + s + x)
        quadrature = _log_dead(params, x, t_x, big_t)
        finite = t_x < big_t  # bought on the last day: no dropout window, both -inf
        assert np.all(np.isneginf(quadrature[~finite]))
        assert quadrature[finite] == pytest.approx(closed[finite], abs=1e-5)


def _adaptive_log_dead(params: np.ndarray, x: float, t_x: float, big_t: float) -> float:
    """log s ∫_{t_x}^{T} (β+τ)^-(s+1) (α+τ)^-(r+x) dτ by adaptive quadrature (QUADPACK)."""
    from scipy.integrate import quad

    r, alpha, s, beta = params

    def falling(tau: float) -> float:  # the integrand over its value at t_x
        return float(
            np.exp(
                -(s + 1) * np.log1p((tau - t_x) / (beta + t_x))
                - (r + x) * np.log1p((tau - t_x) / (alpha + t_x))
            )
        )

    scale = 1 / ((s + 1) / (beta + t_x) + (r + x) / (alpha + t_x))  # its first fall
    breaks = [t_x + c * scale for c in (0.1, 1, 10, 100, 1000) if t_x + c * scale < big_t]
    area, _ = quad(falling, t_x, big_t, points=breaks or None, epsabs=0, epsrel=1e-13, limit=1000)
    return float(
        np.log(s) - (s + 1) * np.log(beta + t_x) - (r + x) * np.log(alpha + t_x) + np.log(area)
    )


def test_the_dropout_integral_is_accurate_however_far_apart_alpha_and_beta_are() -> None:
    # 2,100 customers and parameter points, alpha and beta from 0.05 to 1,000 either way
    # round, s to 200: the 64 nodes against adaptive quadrature. With the substitution's
    # exponent r+s+x of before, a one-time buyer at r = 0.2, alpha = 0.05, s = 200,
    # beta = 1,000 was 6.8 too low, and 312 of these points were off by more than 1e-3.
    import itertools

    from custseg.pareto import _log_dead

    customers = np.array(
        [[0, 0, 300], [0, 0, 39], [1, 5, 39], [5, 30, 39], [20, 200, 300], [100, 290, 300],
         [2, 38.9, 39]],
        dtype=float,
    )  # fmt: skip
    x, t_x, big_t = customers.T
    rates, scales = (0.05, 1.0, 10.0, 300.0), (0.1, 0.6, 2.0, 10.0, 200.0)
    worst = 0.0
    for r, alpha, s, beta in itertools.product((0.2, 0.55, 3.0), rates, scales, (*rates, 1e3)):
        params = np.array([r, alpha, s, beta])
        got = _log_dead(params, x, t_x, big_t)
        want = [_adaptive_log_dead(params, *row) for row in customers]
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst < 5e-5
