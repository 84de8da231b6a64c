"""Customer lifetime value: BG/NBD for purchases, Gamma-Gamma for spend, by maximum likelihood.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") and Gamma-Gamma
(Fader, Hardie & Lee 2005, "RFM and CLV") are fitted on their closed-form log-likelihoods
with ``scipy.optimize.minimize`` (L-BFGS-B on log parameters), vectorised over customers.
The summary per customer is the usual one of buy-till-you-die models, in days: purchases
are counted per calendar day, ``frequency`` = purchase days - 1 (repeat purchases),
``recency`` = days from the first to the last purchase day, ``T`` = days from the first
purchase day to the calibration end, ``monetary`` = mean spend of the repeat purchase days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from custseg.btyd import (
    CountModel,
    Distinct,
    FloatArray,
    damped_hyp2f1,
    distinct,
    draw_params,
    fit_ml,
)
from custseg.sql import MICRO

__all__ = [
    "BgNbd",
    "GammaGamma",
    "backtest_metrics",
    "fit_bg_nbd",
    "fit_gamma_gamma",
    "gg_spend",
    "money_sum",
    "summary_from_days",
]


def money_sum(spend: pd.Series, by: pd.Series) -> pd.Series:
    """Sum amounts per group exactly, as the engine sums them: in millionths, by ``by``.

    A float sum of a customer's day totals ends in noise (2790.8599999999997 where the lines
    add up to 2790.86, as customers.csv's monetary says); each day total is a whole number
    of millionths (:func:`custseg.features.daily_sql`), so their integer sum is exact.

    Examples
    --------
    >>> money_sum(pd.Series([0.1, 0.2, 5.0]), pd.Series(["a", "a", "b"])).tolist()
    [0.3, 5.0]
    """
    micro = np.rint(spend.to_numpy(dtype=np.float64) * MICRO).astype(np.int64)
    total: pd.Series = pd.Series(micro, index=spend.index).groupby(by, sort=True).sum() / MICRO
    return total


def summary_from_days(days: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Build the BTYD summary from one row per customer and purchase day.

    Parameters
    ----------
    days : pandas.DataFrame
        customer_id, day (datetime64 at midnight), spend (that day's total, 0 for a purchase
        of zero-amount lines), for days up to and including ``end``.
    end : datetime.date
        The calibration end.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer_id: frequency, recency, T (days, floats), paid_repeats (repeat
        days with spend), monetary (mean spend of those days; 0 without) and spend (total
        spend to ``end``). A day of zero-amount lines only is a purchase without spend.
    """
    days = days.sort_values(["customer_id", "day"], kind="mergesort")
    grouped = days.groupby("customer_id", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    count = grouped["day"].size()
    total = money_sum(days["spend"], days["customer_id"])
    first_spend = grouped["spend"].first()
    paid_days = days["spend"].gt(0).groupby(days["customer_id"], sort=True).sum()
    end_ts = pd.Timestamp(end)
    out: pd.DataFrame = pd.DataFrame(
        {
            "frequency": (count - 1).astype(np.float64),
            "recency": ((last - first).dt.days).astype(np.float64),
            "T": ((end_ts - first).dt.days).astype(np.float64),
        }
    )
    paid = (paid_days - (first_spend > 0)).astype(np.float64)
    out["paid_repeats"] = paid
    out["monetary"] = np.where(paid > 0, (total - first_spend) / paid.clip(lower=1), 0.0)
    out["spend"] = total.astype(np.float64)
    return out


def _bg_ll(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    counts: Distinct | None = None,
) -> FloatArray:
    r, alpha, a, b = params
    values, where = counts if counts is not None else distinct(x)
    # Functions of x alone on its distinct values (see btyd.distinct); betaln once, not twice.
    beta_x = betaln(a, b + values)[where]
    beta_0 = betaln(a, b)
    a1 = gammaln(r + values)[where] - gammaln(r) + r * np.log(alpha)
    a2 = beta_x - beta_0
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-300))
            - (r + x) * np.log(alpha + t_x)
            + beta_x
            - beta_0,
            -np.inf,
        )
    ll: FloatArray = a1 + np.logaddexp(a2 + a3, a4)
    return ll


