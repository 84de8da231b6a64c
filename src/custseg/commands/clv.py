"""``custseg clv``: each customer's purchases and spend to come (BG/NBD + Gamma-Gamma).

The purchase days, and the RFM as of the calibration end (for the personas), come from one
session: one scan of the input.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.commands.common import write_audiences
from custseg.commands.score import check_collectable
from custseg.config import Settings
from custseg.errors import UserError
from custseg.io.writers import staged_folder, write_csv, write_json
from custseg.lazy import FITTING, REPORT, preload
from custseg.progress import ProgressFactory, StageTimer, logger
from custseg.results import RunLog
from custseg.segmentation import fit_segments
from custseg.session import Session

__all__ = ["CLV_FILES", "ClvResult", "lifetime_value", "write_clv"]

CLV_FILES = (
    "clv.csv",
    "clv_personas.csv",
    "clv_params.json",
    "backtest.csv",
    "clv.html",
    "run_log.json",
    "audiences",
)


@dataclass
class ClvResult:
    """What ``custseg clv`` computed.

    Attributes
    ----------
    customers : pandas.DataFrame
        The clv.csv table.
    personas : pandas.DataFrame
        Per persona: customers, expected_revenue, share, p_alive_mean, clv.
    params : dict
        clv_params.json.
    backtest : pandas.DataFrame or None
        One row per method, with --calibration-end.
    audiences : pandas.DataFrame
        The run's customers (scores, rule segment) with expected_revenue and p_alive.
    log : dict
        run_log.json: timings, engine, passes over the input.
    """

    customers: pd.DataFrame
    personas: pd.DataFrame
    params: dict[str, Any]
    backtest: pd.DataFrame | None
    audiences: pd.DataFrame = field(default_factory=pd.DataFrame)
    log: RunLog = field(default_factory=RunLog)


def lifetime_value(
    input_path: Path | str,
    settings: Settings,
    *,
    calibration_end: dt.date | None = None,
    horizon: int = 90,
    discount_rate: float = 0.1,
    progress: ProgressFactory | None = None,
) -> ClvResult:
    """Fit BG/NBD and Gamma-Gamma, predict the next ``horizon`` days, optionally backtest.

    Parameters
    ----------
    input_path : Path
        Order lines (read and cleaned as ``run`` does).
    settings : Settings
        As for ``run``; personas come from a run as of the calibration end.
    calibration_end : datetime.date, optional
        Fit on purchase days up to and including it, predict the following ``horizon`` days
        and compare with what happened (backtest). Default: fit on all the data.
    horizon : int
        Days predicted.
    discount_rate : float
        Annual rate: clv = expected revenue / (1 + rate) ** (horizon / 365).
    progress : ProgressFactory, optional
        Progress bars.

    Returns
    -------
    ClvResult
        The tables and parameters.
    """
    if horizon < 1:
        raise UserError(f"--horizon must be at least 1 day, got {horizon}.")
    timer = StageTimer(progress)
    started = time.time()
    preload("scipy.optimize", "scipy.special", *FITTING, *REPORT)
    with Session(input_path, settings, timer=timer) as session:
        result = _lifetime_value(session, calibration_end, horizon, discount_rate)
        result.log = session.log_record(timer, started)
    return result


def _lifetime_value(
    session: Session, calibration_end: dt.date | None, horizon: int, discount_rate: float
) -> ClvResult:
    from custseg.clv import summary_from_days

    settings, timer, source = session.settings, session.timer, session.source
    cleaned = session.cleaning()
    check_collectable(session, cleaned.customers, "clv")
    days = session.daily()
    last_day = days["day"].max().date()
    end = calibration_end or last_day
    first_day = days["day"].min().date()
    if not first_day <= end < last_day + dt.timedelta(days=1):
        raise UserError(
            f"--calibration-end {end} is outside the purchase days of {source} "
            f"({first_day} to {last_day})."
        )
    if calibration_end is not None and end + dt.timedelta(days=horizon) > last_day:
        latest = last_day - dt.timedelta(days=horizon)
        fix = (
            f"choose a calibration end on or before {latest} or a shorter --horizon"
            if latest >= first_day
            else f"the data ({first_day} to {last_day}) is too short for it: use a shorter "
            "--horizon"
        )
        raise UserError(
            f"--calibration-end {end} leaves {(last_day - end).days} day(s) of purchases in "
            f"{source} after it, and the backtest compares the next --horizon {horizon} days: "
            f"{fix}."
        )
    calibration = days[days["day"] <= pd.Timestamp(end)]
    # Personas as a run as of the day after the calibration end would give them (midnight
    # of the calendar: the session reads as-of dates in its time zone).
    as_of = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    run = fit_segments(
        session.rfm(as_of),
        settings.model_copy(update={"as_of": as_of}),
        source,
        timer,
        every_k=False,
    )
    with timer.stage("clv") as notes:
        summary = summary_from_days(calibration, end)
        table, bg, gg = _predict(summary, horizon, discount_rate)
        table = table.merge(run.customers[["customer_id", "persona"]], on="customer_id", how="left")
        first = ["customer_id", "persona"]
        table = table[[*first, *[c for c in table.columns if c not in first]]]
        per = _per_persona(table, list(dict.fromkeys(run.segments["persona"])))
        notes.append(
            f"BG/NBD r={bg.r:.4g} alpha={bg.alpha:.4g} a={bg.a:.3g} b={bg.b:.3g}; "
            f"Gamma-Gamma p={gg.p:.4g} q={gg.q:.4g} v={gg.v:.4g}; {len(table):,} customers, "
            f"expected revenue {table['expected_revenue'].sum():,.2f} in {horizon} days"
        )
    warnings = [*bg.warnings, *gg.warnings]
    backtest = None
    if calibration_end is not None:
        backtest, actual = _backtest(days, summary, table, end, horizon)
        table["actual_purchases"] = actual["purchases"].to_numpy(dtype=np.float64)
        table["actual_revenue"] = actual["revenue"].to_numpy(dtype=np.float64)
        warnings += _backtest_warnings(backtest)
    for warning in warnings:
        logger.warning("warning  %s", warning)
    params = {
        "calibration_end": end.isoformat(),
        "horizon_days": horizon,
        "discount_rate": discount_rate,
        "summary": "purchase days; frequency = repeat days, recency and T in days",
        "bg_nbd": bg.as_dict(),
        "gamma_gamma": gg.as_dict(),
        "warnings": warnings,
    }
    audiences = run.customers.merge(
        table[["customer_id", "expected_revenue", "p_alive"]], on="customer_id", how="left"
    )
    return ClvResult(table, per, params, backtest, audiences)


def _predict(summary: pd.DataFrame, horizon: int, discount_rate: float) -> tuple[Any, Any, Any]:
    """Fit both models on the calibration summary; return the per-customer predictions."""
    from custseg.clv import fit_bg_nbd, fit_gamma_gamma

    bg = fit_bg_nbd(summary)
    gg = fit_gamma_gamma(summary)
    x = summary["frequency"].to_numpy()
    t_x = summary["recency"].to_numpy()
    big_t = summary["T"].to_numpy()
    purchases = bg.expected_purchases(float(horizon), x, t_x, big_t)
    spend = gg.expected_spend(x, summary["monetary"].to_numpy())
    revenue = purchases * spend
    table = pd.DataFrame(
        {
            "customer_id": summary.index.astype(str),
            "frequency": x,
            "recency": t_x,
            "T": big_t,
            "p_alive": bg.p_alive(x, t_x, big_t),
            "expected_purchases": purchases,
            "expected_avg_spend": spend,
            "expected_revenue": revenue,
            "clv": revenue / (1 + discount_rate) ** (horizon / 365),
        }
    )
    return table, bg, gg


def _per_persona(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Sum the predictions per persona (clv_personas.csv), personas in the run's order."""
    per = (
        table.groupby("persona", sort=False)
        .agg(
            customers=("customer_id", "size"),
            expected_revenue=("expected_revenue", "sum"),
            p_alive_mean=("p_alive", "mean"),
            clv=("clv", "sum"),
        )
        .reindex(order)
        .reset_index()
    )
    per["share"] = per["expected_revenue"] / per["expected_revenue"].sum()
    out: pd.DataFrame = per
    return out


