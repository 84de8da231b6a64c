"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), fitted by maximum likelihood.

The log-likelihood is the closed form of Fader, Hardie & Lee (2005, "A note on deriving
the Pareto/NBD model and related expressions"), in log space, with the Gauss
hypergeometric function written so that its argument stays in [0, 1):

    L = Γ(r+x) α^r β^s / Γ(r) · [ 1 / ((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A0 ]

where A0 is the difference of two 2F1 terms at ``t_x`` and ``T``. Purchases are counted as
in :mod:`custseg.clv` (``x`` repeat purchases, ``t_x`` the last, ``T`` the calibration
length, any time unit: ``alpha`` and ``beta`` are in that unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1, logsumexp

from custseg.clv import FloatArray, _bound_warnings, _bounded, _maximise

__all__ = ["ParetoNbd", "fit_pareto_nbd"]


def _log_a0(params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    """Return log A0, the hypergeometric part of the likelihood (FHL 2005, eq. 19-20)."""
    r, alpha, s, beta = params
    if alpha >= beta:
        low, high, third = beta, alpha, s + 1.0
    else:
        low, high, third = alpha, beta, r + x
    rsx = r + s + x
    gap = high - low
    p1 = hyp2f1(rsx, third, rsx + 1.0, gap / (high + t_x))
    p2 = hyp2f1(rsx, third, rsx + 1.0, gap / (high + big_t))
    terms = np.stack(
        [np.log(p1) - rsx * np.log(high + t_x), np.log(p2) - rsx * np.log(high + big_t)]
    )
    signs = np.stack([np.ones_like(x), -np.ones_like(x)])
    out: FloatArray = logsumexp(terms, axis=0, b=signs)
    return out


def _pareto_ll(params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    r, alpha, s, beta = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    rsx = r + s + x
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.logaddexp(
            -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t),
            np.log(s) + _log_a0(params, x, t_x, big_t) - np.log(rsx),
        )
    ll: FloatArray = head + tail
    return ll


@dataclass
class ParetoNbd:
    """A fitted Pareto/NBD model (r, alpha: purchase rates; s, beta: lifetimes)."""

    r: float
    alpha: float
    s: float
    beta: float
    log_likelihood: float
    customers: int
    warnings: list[str] = field(default_factory=list)

    @property
    def params(self) -> FloatArray:
        """The parameters (r, alpha, s, beta) as an array."""
        return np.array([self.r, self.alpha, self.s, self.beta])

    def log_likelihoods(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return the per-customer log-likelihood."""
        return _pareto_ll(self.params, x, t_x, big_t)

    def p_alive(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return the probability that each customer is still active at T (FHL 2005, eq. 18)."""
        r, alpha, s, beta = self.params
        log_ratio = (
            np.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + big_t)
            + s * np.log(beta + big_t)
            + _log_a0(self.params, x, t_x, big_t)
        )
        out: FloatArray = 1.0 / (1.0 + np.exp(log_ratio))
        return out

    def expected_purchases(
        self, t: float, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """Return expected purchases in the next ``t`` time units (FHL 2005, eq. 22).

        E[X(T, T+t) | x, t_x, T] = P(alive) (r+x)(β+T) / ((α+T)(s-1)) [1 - ((β+T)/(β+T+t))^(s-1)]
        """
        r, alpha, s, beta = self.params
        scale = (r + x) * (beta + big_t) / ((alpha + big_t) * (s - 1.0))
        out: FloatArray = (
            self.p_alive(x, t_x, big_t)
            * scale
            * (1.0 - ((beta + big_t) / (beta + big_t + t)) ** (s - 1.0))
        )
        return out

    def as_dict(self) -> dict[str, Any]:
        """Parameters, log-likelihood, customers and warnings, for clv_params.json."""
        return {
            "r": self.r,
            "alpha": self.alpha,
            "s": self.s,
            "beta": self.beta,
            "log_likelihood": self.log_likelihood,
            "customers": self.customers,
            "warnings": self.warnings,
        }


def fit_pareto_nbd(summary: pd.DataFrame) -> ParetoNbd:
    """Fit Pareto/NBD by maximum likelihood on frequency, recency and T.

    Customers with no spend count: the purchase-count model needs only when they bought.
    """
    x = summary["frequency"].to_numpy(dtype=np.float64)
    t_x = summary["recency"].to_numpy(dtype=np.float64)
    big_t = summary["T"].to_numpy(dtype=np.float64)

    def objective(theta: FloatArray) -> float:
        value = -float(np.sum(_pareto_ll(_bounded(theta), x, t_x, big_t)))
        return value if np.isfinite(value) else 1e300

    scale = max(float(np.mean(big_t)), 1.0)
    start = np.log(np.array([0.5, scale / 4, 0.5, scale / 4]))
    result = _maximise(objective, start)
    r, alpha, s, beta = (float(v) for v in _bounded(result.x))
    warnings = _bound_warnings({"r": r, "alpha": alpha, "s": s, "beta": beta})
    return ParetoNbd(r, alpha, s, beta, -float(result.fun), len(x), warnings)
