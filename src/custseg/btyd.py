"""What the purchase-count models share: maximum likelihood, standard errors, parameter draws.

Every model (BG/NBD and Gamma-Gamma in :mod:`custseg.clv`, Pareto/NBD in
:mod:`custseg.pareto`, the modified BG/NBD in :mod:`custseg.mbg`) is fitted the same way:

* the log-likelihood is summed over the distinct ``(x, t_x, T)`` triples, each weighted by
  how many customers share it (a million customers have far fewer distinct triples);
* parameters are searched on the log scale inside ``[LOWER, UPPER]``: L-BFGS-B on each
  model's exact gradient (``gradient``, beside its ``loglik``), or Nelder-Mead and then
  L-BFGS-B where there is none or it does not converge;
* standard errors come from the observed information matrix: the Hessian of the negative
  log-likelihood in the log parameters, by central differences of the gradient (of the
  values where there is no gradient, or the search fell back), inverted; the delta method
  gives them on the natural scale (``se = value * se_log``). A parameter at a bound of the
  search has no curvature to measure: its standard error is undefined (None), with the
  reason, and its value is held fixed when parameters are drawn;
* parameter draws for intervals come from the asymptotic normal distribution of the log
  parameters (so every draw is positive).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize
from scipy.special import hyp2f1

__all__ = [
    "LOWER",
    "UPPER",
    "CountModel",
    "Distinct",
    "MlFit",
    "ValueAndGradient",
    "bounded",
    "damped_hyp2f1",
    "distinct",
    "draw_params",
    "fit_ml",
    "maximise",
    "triples",
]

FloatArray = npt.NDArray[np.float64]
#: The distinct values of an array and each element's position among them (``distinct``).
Distinct = tuple[FloatArray, npt.NDArray[np.intp]]

#: Parameters are kept in [LOWER, UPPER]; one that ends at a bound is reported as such.
LOWER, UPPER = 1e-6, 1e6
#: A parameter within this factor of a bound is "at" it (1e-5 is a dropout of 0 in effect).
_NEAR = 10.0
#: Days to give up looking for a next purchase (ten years): beyond it, "not expected".
_WAIT_CAP = 3650.0


def bounded(theta: FloatArray) -> FloatArray:
    """Map log parameters to the search box (a step far out overflows to inf, then UPPER)."""
    with np.errstate(over="ignore"):
        out: FloatArray = np.clip(np.exp(theta), LOWER, UPPER)
    return out


def distinct(x: FloatArray) -> Distinct:
    """Return the distinct values of ``x`` and each element's position among them.

    Repeat counts take few values (51 among the 3,046 distinct triples of the real
    workbook), so a likelihood computes its functions of ``x`` alone (``gammaln(r + x)``,
    ``betaln(a, b + x)``) on the distinct values and gathers them: the same numbers to the
    bit, and BG/NBD's likelihood 3x faster.

    >>> import numpy as np
    >>> values, where = distinct(np.array([2.0, 0.0, 2.0]))
    >>> values.tolist(), where.tolist()
    ([0.0, 2.0], [1, 0, 1])
    """
    values, where = np.unique(x, return_inverse=True)
    return values, where.reshape(np.shape(x))


#: Most terms of :func:`damped_hyp2f1`'s series (z = 0.999 with a in the tens needs ~40,000).
_SERIES_TERMS = 200_000


def damped_hyp2f1(
    a: FloatArray | float,
    b: FloatArray | float,
    c: FloatArray | float,
    z: FloatArray | float,
    damping: FloatArray | float,
) -> FloatArray:
    """Return damping^a 2F1(a, b; c; z), damping being 1 - z as the caller computes it.

    The BG/NBD family's expected purchases hold this product, for 0 <= z < 1 (``damping``
    is 1 - z as each formula writes it, so that where scipy's value is finite it is the
    formula's own to the bit). scipy's ``hyp2f1`` returns NaN for some of it once b and c
    are in the thousands and z is near 1 (a = 0.5, b = 3,000, c = 3,000, z = 0.95),
    parameters a fit can reach where the data say little about dropout. There it comes
    from Euler's transformation, (1-z)^(c-b) 2F1(c-a, c-b; c; z), whose series is summed
    term by term with each term's log and sign (no term overflows); it is left NaN where
    the series does not converge within :data:`_SERIES_TERMS` terms.

    >>> import numpy as np
    >>> z = np.array([0.95])
    >>> float(damped_hyp2f1(0.5, 3000.0, 2999.5, z, 1 - z)[0])  # scipy alone gives NaN
    1.0...
    """
    with np.errstate(all="ignore"):
        out: FloatArray = np.asarray(
            np.asarray(damping, dtype=np.float64) ** a * hyp2f1(a, b, c, z), dtype=np.float64
        )
    bad = ~np.isfinite(out)
    if bad.any():
        a, b, c, z = (
            np.broadcast_to(np.asarray(v, dtype=np.float64), out.shape) for v in (a, b, c, z)
        )
        out = np.array(out)  # writable
        out[bad] = _euler_series(c[bad] - a[bad], c[bad] - b[bad], c[bad], z[bad])
    return out


def _euler_series(p: FloatArray, q: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """Return (1-z)^q sum_k (p)_k (q)_k / ((c)_k k!) z^k, NaN where it does not converge.

    The sum is kept scaled by its largest term so far (as ``logsumexp`` does, one term at a
    time): memory stays one number per entry, whatever the number of terms.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_term = q * np.log1p(-z)  # the first term, (1-z)^q
        sign = np.ones_like(z)
        top = log_term.copy()  # the largest term's log
        scaled = np.ones_like(z)  # the sum so far over exp(top)
        done = np.zeros(len(z), dtype=bool)
        for k in range(_SERIES_TERMS):
            ratio = (p + k) * (q + k) / ((c + k) * (k + 1)) * z
            log_term = log_term + np.log(np.abs(ratio))
            sign = sign * np.sign(ratio)
            # A new largest term: what was summed shrinks to its scale.
            scaled = np.where(
                log_term > top,
                scaled * np.exp(top - log_term) + sign,
                scaled + sign * np.exp(log_term - top),
            )
            top = np.maximum(top, log_term)
            # Past the largest term and falling: the rest is below the sum's last digit.
            done = (np.abs(ratio) < 1) & (log_term < top - 40) | (sign == 0)
            if done.all():
                break
        total = np.exp(top) * scaled
    out: FloatArray = np.where(done, total, np.nan)
    return out