def _backtest(
    days: pd.DataFrame, summary: pd.DataFrame, table: pd.DataFrame, end: dt.date, horizon: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare the predictions for the days after ``end`` with what happened, beside baselines.

    Returns
    -------
    tuple of pandas.DataFrame
        backtest.csv, and each customer's actual purchases and revenue in the window.
    """
    from custseg.clv import backtest_metrics

    stamp = pd.Timestamp(end)
    window = days[(days["day"] > stamp) & (days["day"] <= stamp + pd.Timedelta(days=horizon))]
    actual = (
        window.groupby("customer_id")
        .agg(purchases=("day", "size"), revenue=("spend", "sum"))
        .reindex(summary.index, fill_value=0)
    )
    got_n = actual["purchases"].to_numpy(dtype=np.float64)
    got_rev = actual["revenue"].to_numpy(dtype=np.float64)
    x, big_t = summary["frequency"].to_numpy(), summary["T"].to_numpy()
    purchases = table["expected_purchases"].to_numpy()
    revenue = table["expected_revenue"].to_numpy()
    rate = np.where(big_t > 0, x / np.where(big_t > 0, big_t, 1), 0.0) * horizon
    calibration = days[days["day"] <= stamp]
    cal_rev = calibration.groupby("customer_id")["spend"].sum().reindex(summary.index).to_numpy()
    avg_day = cal_rev / (x + 1)
    rows = [
        {
            "method": "bg_nbd_gamma_gamma",
            **backtest_metrics(purchases, got_n, revenue, got_rev, revenue),
        },
        {
            "method": "baseline_rate",
            **backtest_metrics(rate, got_n, rate * avg_day, got_rev, rate * avg_day),
        },
        {
            "method": "baseline_calibration_revenue",
            **backtest_metrics(rate, got_n, rate * avg_day, got_rev, cal_rev),
        },
    ]
    backtest = pd.DataFrame(rows)
    # The revenue ranking baseline predicts no counts: only its capture is its own.
    for col in backtest.columns:
        if col not in ("method", "top_decile_capture"):
            backtest.loc[2, col] = np.nan
    return backtest, actual


def _backtest_warnings(backtest: pd.DataFrame) -> list[str]:
    """Say when the model loses to the naive baseline, or misses the window's revenue."""
    warnings = []
    model_mae = float(backtest.loc[0, "purchases_mae"])  # type: ignore[arg-type]
    base_mae = float(backtest.loc[1, "purchases_mae"])  # type: ignore[arg-type]
    if model_mae >= base_mae:
        warnings.append(
            f"The model does not beat the naive rate baseline on purchases MAE "
            f"({model_mae:.3f} against {base_mae:.3f}); trust its rankings more than "
            "its counts."
        )
    agg_rev = float(backtest.loc[0, "revenue_aggregate_error_pct"])  # type: ignore[arg-type]
    if np.isnan(agg_rev):
        warnings.append(
            "Nobody bought in the backtest window: the correlation and the aggregate errors "
            "are undefined (blank in backtest.csv)."
        )
    elif abs(agg_rev) > 20:
        warnings.append(
            f"Revenue in the holdout window is {'under' if agg_rev < 0 else 'over'}-predicted "
            f"by {abs(agg_rev):.0f}% (seasonality or a trend the model does not know)."
        )
    return warnings


def write_clv(result: ClvResult, out_dir: Path) -> list[Path]:
    """Write clv.csv, clv_personas.csv, clv_params.json, backtest.csv (if any) and clv.html."""
    from custseg.reporting import clv_page

    with staged_folder(out_dir, "--out") as stage:
        write_csv(result.customers, stage / "clv.csv")
        write_csv(result.personas, stage / "clv_personas.csv")
        write_json(result.params, stage / "clv_params.json")
        if result.backtest is not None:
            write_csv(result.backtest, stage / "backtest.csv", safe=False)
        (stage / "clv.html").write_text(clv_page(result), encoding="utf-8")
        write_json(result.log, stage / "run_log.json")
        if not result.audiences.empty:
            write_audiences(result.audiences, stage / "audiences")
    return [out_dir / n for n in CLV_FILES if (out_dir / n).exists()]
