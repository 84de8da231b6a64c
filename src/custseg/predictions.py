"""Per-customer predictions from a fitted purchase model and Gamma-Gamma (clv.csv).

Every column is documented in :data:`COLUMNS` (docs/lifetime-value.md has the same table). Purchase
quantities are computed once per distinct ``(x, t_x, T)`` triple; the intervals are computed
in chunks of customers, so a million customers fit in memory.

Intervals are of the *expectation*: parameters are drawn from their asymptotic normal
distribution (:meth:`custseg.btyd.CountModel.draws`), each draw gives a customer's expected
purchases and CLV, and the 5th and 95th percentiles over the draws bound it. They say how
sure the model is of its average for such a customer, not what one customer will do.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd

from custseg.btyd import CountModel, FloatArray, triples
from custseg.clv import GammaGamma, gg_spend
from custseg.errors import UserError

__all__ = [
    "COLUMNS",
    "RUN_COLUMNS",
    "TIERS",
    "alive_informative",
    "customer_predictions",
    "percentiles",
    "tiers",
    "with_predictions",
]

#: clv.csv's columns, with their meaning.
COLUMNS: dict[str, str] = {
    "customer_id": "the customer",
    "frequency": "repeat purchase days up to the calibration end (purchase days - 1)",
    "recency": "days from the first to the last purchase day",
    "T": "days from the first purchase day to the calibration end",
    "historic_spend": "total spend up to the calibration end",
    "p_alive": "probability that the customer is still active at the calibration end",
    "churn_probability": "1 - p_alive",
    "expected_purchases": "expected purchase days in the horizon",
    "expected_purchases_low": "5th percentile of expected_purchases over parameter draws",
    "expected_purchases_high": "95th percentile of expected_purchases over parameter draws",
    "expected_purchases_365d": "expected purchase days in the next 365 days",
    "avg_days_between_purchases": "recency / frequency (blank without a repeat purchase)",
    "p_purchase_30d": "probability of at least one purchase in the next 30 days",
    "p_purchase_90d": "probability of at least one purchase in the next 90 days",
    "expected_next_purchase": "calibration end + the median time to the next purchase if the "
    "customer is alive; blank where p_alive < 0.5 or no purchase is more likely than not",
    "expected_spend_per_purchase": "Gamma-Gamma expected spend per purchase day",
    "expected_revenue": "expected_purchases x expected_spend_per_purchase",
    "clv": "expected_revenue discounted: / (1 + rate) ** (horizon / 365)",
    "clv_low": "5th percentile of clv over parameter draws",
    "clv_high": "95th percentile of clv over parameter draws",
    "value_tier": "rank by clv: top 1%, 1-5%, 5-10%, 10-25%, 25-50%, bottom 50%",
    "reason": "last purchase, purchases and spend rank, in words",
}

#: Value tiers: (upper share of customers, label), best first.
TIERS = (
    (0.01, "top 1%"),
    (0.05, "1-5%"),
    (0.10, "5-10%"),
    (0.25, "10-25%"),
    (0.50, "25-50%"),
    (1.00, "bottom 50%"),
)

#: Each model's dropout parameters: one at a bound means nobody is seen to drop out.
DROPOUT = {"bg_nbd": ("a", "b"), "mbg_nbd": ("a", "b"), "pareto_nbd": ("s", "beta")}

#: Customers per chunk for the intervals (draws x chunk values in memory at once).
CHUNK = 20_000


def tiers(score: FloatArray, ids: pd.Series) -> list[str]:
    """Return each customer's tier by ``score`` (higher first; ties in ``ids`` order).

    A customer at rank i (1-based) of n is in the first tier whose share covers i / n.
    """
    n = len(score)
    order = np.lexsort((ids.astype(str).to_numpy(), -score))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    share = rank / max(n, 1)
    labels = np.full(n, TIERS[-1][1], dtype=object)
    for bound, label in reversed(TIERS):
        labels[share <= bound + 1e-12] = label
    return list(labels)


def alive_informative(model: CountModel, p_alive: FloatArray) -> tuple[bool, str]:
    """Say whether the model tells active from lapsed customers, with the reason in words.

    It does not when a dropout parameter sits at a bound of the search (nobody is seen to
    drop out), or when 90% of the customers have P(alive) of 0.9 or more.
    """
    stuck = [
        n
        for n in DROPOUT.get(model.NAME, ())
        if n in model.std_errors and model.std_errors[n] is None
    ]
    sure = float(np.mean(p_alive >= 0.9)) if len(p_alive) else 1.0
    if not stuck and sure < 0.9:
        return True, (
            f"{model.LABEL} separates active from lapsed customers: {1 - sure:.0%} of them "
            "have P(alive) below 0.9."
        )
    why = (
        f"its dropout parameter{'s' if len(stuck) > 1 else ''} {' and '.join(stuck)} "
        f"{'are' if len(stuck) > 1 else 'is'} at the bound of the search"
        if stuck
        else f"{sure:.0%} of customers have P(alive) of 0.9 or more"
    )
    return False, (
        f"{model.LABEL} cannot tell active from lapsed customers in this data ({why}): "
        "P(alive) and churn probability are about the same for everyone and are not shown "
        "as informative, and the expected next-purchase dates assume every customer is "
        "still active."
    )


def _reasons(summary: pd.DataFrame, spend_tiers: list[str], end: dt.date) -> list[str]:
    """One line per customer a person can read.

    The last purchase is a date, not "N days ago": days counted to the calibration end
    would differ by one from the RFM recency beside them (counted to the as-of date, the
    day after the last purchase). The spend tier is of past spend, not of the predicted
    value (``value_tier``).
    """
    out = []
    for gap, x, big_t, tier in zip(
        (summary["T"] - summary["recency"]).to_numpy(),
        summary["frequency"].to_numpy(),
        summary["T"].to_numpy(),
        spend_tiers,
        strict=True,
    ):
        purchases = int(x) + 1
        noun = "purchase" if purchases == 1 else "purchases"
        rank = tier if tier.startswith(("top", "bottom")) else f"top {tier.split('-')[1]}"
        last = end - dt.timedelta(days=int(gap))
        out.append(
            f"last bought {last:%Y-%m-%d}, {purchases} {noun} in {int(big_t)} days, "
            f"{rank} by past spend"
        )
    return out


def percentiles(draws: FloatArray, q: list[float]) -> FloatArray:
    """Return ``np.nanpercentile(draws, q, axis=0)``, the same values, ten times faster.

    numpy's NaN-aware version loops in Python over the columns; here only the columns that
    hold a NaN take that path, the others take :func:`numpy.percentile`'s vectorised one.
    """
    out: FloatArray = np.percentile(draws, q, axis=0)
    holed = np.isnan(draws).any(axis=0)
    if holed.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN only: NaN
            out[:, holed] = np.nanpercentile(draws[:, holed], q, axis=0)
    return out


def _intervals(
    model: CountModel,
    gg: GammaGamma,
    summary: pd.DataFrame,
    horizon: int,
    discount: float,
    draws: int,
    seed: int,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Return the 5th and 95th percentiles of expected purchases and CLV over draws."""
    count_draws = model.draws(draws, seed)
    spend_draws = gg.draws(draws, seed + 1)
    n = len(summary)
    bounds = [np.zeros(n) for _ in range(4)]
    paid = summary["paid_repeats"].to_numpy(dtype=np.float64)
    monetary = summary["monetary"].to_numpy(dtype=np.float64)
    for start in range(0, n, CHUNK):
        part = summary.iloc[start : start + CHUNK]
        x, t_x, big_t, _, inverse = triples(part)
        purchases = np.stack(
            [
                model.with_params(v).expected_purchases(float(horizon), x, t_x, big_t)
                for v in count_draws
            ]
        )[:, inverse]
        spend = np.stack(
            [
                gg_spend(v, paid[start : start + CHUNK], monetary[start : start + CHUNK])
                for v in spend_draws
            ]
        )
        value = purchases * spend / discount
        block = slice(start, start + len(part))
        bounds[0][block], bounds[1][block] = percentiles(purchases, [5, 95])
        bounds[2][block], bounds[3][block] = percentiles(value, [5, 95])
    return bounds[0], bounds[1], bounds[2], bounds[3]


