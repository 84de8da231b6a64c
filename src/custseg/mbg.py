"""The modified BG/NBD (Batislam, Denizel & Filiztekin 2007), fitted by maximum likelihood.

BG/NBD lets a customer drop out only after a repeat purchase, so a customer seen once is
alive for sure. The modified model also lets them drop out right after the first purchase
(probability p at time 0 and after every purchase), so that a long silence after a single
purchase lowers P(alive) too. Its closed-form likelihood:

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        · [1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from custseg.btyd import Distinct, FloatArray, damped_hyp2f1, distinct
from custseg.clv import BgNbd

__all__ = ["ModifiedBgNbd", "fit_modified_bg_nbd"]


def _mbg_ll(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    counts: Distinct | None = None,
) -> FloatArray:
    r, alpha, a, b = params
    values, where = counts if counts is not None else distinct(x)
    head = (
        gammaln(r + values)[where]
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + values + 1)[where]
        - betaln(a, b)
        - (r + x) * np.log(alpha + big_t)
    )
    odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
    ll: FloatArray = head + np.logaddexp(0.0, odds)
    return ll


def _mbg_grad(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    counts: Distinct | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Return :func:`_mbg_ll` and its gradient in (r, alpha, a, b), one row per customer.

    ``w``, the logistic of ``odds``, is the posterior weight of a lapse.
    """
    r, alpha, a, b = params
    values, where = counts if counts is not None else distinct(x)
    ll = _mbg_ll(params, x, t_x, big_t, (values, where))
    log_t, log_tx = np.log(alpha + big_t), np.log(alpha + t_x)
    odds = np.log(a) - np.log(b + x) + (r + x) * (log_t - log_tx)
    w = np.exp(odds - np.logaddexp(0.0, odds))
    grad = np.stack(
        [
            (digamma(r + values) - digamma(r))[where]
            + np.log(alpha)
            - log_t
            + w * (log_t - log_tx),
            r / alpha
            - (r + x) / (alpha + big_t)
            + w * (r + x) * (1 / (alpha + big_t) - 1 / (alpha + t_x)),
            (digamma(a + b) - digamma(a + b + values + 1))[where] + w / a,
            (digamma(b + values + 1) - digamma(a + b + values + 1))[where]
            - digamma(b)
            + digamma(a + b)
            - w / (b + x),
        ],
        axis=1,
    )
    return ll, grad


@dataclass
class ModifiedBgNbd(BgNbd):
    """A fitted modified BG/NBD model: BG/NBD's parameters, another likelihood."""

    NAME = "mbg_nbd"
    LABEL = "modified BG/NBD"

    #: Each customer's log-likelihood.
    loglik = staticmethod(_mbg_ll)
    #: ... and its gradient.
    gradient = staticmethod(_mbg_grad)

    def p_alive(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return P(alive at T) = 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)), for every x."""
        r, alpha, a, b = self.params
        with np.errstate(over="ignore"):
            odds = a / (b + x) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
        out: FloatArray = 1.0 / (1.0 + odds)
        return out

    def expected_purchases(
        self, t: float, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """Return expected purchases in the next ``t``.

        E = (a+b+x)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]
            · P(alive)
        """
        r, alpha, a, b = self.params
        z, damping = t / (alpha + big_t + t), (alpha + big_t) / (alpha + big_t + t)
        body = (a + b + x) / (a - 1) * (1 - damped_hyp2f1(r + x, b + x + 1, a + b + x, z, damping))
        out: FloatArray = body * self.p_alive(x, t_x, big_t)
        return out

    def expected_cumulative(self, t: FloatArray) -> FloatArray:
        """Return E[X(t)] = b/(a-1) [1 - (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]."""
        r, alpha, a, b = self.params
        hyper = damped_hyp2f1(r, b + 1, a + b, t / (alpha + t), alpha / (alpha + t))
        out: FloatArray = b / (a - 1) * (1 - hyper)
        return out


def fit_modified_bg_nbd(summary: pd.DataFrame) -> ModifiedBgNbd:
    """Fit the modified BG/NBD by maximum likelihood on frequency, recency and T."""
    model: ModifiedBgNbd = ModifiedBgNbd.fit(summary)
    return model
