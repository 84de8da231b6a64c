"""Choose the purchase model by its backtest, beside naive baselines.

Every model of :data:`MODELS` is fitted on the purchase days up to the cut-off and predicts
each customer's purchases in the window after it. The rule (:data:`RULE`): the model with
the lowest holdout RMSE of purchases among those that beat the naive rate baseline (each
customer buys at their calibration rate x / T); if none beats it, the one with the lowest
RMSE, and the reason says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from custseg.btyd import CountModel
from custseg.clv import (
    BgNbd,
    GammaGamma,
    backtest_metrics,
    fit_gamma_gamma,
    money_sum,
    summary_from_days,
)
from custseg.errors import UserError
from custseg.mbg import ModifiedBgNbd
from custseg.pareto import ParetoNbd

__all__ = ["MODELS", "RULE", "Choice", "choose_model", "holdout_actuals"]

#: The purchase-count models, in the order they are tried and reported.
MODELS: dict[str, type[CountModel]] = {
    "bg_nbd": BgNbd,
    "mbg_nbd": ModifiedBgNbd,
    "pareto_nbd": ParetoNbd,
}

RULE = (
    "the lowest holdout RMSE of purchases among the models that beat the naive rate "
    "baseline (if none does, the lowest RMSE, said); models within 0.5% (or 0.0005 "
    "purchases) of the lowest RMSE are a tie, won by the first in the order bg_nbd, "
    "mbg_nbd, pareto_nbd"
)
#: RMSEs within this relative distance of the best are a tie.
TIE = 0.005
#: ... or within this many purchases: RMSEs that read alike to three decimals (where nobody
#: buys in the holdout every RMSE is about 0, and a relative distance means nothing).
TIE_ABS = 0.0005


@dataclass
class Choice:
    """The backtest of every model and the one chosen.

    Attributes
    ----------
    models : dict
        Name to the model fitted on the calibration period.
    gg : GammaGamma
        Spend model fitted on the calibration period.
    summary : pandas.DataFrame
        The calibration summary.
    actual : pandas.DataFrame
        Each customer's purchases and revenue in the window (summary's order).
    predicted : dict
        Name to each customer's expected purchases in the window.
    backtest : pandas.DataFrame
        One row per model and baseline (backtest.csv).
    chosen : str
        The chosen model's name.
    reason : str
        Why, in words.
    cut : datetime.date
        The calibration end of the backtest.
    window_days : int
        The days compared.
    automatic : bool
        Whether the cut-off was chosen automatically (no --calibration-end).
    """

    models: dict[str, CountModel]
    gg: GammaGamma
    summary: pd.DataFrame
    actual: pd.DataFrame
    predicted: dict[str, np.ndarray]
    backtest: pd.DataFrame
    chosen: str
    reason: str
    cut: dt.date
    window_days: int
    automatic: bool


def holdout_actuals(
    days: pd.DataFrame, summary: pd.DataFrame, cut: dt.date, window_days: int
) -> pd.DataFrame:
    """Return each customer's purchase days and revenue in (cut, cut + window], summary order."""
    stamp = pd.Timestamp(cut)
    window = days[(days["day"] > stamp) & (days["day"] <= stamp + pd.Timedelta(days=window_days))]
    out = pd.DataFrame(
        {
            "purchases": window.groupby("customer_id", sort=True)["day"].size(),
            "revenue": money_sum(window["spend"], window["customer_id"]),
        }
    )
    actual: pd.DataFrame = out.reindex(summary.index, fill_value=0)
    return actual