def customer_predictions(
    model: CountModel,
    gg: GammaGamma,
    summary: pd.DataFrame,
    *,
    end: dt.date,
    horizon: int,
    discount_rate: float,
    draws: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Build clv.csv: one row per customer of ``summary`` (see :data:`COLUMNS`).

    Parameters
    ----------
    model : CountModel
        The chosen purchase model, fitted.
    gg : GammaGamma
        The spend model, fitted.
    summary : pandas.DataFrame
        :func:`custseg.clv.summary_from_days` as of ``end``.
    end : datetime.date
        The calibration end (predictions start the day after).
    horizon : int
        Days predicted.
    discount_rate : float
        Annual rate.
    draws : int
        Parameter draws for the intervals (0: no intervals).
    seed : int
        For the draws: the same inputs give the same intervals.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS`, in that order.
    """
    x, t_x, big_t, _, inverse = triples(summary)
    alive = model.p_alive(x, t_x, big_t)[inverse]
    purchases = model.expected_purchases(float(horizon), x, t_x, big_t)[inverse]
    year = model.expected_purchases(365.0, x, t_x, big_t)[inverse]
    broken = int((~(np.isfinite(purchases) & np.isfinite(year))).sum())
    if broken:  # the backtest leaves such models out; a refit can still reach an edge
        estimates = ", ".join(
            f"{k} {v:.4g}" for k, v in zip(model.PARAMS, model.params, strict=True)
        )
        raise UserError(
            f"clv: {model.LABEL} fitted to all the data ({estimates}) gives no finite "
            f"expected purchases for {broken:,} of {len(purchases):,} customers; no lifetime "
            "value is written."
        )
    p30 = model.p_purchase(30, x, t_x, big_t)[inverse]
    p90 = model.p_purchase(90, x, t_x, big_t)[inverse]
    wait = model.median_wait(x, t_x, big_t)[inverse]
    frequency = summary["frequency"].to_numpy(dtype=np.float64)
    spend = gg.expected_spend(
        summary["paid_repeats"].to_numpy(dtype=np.float64),
        summary["monetary"].to_numpy(dtype=np.float64),
    )
    if gg.q <= 1:  # the population's mean spend is not finite, nor are q-1 terms positive
        unpaid = int((summary["paid_repeats"] <= 0).sum())
        raise UserError(
            f"clv: Gamma-Gamma's estimates (p {gg.p:.4g}, q {gg.q:.4g}, v {gg.v:.4g}; fitted "
            f"on {gg.customers:,} customers with a paid repeat purchase) have q <= 1: the mean "
            f"spend is not finite ({unpaid:,} of {len(spend):,} customers would get it): too "
            "few repeat purchases to learn spend from (a later --calibration-end, or more "
            "data, gives more); no lifetime value is written."
        )
    discount = (1 + discount_rate) ** (horizon / 365)
    revenue = purchases * spend
    ids = pd.Series(summary.index.astype(str), name="customer_id")
    next_day = [
        (end + dt.timedelta(days=int(np.ceil(w)))).isoformat()
        if np.isfinite(w) and a >= 0.5
        else ""
        for w, a in zip(wait, alive, strict=True)
    ]
    table = pd.DataFrame(
        {
            "customer_id": ids,
            "frequency": frequency,
            "recency": summary["recency"].to_numpy(dtype=np.float64),
            "T": summary["T"].to_numpy(dtype=np.float64),
            "historic_spend": summary["spend"].to_numpy(dtype=np.float64),
            "p_alive": alive,
            "churn_probability": 1 - alive,
            "expected_purchases": purchases,
            "expected_purchases_365d": year,
            "avg_days_between_purchases": np.where(
                frequency > 0, summary["recency"].to_numpy() / np.maximum(frequency, 1), np.nan
            ),
            "p_purchase_30d": p30,
            "p_purchase_90d": p90,
            "expected_next_purchase": next_day,
            "expected_spend_per_purchase": spend,
            "expected_revenue": revenue,
            "clv": revenue / discount,
        }
    )
    if draws > 0 and len(table):
        low, high, clv_low, clv_high = _intervals(
            model, gg, summary, horizon, discount, draws, seed
        )
    else:
        low = high = clv_low = clv_high = np.full(len(table), np.nan)
    table["expected_purchases_low"], table["expected_purchases_high"] = low, high
    table["clv_low"], table["clv_high"] = clv_low, clv_high
    table["value_tier"] = tiers(table["clv"].to_numpy(), ids)
    spend_tiers = tiers(table["historic_spend"].to_numpy(), ids)
    table["reason"] = _reasons(summary, spend_tiers, end)
    out: pd.DataFrame = table[list(COLUMNS)]
    return out


#: clv.csv's columns that ``run --with-clv`` adds to customers.csv (``reason`` as clv_reason;
#: frequency, recency and T are clv's purchase-day counts, not run's RFM: left out).
RUN_COLUMNS = [
    "p_alive",
    "churn_probability",
    "expected_purchases",
    "expected_purchases_low",
    "expected_purchases_high",
    "expected_purchases_365d",
    "p_purchase_30d",
    "p_purchase_90d",
    "expected_next_purchase",
    "expected_spend_per_purchase",
    "expected_revenue",
    "clv",
    "clv_low",
    "clv_high",
    "value_tier",
    "clv_reason",
]


def with_predictions(
    customers: pd.DataFrame,
    segments: pd.DataFrame,
    table: pd.DataFrame,
    *,
    churn_informative: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the prediction columns to run's customers, and their sums to its personas.

    Returns
    -------
    tuple of pandas.DataFrame
        customers with :data:`RUN_COLUMNS`; segments with expected_revenue (sum over the
        persona's customers) and churn_probability_mean (blank where the model cannot tell
        active from lapsed customers: a mean of about 0 would say nobody is at risk).
    """
    extra = table.rename(columns={"reason": "clv_reason"})[["customer_id", *RUN_COLUMNS]]
    extra = extra.assign(customer_id=extra["customer_id"].astype(str))
    merged = customers.assign(customer_id=customers["customer_id"].astype(str)).merge(
        extra, on="customer_id", how="left", validate="one_to_one"
    )
    merged["customer_id"] = customers["customer_id"].to_numpy()
    per = merged.groupby("persona", sort=False).agg(
        expected_revenue=("expected_revenue", "sum"),
        churn_probability_mean=("churn_probability", "mean"),
    )
    if not churn_informative:
        per["churn_probability_mean"] = float("nan")
    out = segments.merge(per, left_on="persona", right_index=True, how="left")
    return merged, out
