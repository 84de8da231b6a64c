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

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, hyp2f1, logsumexp

from custseg.btyd import CountModel, Distinct, FloatArray, distinct

__all__ = ["ParetoNbd", "fit_pareto_nbd"]

#: Gauss-Legendre nodes and weights on [0, 1] for the waiting-time integral.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2


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


#: Gauss-Legendre nodes and weights on [0, 1] for the dropout integral.
_DROP_NODES, _DROP_WEIGHTS = np.polynomial.legendre.leggauss(64)
_DROP_NODES, _DROP_WEIGHTS = (_DROP_NODES + 1) / 2, _DROP_WEIGHTS / 2
#: Customers per block of the dropout integral's grid (64 nodes each: 512 KiB per array).
_BLOCK = 1024
#: The smallest exponent of the dropout integral's substitution (see :class:`_Window`).
_LEAST_RATE = 0.1


@dataclass(frozen=True)
class _Window:
    """The substitution that makes the dropout integral smooth, per customer.

    In y = log(c+τ), c = min(α, β), the dropout integral's integrand (the Jacobian c+τ
    included) falls at the rate D(τ) = (s+1)(c+τ)/(β+τ) + (r+x)(c+τ)/(α+τ) - 1, which rises
    with τ. With v = 1 - ((c+t_x)/(c+τ))^m and m = D(t_x), the integrand in v is largest at
    v = 0 and falls towards v_T, whichever of α and β is larger and however far apart: no
    part of the window is squeezed into a sliver the nodes miss. (m is at least
    :data:`_LEAST_RATE`: where D(t_x) is below it, r+x < 1 and β far above α, the integrand
    rises gently instead.) The exponent r+s+x used before (exact where α = β) squeezed it
    where β is far above α: the log-likelihood of a one-time buyer at r = 0.2, s = 200,
    α = 0.05, β = 1,000 came out 6.8 too low, and 1.3 at s = 10, α = 10, β = 1,000.
    """

    low: bool  # c is alpha (alpha <= beta): the other factor is (beta + tau)^-(s+1)
    c: float
    base: FloatArray  # c + t_x
    start: FloatArray  # D(t_x)
    rate: FloatArray  # m
    log_ratio: FloatArray  # log((c + t_x) / (c + T))
    top: FloatArray  # v_T
    power: Any  # e: s+1 (a number) or r+x (per customer), the other factor's exponent
    gap: float  # |alpha - beta|

    @classmethod
    def of(cls, params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> _Window:
        """Return the substitution for these parameters and customers."""
        r, alpha, s, beta = params
        low = bool(alpha <= beta)
        c = float(alpha if low else beta)
        base = c + t_x
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            start = (s + 1) * base / (beta + t_x) + (r + x) * base / (alpha + t_x) - 1
            rate = np.maximum(start, _LEAST_RATE)
            log_ratio = np.log(base) - np.log(c + big_t)
            top = -np.expm1(rate * log_ratio)
        power = s + 1 if low else r + x
        return cls(low, c, base, start, rate, log_ratio, top, power, float(abs(beta - alpha)))

    def rows(self, rows: slice) -> Any:
        """Return the other factor's exponent for a block of customers, as a column."""
        return self.power if self.low else self.power[rows, None]


def _log_dead(params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    """Return log of the dropped-out part of the likelihood, without its Γ and β^s factors.

    That part is s ∫_{t_x}^{T} (β+τ)^-(s+1) (α+τ)^-(r+x) dτ (dropout at τ after the last
    purchase). With the substitution of :class:`_Window` (λ = log((c+τ)/(c+t_x))) it is

        s / (m (c+t_x)^k) ∫_0^{v_T} (1 + g/(c+τ))^-e e^((m-k) λ) dv,   k = r+s+x,

    (g = |α-β|; e = s+1 where α <= β, else r+x), whose integrand is smooth, so
    64-point Gauss-Legendre gives each customer's log-likelihood to within 3e-5 of an adaptive
    quadrature over a grid of α, β from 0.05 to 1,000 and s up to 200, and to within 1e-5 of
    the hypergeometric form (:func:`_log_a0`) on CDNOW's customers (both checked in the
    tests). That form costs a hundred times more on customers with many purchases (the whole
    real workbook's fit went from 37 s to under a second).

    The customers x nodes grid is computed in blocks of :data:`_BLOCK` customers, in place:
    a grid of every customer at once made new arrays of megabytes for each step, and their
    page faults cost three times the arithmetic.
    """
    r, _, s, _ = params
    k = r + s + x
    w = _Window.of(params, x, t_x, big_t)
    scale, shrink = w.gap / w.base, w.rate - k
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sums, shift = np.empty(len(x)), np.empty(len(x))
        for i in range(0, len(x), _BLOCK):
            rows = slice(i, i + _BLOCK)
            lam = w.top[rows, None] * _DROP_NODES[None, :]  # v
            np.negative(lam, out=lam)
            np.log1p(lam, out=lam)
            lam /= -w.rate[rows, None]  # λ
            grid = np.negative(lam)
            np.exp(grid, out=grid)
            grid *= scale[rows, None]  # g / (c + τ)
            np.log1p(grid, out=grid)
            grid *= -w.rows(rows)
            lam *= shrink[rows, None]
            grid += lam
            # Each row's largest power taken out before exp: with s in the hundreds every
            # node's power underflowed to 0 (a dropout term of -inf instead of about -9,285).
            most = grid.max(axis=1, keepdims=True)
            most[~np.isfinite(most)] = 0.0
            grid -= most
            np.exp(grid, out=grid)
            sums[rows] = grid @ _DROP_WEIGHTS
            shift[rows] = most[:, 0]
        out: FloatArray = (
            np.log(s) - np.log(w.rate) - k * np.log(w.base) + np.log(w.top) + np.log(sums) + shift
        )
    return out


def _log_alive(params: FloatArray, x: FloatArray, big_t: FloatArray) -> FloatArray:
    r, alpha, s, beta = params
    out: FloatArray = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    return out


def _pareto_ll(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    counts: Distinct | None = None,
) -> FloatArray:
    r, alpha, s, beta = params
    values, where = counts if counts is not None else distinct(x)
    head = gammaln(r + values)[where] - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    tail = np.logaddexp(_log_alive(params, x, big_t), _log_dead(params, x, t_x, big_t))
    ll: FloatArray = head + tail
    return ll


def _dead_grad(
    params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Return :func:`_log_dead` and its gradient in (r, alpha, s, beta), by the same rule.

    The gradient is that of the quadrature itself, nodes included (they move with the
    parameters through v_T and m), so it agrees with the value the fit maximises. Per
    customer, the sums needed are the means over the nodes, weighted by the integrand, of
    ``log(1 + Q)``, ``H``, ``H z``, ``H l``, ``l`` and ``z``, where Q = g/(c+τ),
    H = e/(c+τ+g), l = log(1-v) and z = u/(1-v) (u the node, v = v_T u): each parameter's
    derivative is a combination of those six.
    """
    r, alpha, s, beta = params
    k = r + s + x
    w = _Window.of(params, x, t_x, big_t)
    m, top, base, gap = w.rate, w.top, w.base, w.gap
    log_base, scale = np.log(base), gap / base
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n = len(x)
        total, shift = np.empty(n), np.empty(n)
        means = np.empty((6, n))
        shrink = m - k
        # Work arrays made once and reused block after block: a new array per step cost
        # 1.5x the arithmetic at a million customers (the allocator gave back and refaulted
        # their pages), against 1.15x at 200,000.
        grids = np.empty((8, min(n, _BLOCK), len(_DROP_NODES)))
        for i in range(0, n, _BLOCK):
            rows = slice(i, i + _BLOCK)
            tu, ell, lam, fall, q, log_q, term, z = grids[:, : min(_BLOCK, n - i)]
            np.multiply(top[rows, None], _DROP_NODES[None, :], out=tu)
            np.negative(tu, out=ell)
            np.log1p(ell, out=ell)  # log(1 - v)
            np.divide(ell, -m[rows, None], out=lam)  # log((c + τ) / (c + t_x))
            np.divide(ell, m[rows, None], out=fall)
            np.exp(fall, out=fall)  # exp(-λ), as _log_dead computes it
            np.multiply(fall, scale[rows, None], out=q)  # g / (c + τ)
            np.log1p(q, out=log_q)
            e = w.rows(rows)
            np.multiply(log_q, -e, out=term)
            term += np.multiply(lam, shrink[rows, None], out=z)
            # Each row's largest power taken out before exp: neither overflow nor subnormals.
            most = term.max(axis=1, keepdims=True)
            most[~np.isfinite(most)] = 0.0
            term -= most
            np.exp(term, out=term)
            term *= _DROP_WEIGHTS
            shift[rows] = most[:, 0]
            total[rows] = term.sum(axis=1)
            np.subtract(1, tu, out=z)
            np.divide(_DROP_NODES, z, out=z)  # u / (1 - v)
            q += 1
            fall /= q
            fall *= e / base[rows, None]
            h = np.multiply(term, fall, out=fall)  # the weight times e / (c + τ + g)
            # Row by row sums of products (einsum: no temporary for the product).
            for j, (a, b) in enumerate(
                ((term, log_q), (h, None), (h, z), (h, ell), (term, ell), (term, z))
            ):
                means[j, rows] = a.sum(axis=1) if b is None else np.einsum("ij,ij->i", a, b)
        means /= total
        e_log_q, e_h, e_hz, e_hl, e_l, e_z = means
        value = np.log(s) - np.log(m) - k * log_base + np.log(top) + np.log(total) + shift
        free = w.start > _LEAST_RATE
        c_t = w.c + big_t

        def derivative(dr: float, dalpha: float, ds: float, dbeta: float) -> Any:
            dk = dr + ds
            dc, dg, de = (dalpha, dbeta - dalpha, ds) if w.low else (dbeta, dalpha - dbeta, dr)
            beta_t, alpha_t = beta + t_x, alpha + t_x
            d_start = (
                (ds * base + (s + 1) * dc) / beta_t
                - (s + 1) * base * dbeta / beta_t**2
                + (dr * base + (r + x) * dc) / alpha_t
                - (r + x) * base * dalpha / alpha_t**2
            )
            dm = np.where(free, d_start, 0.0)
            dtop = -(1 - top) * (dm * w.log_ratio + m * (dc / base - dc / c_t))
            d_power = (
                -de * e_log_q
                - dg * e_h
                + gap * (dc / base * e_h + dtop / m * e_hz + dm / m**2 * e_hl)
                - (dm - dk) * e_l / m
                + (m - k) * (dtop / m * e_z + dm / m**2 * e_l)
            )
            return ds / s - dm / m - dk * log_base - k * dc / base + dtop / top + d_power

        grad = np.stack(
            [
                derivative(1, 0, 0, 0),
                derivative(0, 1, 0, 0),
                derivative(0, 0, 1, 0),
                derivative(0, 0, 0, 1),
            ],
            axis=1,
        )
    return value, grad


def _pareto_grad(
    params: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    counts: Distinct | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Return the log-likelihood and its gradient in (r, alpha, s, beta), one row each.

    The value is :func:`_pareto_ll`'s to rounding (the integrand is computed in logs).
    """
    r, alpha, s, beta = params
    values, where = counts if counts is not None else distinct(x)
    alive = _log_alive(params, x, big_t)
    dead, d_dead = _dead_grad(params, x, t_x, big_t)
    tail = np.logaddexp(alive, dead)
    w = np.exp(dead - tail)  # the weight of having dropped out
    w = np.where(np.isfinite(dead), w, 0.0)
    d_dead = np.where(w[:, None] > 0, d_dead, 0.0)
    log_t, log_bt = np.log(alpha + big_t), np.log(beta + big_t)
    d_alive = np.stack([-log_t, -(r + x) / (alpha + big_t), -log_bt, -s / (beta + big_t)], axis=1)
    head = gammaln(r + values)[where] - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    d_head = np.stack(
        [
            (digamma(r + values) - digamma(r))[where] + np.log(alpha),
            np.full_like(x, r / alpha),
            np.full_like(x, np.log(beta)),
            np.full_like(x, s / beta),
        ],
        axis=1,
    )
    grad = d_head + (1 - w)[:, None] * d_alive + w[:, None] * d_dead
    return head + tail, grad


@dataclass
class ParetoNbd(CountModel):
    """A fitted Pareto/NBD model (r, alpha: purchase rates; s, beta: lifetimes)."""

    NAME = "pareto_nbd"
    LABEL = "Pareto/NBD"
    PARAMS = ("r", "alpha", "s", "beta")

    r: float
    alpha: float
    s: float
    beta: float

    #: Each customer's log-likelihood.
    loglik = staticmethod(_pareto_ll)
    #: ... and its gradient.
    gradient = staticmethod(_pareto_grad)

    @classmethod
    def start(cls, x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return a starting point: r = s = 0.5, alpha = beta = a quarter of the mean T."""
        scale = max(float(np.mean(big_t)) if len(big_t) else 1.0, 1.0)
        return np.array([0.5, scale / 4, 0.5, scale / 4])

    def p_alive(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return the probability that each customer is still active at T (FHL 2005, eq. 18)."""
        log_ratio = _log_dead(self.params, x, t_x, big_t) - _log_alive(self.params, x, big_t)
        with np.errstate(over="ignore"):
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

    def expected_cumulative(self, t: FloatArray) -> FloatArray:
        """Return E[X(t)] = r β / (α (s-1)) [1 - (β / (β+t))^(s-1)]."""
        r, alpha, s, beta = self.params
        out: FloatArray = r * beta / (alpha * (s - 1.0)) * (1.0 - (beta / (beta + t)) ** (s - 1.0))
        return out

    def p_none_if_alive(
        self, u: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """Return P(no purchase in (T, T+u] | alive at T and the history).

        Alive at T, the purchase rate and the dropout rate are independent gammas,
        Gamma(r+x, α+T) and Gamma(s, β+T); the next purchase comes first at ``v`` with density
        E[λ e^(-λv)] E[e^(-μv)] = (r+x)/(α+T) ((α+T)/(α+T+v))^(r+x+1) ((β+T)/(β+T+v))^s,
        integrated over (0, u] by 64-point Gauss-Legendre in y = log(1 + v/(α+T)), where the
        integrand (r+x) e^(-(r+x) y) ((β+T)/(β+T+v))^s is smooth.
        """
        r, alpha, s, beta = self.params
        a_t, b_t = (alpha + big_t)[:, None], (beta + big_t)[:, None]
        shape = (r + x)[:, None]
        top = np.log1p(u / (alpha + big_t))
        y = top[:, None] * _NODES[None, :]
        v = a_t * np.expm1(y)
        density = shape * np.exp(-shape * y) * (b_t / (b_t + v)) ** s
        out: FloatArray = 1.0 - top * (density @ _WEIGHTS)
        return out


def fit_pareto_nbd(summary: pd.DataFrame) -> ParetoNbd:
    """Fit Pareto/NBD by maximum likelihood on frequency, recency and T.

    Customers with no spend count: the purchase-count model needs only when they bought.
    """
    model: ParetoNbd = ParetoNbd.fit(summary)
    return model
