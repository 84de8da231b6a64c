"""How well the lifetime-value predictions did on the holdout window (clv_eval_*.csv).

Three tables, the same numbers in clv.html and the dashboard:

* by calibration frequency (0, 1, ..., 6, 7+): customers, mean actual and mean predicted
  purchases in the holdout window;
* weekly cumulative repeat purchases of the calibration customers, actual against the
  model's E[X(t)] summed over customers from each one's first purchase day, across the
  calibration period and the holdout window;
* deciles of predicted value: customers, predicted and actual revenue, and the Gini
  coefficient of the ranking (normalised: the Gini of actual revenue in predicted order over
  the Gini in the best possible order; 1 = perfect ranking, 0 = no better than random).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from custseg.btyd import CountModel, FloatArray

__all__ = ["by_frequency", "deciles", "gini", "tracking"]


def by_frequency(
    frequency: FloatArray, predicted: FloatArray, actual: FloatArray, top: int = 7
) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per calibration frequency (top = "7+")."""
    group = np.minimum(frequency.astype(np.int64), top)
    frame = pd.DataFrame({"group": group, "actual": actual, "predicted": predicted})
    table = (
        frame.groupby("group")
        .agg(
            customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
        )
        .reindex(range(top + 1), fill_value=0)
        .reset_index()
    )
    table["frequency"] = [str(g) if g < top else f"{top}+" for g in table["group"]]
    out: pd.DataFrame = table[["frequency", "customers", "actual", "predicted"]]
    return out


def gini(score: FloatArray, actual: FloatArray) -> float:
    """Return the normalised Gini of ranking customers by ``score`` for ``actual`` value."""

    def raw(order: FloatArray) -> float:
        ranked = actual[np.argsort(-order, kind="mergesort")]
        total = ranked.sum()
        if total <= 0:
            return float("nan")
        captured = np.cumsum(ranked) / total
        return float(np.mean(captured) - (len(ranked) + 1) / (2 * len(ranked)))

    best = raw(actual)
    return raw(score) / best if best and np.isfinite(best) else float("nan")


def deciles(predicted: FloatArray, actual: FloatArray) -> pd.DataFrame:
    """Predicted against actual revenue per decile of predicted value (1 = highest)."""
    n = len(predicted)
    order = np.argsort(-predicted, kind="mergesort")
    decile = np.empty(n, dtype=np.int64)
    decile[order] = np.arange(n) * 10 // max(n, 1) + 1
    frame = pd.DataFrame({"decile": decile, "predicted": predicted, "actual": actual})
    table = (
        frame.groupby("decile")
        .agg(
            customers=("actual", "size"),
            predicted_revenue=("predicted", "sum"),
            actual_revenue=("actual", "sum"),
        )
        .reset_index()
    )
    total = float(actual.sum())
    table["actual_share"] = table["actual_revenue"] / total if total else np.nan
    out: pd.DataFrame = table
    return out


def tracking(days: pd.DataFrame, model: CountModel, end: dt.date, stop: dt.date) -> pd.DataFrame:
    """Weekly cumulative repeat purchases of the calibration customers, actual and predicted.

    Parameters
    ----------
    days : pandas.DataFrame
        customer_id, day, spend: every purchase day (calibration and holdout).
    model : CountModel
        Fitted on the calibration period (time in days).
    end, stop : datetime.date
        The calibration end and the end of the holdout window.

    Returns
    -------
    pandas.DataFrame
        week_end (date), period (calibration or holdout), actual, predicted: cumulative repeat
        purchase days by the end of each week.
    """
    first = days.groupby("customer_id")["day"].min()
    cohort = first[first <= pd.Timestamp(end)]
    kept = days[days["customer_id"].isin(cohort.index)]
    repeats = kept[kept["day"] > kept["customer_id"].map(cohort)]
    start = cohort.min()
    grid = pd.date_range(start + pd.Timedelta(days=6), pd.Timestamp(stop), freq="7D")
    weeks = list(grid)
    if not weeks or weeks[-1] < pd.Timestamp(stop):
        weeks.append(pd.Timestamp(stop))
    starts = cohort.value_counts()
    actual = np.searchsorted(
        np.sort(repeats["day"].to_numpy()), pd.DatetimeIndex(weeks).to_numpy(), side="right"
    )
    predicted = []
    for week in weeks:
        age = np.array([(week - s).days for s in starts.index], dtype=np.float64)
        counts = starts.to_numpy(dtype=np.float64)
        live = age > 0
        predicted.append(float(np.sum(counts[live] * model.expected_cumulative(age[live]))))
    return pd.DataFrame(  # type: ignore[no-any-return]
        {
            "week_end": [w.date().isoformat() for w in weeks],
            "period": ["calibration" if w <= pd.Timestamp(end) else "holdout" for w in weeks],
            "actual": actual.astype(np.int64),
            "predicted": predicted,
        }
    )