#: Largest gradient (of the mean per customer, in log parameters) accepted as converged.
_GTOL = 1e-6
#: A function of the log parameters giving the objective and its gradient.
ValueAndGradient = Callable[[FloatArray], tuple[float, FloatArray]]


def maximise(
    objective: Callable[[FloatArray], float],
    start: FloatArray,
    gradient: ValueAndGradient | None = None,
) -> tuple[Any, bool]:
    """Minimise a negative log-likelihood over log parameters; say if the gradient led.

    With ``gradient`` (the objective and its exact gradient): L-BFGS-B inside the search box,
    from the start. Every model of custseg has one; on the real workbook it reaches the
    optimum in a tenth of the evaluations Nelder-Mead needs. Its result is taken where the
    gradient vanishes (but for parameters held at a bound), whatever L-BFGS-B says of its
    last line search: rounding often ends that one at the optimum. Without a gradient, or
    from where the gradient search stopped short: Nelder-Mead, then L-BFGS-B on numerical
    gradients.

    Returns
    -------
    tuple
        The result (``x``, ``fun``) and True when the gradient search's was taken.
    """
    if gradient is not None:
        box = [(np.log(LOWER), np.log(UPPER))] * len(start)
        result = minimize(
            gradient,
            np.clip(start, np.log(LOWER), np.log(UPPER)),
            jac=True,
            method="L-BFGS-B",
            bounds=box,
            options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-8},
        )
        low, high = result.x <= np.log(LOWER), result.x >= np.log(UPPER)
        free = np.where((low & (result.jac > 0)) | (high & (result.jac < 0)), 0.0, result.jac)
        if result.fun < 1e300 and np.max(np.abs(free)) < _GTOL:
            return result, True
        start = result.x if result.fun < 1e300 else start
    result = minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"maxiter": 1500, "xatol": 1e-5, "fatol": 1e-7},
    )
    return minimize(objective, result.x, method="L-BFGS-B"), False