def choose_model(days: pd.DataFrame, cut: dt.date, window_days: int, *, automatic: bool) -> Choice:
    """Fit every model up to ``cut``, backtest the next ``window_days`` days, choose one.

    Parameters
    ----------
    days : pandas.DataFrame
        customer_id, day, spend: every purchase day.
    cut : datetime.date
        The calibration end of the backtest.
    window_days : int
        The days after ``cut`` compared.
    automatic : bool
        Recorded: whether ``cut`` was chosen automatically.

    Returns
    -------
    Choice
        The fits, the backtest table and the choice with its reason.
    """
    summary = summary_from_days(days[days["day"] <= pd.Timestamp(cut)], cut)
    actual = holdout_actuals(days, summary, cut, window_days)
    got_n = actual["purchases"].to_numpy(dtype=np.float64)
    got_rev = actual["revenue"].to_numpy(dtype=np.float64)
    x, t_x, big_t = (summary[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    gg = fit_gamma_gamma(summary)
    spend = gg.expected_spend(
        summary["paid_repeats"].to_numpy(dtype=np.float64),
        summary["monetary"].to_numpy(dtype=np.float64),
    )
    models: dict[str, CountModel] = {}
    predicted: dict[str, np.ndarray] = {}
    rows = []
    for name, cls in MODELS.items():
        model = models[name] = cls.fit(summary)
        purchases = predicted[name] = model.expected_purchases(float(window_days), x, t_x, big_t)
        revenue = purchases * spend
        rows.append(
            {
                "method": name,
                "log_likelihood": model.log_likelihood,
                **backtest_metrics(purchases, got_n, revenue, got_rev, revenue),
            }
        )
    rate = np.where(big_t > 0, x / np.where(big_t > 0, big_t, 1), 0.0) * window_days
    avg_day = summary["spend"].to_numpy(dtype=np.float64) / (x + 1)
    cal_rev = summary["spend"].to_numpy(dtype=np.float64)
    rows.append(
        {
            "method": "baseline_rate",
            **backtest_metrics(rate, got_n, rate * avg_day, got_rev, rate * avg_day),
        }
    )
    ranking = backtest_metrics(rate, got_n, rate * avg_day, got_rev, cal_rev)
    # The revenue ranking baseline predicts no counts: only its capture is its own.
    rows.append(
        {
            "method": "baseline_calibration_revenue",
            "top_decile_capture": ranking["top_decile_capture"],
        }
    )
    backtest = pd.DataFrame(rows)
    chosen, reason = _choose(backtest)
    backtest.insert(1, "chosen", backtest["method"] == chosen)
    return Choice(
        models,
        gg,
        summary,
        actual,
        predicted,
        backtest,
        chosen,
        reason,
        cut,
        window_days,
        automatic,
    )


def _choose(backtest: pd.DataFrame) -> tuple[str, str]:
    """Apply :data:`RULE` to the backtest table; return the name and the reason in words.

    The order of :data:`MODELS` breaks ties: from the simplest story (BG/NBD) to the one
    with the most to fit (Pareto/NBD).
    """
    table = backtest.set_index("method")
    base = float(table.loc["baseline_rate", "purchases_rmse"])
    every = {name: float(table.loc[name, "purchases_rmse"]) for name in MODELS}
    # A model fitted at the edge of the search (on a few customers) can predict NaN where
    # even damped_hyp2f1's series does not converge: it cannot be chosen.
    rmse = {n: v for n, v in every.items() if np.isfinite(v)}
    broken = [n for n in every if n not in rmse]
    if not rmse:
        raise UserError(
            "clv: no purchase model gives finite predictions on the backtest (their "
            "estimates reach the edge of the search, as on a handful of customers); "
            "lifetime value needs more customers."
        )
    beat = {n: v for n, v in rmse.items() if v < base - TIE_ABS}
    pool = beat or rmse
    best = min(pool.values())
    tied = [n for n in MODELS if n in pool and pool[n] <= max(best * (1 + TIE), best + TIE_ABS)]
    chosen = tied[0]
    others = ", ".join(f"{n} {v:.3f}" for n, v in rmse.items() if n != chosen)
    if len(tied) > 1:
        others += (
            f" ({', '.join(tied)} within {TIE:.1%} or {TIE_ABS} purchases of each other: a "
            f"tie, won by {chosen})"
        )
    if broken:
        their = "its predictions are" if len(broken) == 1 else "their predictions are"
        left_out = f"{', '.join(broken)} left out: {their} not finite"
        others = f"{others}; {left_out}" if others else left_out
    if beat:
        reason = (
            f"{chosen} chosen: the lowest holdout RMSE of purchases ({rmse[chosen]:.3f}) among "
            f"the models that beat the naive rate baseline ({base:.3f}); {others}."
        )
    else:
        reason = (
            f"{chosen} chosen: no model beat the naive rate baseline's holdout RMSE of purchases "
            f"({base:.3f}); {chosen} came closest ({rmse[chosen]:.3f}; {others}). Trust its "
            "rankings more than its counts."
        )
    return chosen, reason