def _bg_grad(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    counts: Distinct | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Return :func:`_bg_ll` and its gradient in (r, alpha, a, b), one row per customer.

    With ``w`` the weight of the term of a customer who has lapsed (``a4`` above, 0 when
    x = 0), the derivatives are those of ``a1``, plus ``1 - w`` times those of ``a2 + a3``
    and ``w`` times those of ``a4``.
    """
    r, alpha, a, b = params
    values, where = counts if counts is not None else distinct(x)
    ll = _bg_ll(params, x, t_x, big_t, (values, where))
    # d betaln(a, b + x) - betaln(a, b), on the distinct x.
    d_beta_a = (digamma(a + b) - digamma(a + b + values))[where]
    d_beta_b = (digamma(b + values) - digamma(a + b + values))[where] - digamma(b) + digamma(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = gammaln(r + values)[where] - gammaln(r) + r * np.log(alpha)
        alive = betaln(a, b + values)[where] - betaln(a, b) - (r + x) * np.log(alpha + big_t)
        w = np.where(x > 0, -np.expm1(alive - (ll - a1)), 0.0)
        grad = np.stack(
            [
                (digamma(r + values) - digamma(r))[where]
                + np.log(alpha)
                - (1 - w) * np.log(alpha + big_t)
                - w * np.log(alpha + t_x),
                r / alpha - (1 - w) * (r + x) / (alpha + big_t) - w * (r + x) / (alpha + t_x),
                d_beta_a + w / a,
                d_beta_b - w / np.maximum(b + x - 1, 1e-300),
            ],
            axis=1,
        )
    return ll, grad


@dataclass
class BgNbd(CountModel):
    """A fitted BG/NBD model (r, alpha: purchase rates; a, b: dropout after a purchase)."""

    NAME = "bg_nbd"
    LABEL = "BG/NBD"
    PARAMS = ("r", "alpha", "a", "b")

    r: float
    alpha: float
    a: float
    b: float

    #: Each customer's log-likelihood (Fader, Hardie & Lee 2005, eq. 6).
    loglik = staticmethod(_bg_ll)
    #: ... and its gradient.
    gradient = staticmethod(_bg_grad)

    @classmethod
    def start(cls, x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return a starting point: r = a = b = 1, alpha = the mean T."""
        return np.array([1.0, max(float(np.mean(big_t)) if len(big_t) else 1.0, 1.0), 1.0, 1.0])

    def p_alive(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return the probability that each customer is still active at T."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        odds = np.where(
            x > 0,
            a / np.maximum(b + x - 1, 1e-12) * ((alpha + big_t) / (alpha + t_x)) ** (r + x),
            0.0,
        )
        out: FloatArray = 1.0 / (1.0 + odds)
        return out

    def expected_purchases(
        self, t: float, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """Return expected purchases of each customer in the next ``t`` days (all finite)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z, damping = t / (alpha + big_t + t), (alpha + big_t) / (alpha + big_t + t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - damped_hyp2f1(r + x, b + x, a + b + x - 1, z, damping)
        alive = np.where(
            x > 0,
            1 + a / np.maximum(b + x - 1, 1e-12) * ((alpha + big_t) / (alpha + t_x)) ** (r + x),
            1.0,
        )
        out: FloatArray = head * body / alive
        return out

    def expected_cumulative(self, t: FloatArray) -> FloatArray:
        """Return E[X(t)] (FHL 2005, eq. 7)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyper = damped_hyp2f1(r, b, a + b - 1, t / (alpha + t), alpha / (alpha + t))
        out: FloatArray = (a + b - 1) / (a - 1) * (1 - hyper)
        return out


def fit_bg_nbd(summary: pd.DataFrame) -> BgNbd:
    """Fit BG/NBD by maximum likelihood on frequency, recency and T.

    When a ends at its lower bound nobody appears to drop out in the window: a and b are
    then not identifiable, which the bound's warning says and
    :func:`custseg.predictions.alive_informative` turns into words about P(alive).
    """
    model: BgNbd = BgNbd.fit(summary)
    return model


@dataclass
class GammaGamma:
    """A fitted Gamma-Gamma spend model (p, q, v), with standard errors."""

    p: float
    q: float
    v: float
    log_likelihood: float
    customers: int
    warnings: list[str] = field(default_factory=list)
    std_errors: dict[str, float | None] = field(default_factory=dict)
    log_cov: list[list[float]] = field(default_factory=list)
    left_out: int = 0
    spend_frequency_corr: float | None = None

    PARAMS = ("p", "q", "v")

    @property
    def params(self) -> FloatArray:
        """(p, q, v) as an array."""
        return np.array([self.p, self.q, self.v])

    def expected_spend(self, x: FloatArray, m: FloatArray) -> FloatArray:
        """Return expected spend per purchase day (population mean without repeats)."""
        return gg_spend(self.params, x, m)

    def draws(self, n: int, seed: int) -> FloatArray:
        """Return ``n`` draws of (p, q, v) from the estimates' asymptotic normal (log scale)."""
        return draw_params(self.params, self.log_cov, n, seed)

    def as_dict(self) -> dict[str, Any]:
        """Estimates, standard errors, log-likelihood, customers and warnings (JSON)."""
        return {
            "model": "gamma_gamma",
            "p": self.p,
            "q": self.q,
            "v": self.v,
            "std_errors": self.std_errors,
            "log_likelihood": self.log_likelihood,
            "customers": self.customers,
            "customers_left_out": self.left_out,
            "spend_frequency_corr": self.spend_frequency_corr,
            "warnings": self.warnings,
            "log_cov": self.log_cov,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GammaGamma:
        """Rebuild from :meth:`as_dict`."""
        return cls(
            float(data["p"]),
            float(data["q"]),
            float(data["v"]),
            float(data.get("log_likelihood", float("nan"))),
            int(data.get("customers", 0)),
            list(data.get("warnings", [])),
            dict(data.get("std_errors", {})),
            [list(map(float, row)) for row in data.get("log_cov", [])],
            int(data.get("customers_left_out", 0)),
            None
            if data.get("spend_frequency_corr") is None
            else float(data["spend_frequency_corr"]),
        )


def gg_spend(params: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """Return Gamma-Gamma's expected spend per purchase for ``x`` paid repeats of mean ``m``.

    Without a paid repeat purchase: the population mean p v / (q - 1).
    """
    p, q, v = params
    population = p * v / (q - 1) if q > 1 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = p * (v + x * m) / (p * x + q - 1)
    out: FloatArray = np.where((x > 0) & (m > 0), conditional, population)
    return out


def _gg_ll(
    params: FloatArray, x: FloatArray, m: FloatArray, counts: Distinct | None = None
) -> FloatArray:
    p, q, v = params
    values, where = counts if counts is not None else distinct(x)
    px = p * values
    ll: FloatArray = (
        gammaln(px + q)[where]
        - gammaln(px)[where]
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )
    return ll


def _gg_grad(
    params: FloatArray, x: FloatArray, m: FloatArray, counts: Distinct | None = None
) -> tuple[FloatArray, FloatArray]:
    """Return :func:`_gg_ll` and its gradient in (p, q, v), one row per customer."""
    p, q, v = params
    values, where = counts if counts is not None else distinct(x)
    ll = _gg_ll(params, x, m, (values, where))
    px = p * values
    psi_sum = digamma(px + q)[where]
    log_xmv = np.log(x * m + v)
    grad = np.stack(
        [
            x * (psi_sum - digamma(px)[where] + np.log(m) + np.log(x) - log_xmv),
            psi_sum - digamma(q) + np.log(v) - log_xmv,
            q / v - (p * x + q) / (x * m + v),
        ],
        axis=1,
    )
    return ll, grad


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGamma:
    """Fit Gamma-Gamma by maximum likelihood on the customers with repeat purchases.

    Customers without a repeat purchase with spend (``paid_repeats``, zero-amount days are
    not spend) are left out and counted (``left_out``): the model needs positive spend.
    """
    paid = summary["paid_repeats"] if "paid_repeats" in summary else summary["frequency"]
    usable = (paid > 0) & (summary["monetary"] > 0)
    x = paid[usable].to_numpy(dtype=np.float64)
    repeat = summary[usable]
    m = repeat["monetary"].to_numpy(dtype=np.float64)
    start = np.array([1.0, 1.0, max(float(np.mean(m)) if len(m) else 1.0, 1.0)])
    counts = distinct(x)
    ml = fit_ml(lambda params: _gg_ll(params, x, m, counts), np.ones_like(x), ("p", "q", "v"),
                start, "Gamma-Gamma", lambda params: _gg_grad(params, x, m, counts))  # fmt: skip
    p, q, v = ml.values["p"], ml.values["q"], ml.values["v"]
    warnings = list(ml.notes)
    if q <= 1:
        warnings.append(f"Gamma-Gamma: q = {q:.3g} <= 1, so the mean spend is not finite.")
    corr = _spend_frequency_corr(x, m)
    if corr is not None and abs(corr) >= GG_CORR_WARN and q > 1:
        warnings.append(
            "Gamma-Gamma assumes that what a customer spends per purchase does not depend on "
            f"how often they buy; here the two correlate (r = {corr:.2f} over {len(x):,} repeat "
            "customers), so expected spend per purchase is less reliable, most for customers "
            f"without a repeat purchase, who get the population mean ({p * v / (q - 1):,.2f})."
        )
    return GammaGamma(
        p,
        q,
        v,
        ml.log_likelihood,
        len(x),
        warnings,
        ml.std_errors,
        ml.log_cov,
        int((~usable).sum()),
        corr,
    )


#: |Pearson r| between repeat purchases and mean spend from which clv warns that Gamma-Gamma's
#: independence assumption fails. The real data: 0.02; the synthetic default: 0.89 (its latent
#: segments differ in both); the lifetimes documentation checks the same r on CDNOW (0.11)
#: and goes on with the model.
GG_CORR_WARN = 0.3


def _spend_frequency_corr(x: FloatArray, m: FloatArray) -> float | None:
    """Pearson r of repeat purchases and mean spend (None when either side is constant)."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(m) == 0:
        return None
    return round(float(np.corrcoef(x, m)[0, 1]), 6)


def backtest_metrics(
    predicted_purchases: FloatArray,
    actual_purchases: FloatArray,
    predicted_revenue: FloatArray,
    actual_revenue: FloatArray,
    ranking: FloatArray,
) -> dict[str, float]:
    """Compare predictions with what happened in the holdout window.

    Parameters
    ----------
    predicted_purchases, actual_purchases : numpy.ndarray
        Per customer.
    predicted_revenue, actual_revenue : numpy.ndarray
        Per customer.
    ranking : numpy.ndarray
        The score customers are ranked by for top_decile_capture (higher first).

    Returns
    -------
    dict
        purchases_mae, purchases_rmse, purchases_corr, purchases_aggregate_error_pct,
        revenue_mae, revenue_aggregate_error_pct, top_decile_capture.
    """
    err = predicted_purchases - actual_purchases
    top = max(1, int(np.ceil(0.1 * len(ranking))))
    order = np.argsort(-ranking, kind="mergesort")[:top]
    total = float(actual_revenue.sum())
    bought = float(actual_purchases.sum())

    def pct(predicted: float, actual: float) -> float:
        return 100 * (predicted - actual) / actual if actual else float("nan")

    # A correlation with a constant side (nobody bought, or one prediction for all) is
    # undefined: NaN, said by the caller, not a numpy warning.
    spread = np.std(predicted_purchases) > 0 and np.std(actual_purchases) > 0
    return {
        "purchases_mae": float(np.mean(np.abs(err))),
        "purchases_rmse": float(np.sqrt(np.mean(err**2))),
        "purchases_corr": float(np.corrcoef(predicted_purchases, actual_purchases)[0, 1])
        if spread
        else float("nan"),
        "purchases_aggregate_error_pct": float(pct(float(predicted_purchases.sum()), bought)),
        "revenue_mae": float(np.mean(np.abs(predicted_revenue - actual_revenue))),
        "revenue_aggregate_error_pct": float(pct(float(predicted_revenue.sum()), total)),
        "top_decile_capture": float(actual_revenue[order].sum() / total) if total else 0.0,
    }