def triples(
    summary: pd.DataFrame,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """Return the distinct (x, t_x, T) of a summary, their counts and each customer's index.

    Returns
    -------
    tuple
        x, t_x, T of the distinct triples, the number of customers of each, and for each
        customer the position of its triple (``x[inverse]`` is the customers' x).
    """
    stacked = summary[["frequency", "recency", "T"]].to_numpy(dtype=np.float64)
    if len(stacked) == 0:
        empty = np.zeros(0)
        return empty, empty, empty, empty, np.zeros(0, dtype=np.intp)
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return (
        unique[:, 0].copy(),
        unique[:, 1].copy(),
        unique[:, 2].copy(),
        counts.astype(np.float64),
        inverse.reshape(-1),
    )


def _hessian(f: Callable[[FloatArray], float], theta: FloatArray, step: float) -> FloatArray:
    """Return the Hessian of ``f`` at ``theta`` by central differences."""
    k = len(theta)
    hess = np.zeros((k, k))
    base = f(theta)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = step
        hess[i, i] = (f(theta + ei) - 2 * base + f(theta - ei)) / step**2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = step
            value = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * step**2)
            hess[i, j] = hess[j, i] = value
    return hess


def _jacobian(g: Callable[[FloatArray], FloatArray], theta: FloatArray, step: float) -> FloatArray:
    """Return the Hessian as the Jacobian of the gradient ``g`` by central differences.

    2k gradients instead of the 2k^2 + 1 values of :func:`_hessian`, and more accurate: a
    difference of gradients, not a second difference of values.
    """
    k = len(theta)
    rows = []
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        rows.append((g(theta + e) - g(theta - e)) / (2 * step))
    jac = np.array(rows)
    out: FloatArray = (jac + jac.T) / 2
    return out


def _information(hess: FloatArray) -> tuple[list[int], FloatArray, list[int]]:
    """Invert the observed information, leaving out the parameters it says nothing about.

    Where the matrix is not positive definite, the parameter that weighs most in its
    flattest direction is left out, and so on until the rest is positive definite (with
    BG/NBD's ``a`` at its bound, ``b`` no longer changes the likelihood: leaving it out
    keeps the standard errors of ``r`` and ``alpha``).

    Returns
    -------
    tuple
        The positions kept, their covariance, and the positions left out (in that order).
    """
    kept, flat = list(range(len(hess))), []
    while kept:
        part = hess[np.ix_(kept, kept)]
        try:
            inv = np.linalg.inv(np.linalg.cholesky(part))
        except np.linalg.LinAlgError:
            _, vectors = np.linalg.eigh((part + part.T) / 2)  # ascending eigenvalues
            flat.append(kept.pop(int(np.argmax(np.abs(vectors[:, 0])))))
            continue
        out: FloatArray = inv.T @ inv
        return kept, out, flat
    return [], np.zeros((0, 0)), flat


def draw_params(values: FloatArray, log_cov: list[list[float]], n: int, seed: int) -> FloatArray:
    """Return ``n`` draws of positive parameters: log values plus normal noise of ``log_cov``.

    Without a covariance (none measured) every draw is the estimate itself.
    """
    rng = np.random.default_rng(seed)
    cov = np.array(log_cov) if log_cov else np.zeros((len(values),) * 2)
    z = rng.multivariate_normal(np.zeros(len(values)), cov, size=n, method="eigh")
    out: FloatArray = bounded(np.log(values) + z)
    return out


@dataclass
class MlFit:
    """A maximum-likelihood fit: estimates, log-likelihood and their uncertainty.

    Attributes
    ----------
    values : dict
        Parameter name to estimate.
    log_likelihood : float
        At the estimates.
    std_errors : dict
        Parameter name to standard error on the natural scale, None where undefined.
    notes : list of str
        Why a standard error is undefined, and parameters at a bound.
    log_cov : list of list of float
        Covariance of the log parameters (rows and columns of fixed parameters are 0).
    """

    values: dict[str, float]
    log_likelihood: float
    std_errors: dict[str, float | None]
    notes: list[str]
    log_cov: list[list[float]]


def fit_ml(
    loglik: Callable[[FloatArray], FloatArray],
    weights: FloatArray,
    names: tuple[str, ...],
    start: FloatArray,
    label: str,
    gradient: Callable[[FloatArray], tuple[FloatArray, FloatArray]] | None = None,
) -> MlFit:
    """Maximise ``sum(weights * loglik(params))``; measure the standard errors.

    Parameters
    ----------
    loglik : callable
        Natural parameters to the log-likelihood of each row (distinct triple).
    weights : numpy.ndarray
        Customers per row.
    names : tuple of str
        Parameter names, in the order ``loglik`` takes them.
    start : numpy.ndarray
        Starting natural parameters.
    label : str
        The model's name, for the notes.
    gradient : callable, optional
        Natural parameters to each row's log-likelihood and its gradient (one row per
        distinct triple, one column per parameter): the search then follows the gradient
        (:func:`maximise`).

    Returns
    -------
    MlFit
        Estimates, log-likelihood, standard errors (None where undefined, with notes).
    """

    def objective(theta: FloatArray) -> float:
        with np.errstate(all="ignore"):
            value = -float(np.sum(weights * loglik(bounded(theta))))
        return value if np.isfinite(value) else 1e300

    # The search follows the mean per customer: its gradient has the size of one customer's,
    # so the first step (the gradient itself) stays near the start.
    scale = 1.0 / max(float(np.sum(weights)), 1.0)

    def value_and_gradient(theta: FloatArray) -> tuple[float, FloatArray]:
        assert gradient is not None
        params = bounded(theta)
        with np.errstate(all="ignore"):
            ll, grad = gradient(params)
            value = -float(np.sum(weights * ll)) * scale
            slope: FloatArray = -(weights @ grad) * params * scale  # d/d log(param)
        if not (np.isfinite(value) and np.all(np.isfinite(slope))):
            return 1e300, np.zeros_like(theta)
        return value, slope

    result, followed = maximise(objective, np.log(start), value_and_gradient if gradient else None)
    theta = np.log(bounded(result.x))
    values = np.exp(theta)
    at_bound = (values <= LOWER * _NEAR) | (values >= UPPER / _NEAR)
    notes = [
        f"{label}: {name} = {value:.3g} is at the bound of the search ({LOWER:g}..{UPPER:g}); "
        "its standard error is undefined (the likelihood rises, or stays flat, towards the "
        "bound) and it is held fixed in the intervals."
        for name, value, bound in zip(names, values, at_bound, strict=True)
        if bound
    ]
    free = np.flatnonzero(~at_bound)
    k = len(names)
    cov = np.zeros((k, k))
    std_errors: dict[str, float | None] = dict.fromkeys(names)
    if len(free):

        def sub(part: FloatArray) -> float:
            full = theta.copy()
            full[free] = part
            return objective(full)

        def slope(part: FloatArray) -> FloatArray:
            full = theta.copy()
            full[free] = part
            value, out = value_and_gradient(full)
            if value >= 1e300:  # no finite gradient there
                raise FloatingPointError
            return out[free] / scale

        # The gradient's differences where the gradient led the search and is finite around
        # the optimum; the values' second differences otherwise.
        hess = None
        if followed:
            try:
                hess = _jacobian(slope, theta[free], 1e-4)
            except FloatingPointError:
                hess = None
        if hess is None:
            hess = _hessian(sub, theta[free], 1e-4)
        kept, cov_free, flat = _information(hess)
        if kept:
            notes += [
                f"{label}: the likelihood is flat in {names[free[i]]} at the optimum (these "
                "data do not identify it, as when another parameter is at its bound): its "
                "standard error is undefined and it is held fixed in the intervals."
                for i in flat
            ]
        else:
            notes.append(
                f"{label}: the observed information matrix is not positive definite (the "
                "likelihood is flat in some direction at the optimum): standard errors are "
                "undefined and the intervals carry no parameter uncertainty."
            )
        kept_free = free[kept]
        cov[np.ix_(kept_free, kept_free)] = cov_free
        for pos, i in enumerate(kept_free):
            std_errors[names[i]] = float(values[i] * np.sqrt(cov_free[pos, pos]))
    return MlFit(
        values={n: float(v) for n, v in zip(names, values, strict=True)},
        log_likelihood=-objective(result.x),
        std_errors=std_errors,
        notes=notes,
        log_cov=cov.tolist(),
    )


@dataclass(kw_only=True)
class CountModel:
    """A fitted purchase-count model; subclasses name the parameters and the formulas.

    Time is in the summary's unit (days in custseg). ``x`` = repeat purchases, ``t_x`` = time
    of the last purchase and ``T`` = the calibration length, both from the first purchase.
    """

    NAME: ClassVar[str] = ""
    LABEL: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[str, ...]] = ()

    log_likelihood: float = float("nan")
    customers: int = 0
    warnings: list[str] = field(default_factory=list)
    std_errors: dict[str, float | None] = field(default_factory=dict)
    log_cov: list[list[float]] = field(default_factory=list)

    @property
    def params(self) -> FloatArray:
        """The parameters as an array, in ``PARAMS`` order."""
        return np.array([getattr(self, n) for n in self.PARAMS], dtype=np.float64)

    @staticmethod
    def loglik(
        params: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        big_t: FloatArray,
        counts: Distinct | None = None,
    ) -> FloatArray:
        """Return each customer's log-likelihood under ``params``.

        ``counts`` is ``distinct(x)``, computed once by a fit that evaluates thousands of times.
        """
        raise NotImplementedError

    #: Each customer's log-likelihood and its gradient (``loglik``'s arguments), or None.
    gradient: ClassVar[Callable[..., tuple[FloatArray, FloatArray]] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Drop an inherited gradient where a subclass brings its own likelihood.

        The parent's gradient would be that of another likelihood: the search would follow
        it to the wrong optimum. Without its own, the subclass is fitted without a gradient.
        """
        super().__init_subclass__(**kwargs)
        if "loglik" in cls.__dict__ and "gradient" not in cls.__dict__:
            cls.gradient = None

    @classmethod
    def start(cls, x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return a starting point for the search."""
        raise NotImplementedError

    def log_likelihoods(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return the per-customer log-likelihood."""
        return self.loglik(self.params, x, t_x, big_t)

    def with_params(self, values: FloatArray) -> Any:
        """Return the same model with other parameter values (for draws)."""
        changes: dict[str, Any] = {n: float(v) for n, v in zip(self.PARAMS, values, strict=True)}
        return dataclasses.replace(self, **changes)

    def p_alive(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return the probability that each customer is still active at T."""
        raise NotImplementedError

    def expected_purchases(
        self, t: float, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """Return each customer's expected purchases in the next ``t``."""
        raise NotImplementedError

    def expected_cumulative(self, t: FloatArray) -> FloatArray:
        """Return E[X(t)], the expected repeat purchases of a new customer by time ``t``."""
        raise NotImplementedError

    def p_none_if_alive(
        self, u: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """Return P(no purchase in (T, T+u] | alive at T and the customer's history).

        For BG/NBD and the modified BG/NBD a customer alive at T drops out only after a
        purchase, and the posterior purchase rate is Gamma(r + x, alpha + T), so this is
        ((alpha + T) / (alpha + T + u)) ** (r + x). Pareto/NBD overrides it.
        """
        r, alpha = self.params[0], self.params[1]
        out: FloatArray = ((alpha + big_t) / (alpha + big_t + u)) ** (r + x)
        return out

    def p_purchase(self, u: float, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return the probability of at least one purchase in the next ``u``."""
        u_arr = np.full_like(x, float(u))
        out: FloatArray = self.p_alive(x, t_x, big_t) * (
            1.0 - self.p_none_if_alive(u_arr, x, t_x, big_t)
        )
        return out

    def median_wait(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
        """Return the median time from T to the next purchase if the customer is alive.

        NaN where, even alive, the customer is more likely never to buy again (Pareto/NBD)
        or not within ten years. Solved by bisection on :meth:`p_none_if_alive`.
        """
        cap = np.full_like(x, _WAIT_CAP)
        low, high = np.zeros_like(x), cap.copy()
        never = self.p_none_if_alive(cap, x, t_x, big_t) > 0.5
        for _ in range(50):
            mid = (low + high) / 2
            above = self.p_none_if_alive(mid, x, t_x, big_t) > 0.5
            low = np.where(above, mid, low)
            high = np.where(above, high, mid)
        out: FloatArray = np.where(never, np.nan, (low + high) / 2)
        return out

    def as_dict(self) -> dict[str, Any]:
        """Estimates, standard errors, log-likelihood, customers and warnings (JSON)."""
        return {
            "model": self.NAME,
            **{n: float(getattr(self, n)) for n in self.PARAMS},
            "std_errors": self.std_errors,
            "log_likelihood": self.log_likelihood,
            "customers": self.customers,
            "warnings": self.warnings,
            "log_cov": self.log_cov,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Rebuild a fitted model from :meth:`as_dict` (a saved clv_model.json)."""
        return cls(
            **{n: float(data[n]) for n in cls.PARAMS},
            log_likelihood=float(data.get("log_likelihood", float("nan"))),
            customers=int(data.get("customers", 0)),
            warnings=list(data.get("warnings", [])),
            std_errors=dict(data.get("std_errors", {})),
            log_cov=[list(map(float, row)) for row in data.get("log_cov", [])],
        )

    @classmethod
    def fit(cls, summary: pd.DataFrame) -> Any:
        """Fit by maximum likelihood on frequency, recency and T (see the module docstring)."""
        x, t_x, big_t, weights, _ = triples(summary)
        counts = distinct(x)
        gradient = cls.gradient
        ml = fit_ml(
            lambda params: cls.loglik(params, x, t_x, big_t, counts),
            weights,
            cls.PARAMS,
            cls.start(x, big_t),
            cls.LABEL,
            None if gradient is None else lambda p: gradient(p, x, t_x, big_t, counts),
        )
        return cls(
            **ml.values,
            log_likelihood=ml.log_likelihood,
            customers=int(weights.sum()),
            warnings=list(ml.notes),
            std_errors=ml.std_errors,
            log_cov=ml.log_cov,
        )

    def draws(self, n: int, seed: int) -> FloatArray:
        """Return ``n`` parameter vectors from the estimates' asymptotic normal (log scale)."""
        return draw_params(self.params, self.log_cov, n, seed)

    def interval(self, name: str, level: float = 0.9) -> tuple[float, float] | None:
        """Return the ``level`` interval of one parameter (log-normal), None if undefined."""
        from scipy.stats import norm

        i = self.PARAMS.index(name)
        se = self.std_errors.get(name)
        if se is None or not self.log_cov:
            return None
        half = float(norm.ppf(0.5 + level / 2)) * float(np.sqrt(self.log_cov[i][i]))
        value = float(getattr(self, name))
        return value * float(np.exp(-half)), value * float(np.exp(half))
