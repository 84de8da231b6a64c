"""``custseg clv``: each customer's purchases and spend to come, from the backtest's winner.

The purchase days, and the RFM as of the calibration end (for the personas), come from one
session: one scan of the input.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg import worker
from custseg.commands.common import churn_filter_warning, write_audiences
from custseg.commands.score import check_collectable
from custseg.config import Settings
from custseg.errors import UserError
from custseg.io.writers import staged_folder, write_csv, write_json
from custseg.lazy import FITTING, REPORT, background, preload
from custseg.progress import ProgressFactory, StageTimer, logger
from custseg.results import RunLog
from custseg.segmentation import fit_segments
from custseg.session import Session

__all__ = ["CLV_FILES", "ClvResult", "lifetime_value", "short_calibration", "write_clv"]

CLV_FILES = (
    "clv.csv",
    "clv_personas.csv",
    "clv_params.json",
    "clv_model.json",
    "backtest.csv",
    "clv_eval_frequency.csv",
    "clv_eval_tracking.csv",
    "clv_eval_deciles.csv",
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
        One row per model and baseline (none with a saved model).
    audiences : pandas.DataFrame
        The run's customers (scores, rule segment) with expected_revenue and p_alive.
    log : dict
        run_log.json: timings, engine, passes over the input.
    evaluation : dict
        File name to the evaluation tables of the chosen model (clv_eval_*.csv).
    saved_model : dict
        clv_model.json: the chosen model and Gamma-Gamma, to predict without refitting.
    """

    customers: pd.DataFrame
    personas: pd.DataFrame
    params: dict[str, Any]
    backtest: pd.DataFrame | None
    audiences: pd.DataFrame = field(default_factory=pd.DataFrame)
    log: RunLog = field(default_factory=RunLog)
    evaluation: dict[str, pd.DataFrame] = field(default_factory=dict)
    saved_model: dict[str, Any] = field(default_factory=dict)
    audience_filter: Any = None


def lifetime_value(
    input_path: Path | str,
    settings: Settings,
    *,
    calibration_end: dt.date | None = None,
    horizon: int = 90,
    discount_rate: float = 0.1,
    model_file: Path | None = None,
    draws: int = 200,
    progress: ProgressFactory | None = None,
) -> ClvResult:
    """Fit every purchase model, choose one by its backtest, predict each customer.

    Parameters
    ----------
    input_path : Path
        Order lines (read and cleaned as ``run`` does; a line of amount 0 is a purchase
        without spend).
    settings : Settings
        As for ``run``; personas come from a run as of the calibration end.
    calibration_end : datetime.date, optional
        Fit on purchase days up to and including it, backtest the following ``horizon``
        days, and predict them (clv.csv then has the actual figures too). Default: choose
        the model on an automatic split (the last 25% of the time span held out), refit it
        on all the data and predict the ``horizon`` days after the last purchase day.
    horizon : int
        Days predicted.
    discount_rate : float
        Annual rate: clv = expected revenue / (1 + rate) ** (horizon / 365).
    model_file : Path, optional
        A clv_model.json from an earlier run: predict with its parameters, no fitting and
        no backtest.
    draws : int
        Parameter draws for the 90% intervals.
    progress : ProgressFactory, optional
        Progress bars.

    Returns
    -------
    ClvResult
        The tables and parameters.
    """
    if horizon < 1:
        raise UserError(f"--horizon must be at least 1 day, got {horizon}.")
    saved = read_model_file(model_file) if model_file is not None else None
    timer = StageTimer(progress)
    started = time.time()
    preload("scipy.optimize", "scipy.special", *FITTING, *REPORT)
    with Session(input_path, settings, timer=timer) as session:
        result = _lifetime_value(session, calibration_end, horizon, discount_rate, saved, draws)
        result.log = session.log_record(timer, started)
    return result


def _window(
    days: pd.DataFrame, source: str, calibration_end: dt.date | None, horizon: int
) -> tuple[dt.date, dt.date, dt.date]:
    """Check the calibration end; return the first and last purchase days and the end."""
    last_day = days["day"].max().date()
    first_day = days["day"].min().date()
    end = calibration_end or last_day
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
    return first_day, last_day, end


def short_calibration(
    days: pd.DataFrame, first_day: dt.date, end: dt.date, horizon: int
) -> str | None:
    """Say when the models learn from fewer days of purchases than they predict.

    Purchase rates come from repeat purchases: a few days hold few of them, and the
    customer-base literature calibrates on a period at least as long as the one predicted.
    None when the calibration period is at least ``horizon`` days long.
    """
    span = (end - first_day).days + 1
    if span >= horizon:
        return None
    seen = days.loc[days["day"] <= pd.Timestamp(end), "customer_id"]
    counts = seen.value_counts()
    return (
        f"The models learn from {span:,} day(s) of purchases ({first_day} to {end}) to "
        f"predict {horizon:,}: {int((counts > 1).sum()):,} of {len(counts):,} customers bought "
        "on more than one day in them, so the purchase rates, and every prediction, rest on "
        "little; a calibration period at least as long as the horizon is the usual practice."
    )


def _lifetime_value(
    session: Session,
    calibration_end: dt.date | None,
    horizon: int,
    discount_rate: float,
    saved: dict[str, Any] | None,
    draws: int,
) -> ClvResult:
    from custseg.predictions import alive_informative, customer_predictions

    settings, timer, source = session.settings, session.timer, session.source
    cleaned = session.cleaning()
    check_collectable(session, cleaned.customers, "clv")
    days = session.daily(zero_amount=True)
    first_day, _, end = _window(days, source, calibration_end, horizon)
    short = short_calibration(days, first_day, end, horizon) if saved is None else None
    zero_days = int((days["spend"] == 0).sum())
    # Personas as run gives them: without --calibration-end as of run's as-of date (the
    # option, or the last kept purchase + 1 day), so every command tells the same story;
    # with it, as of the midnight after the calibration end (the session reads as-of dates
    # in its time zone). Customers without spend (zero-amount purchases only) have none.
    as_of = (
        settings.as_of
        if calibration_end is None
        else dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    )
    personas = functools.partial(
        fit_segments,
        session.rfm(as_of),
        settings.model_copy(update={"as_of": as_of}),
        source,
        timer,
        every_k=False,
    )
    # With a fitting worker the personas' k sweep runs there while this process fits the
    # purchase models: a thread here only waits for it. Without one both would hold this
    # process's interpreter lock (and its BLAS settings), so they run one after the other.
    fitted = background(personas) if worker.running() else None
    with timer.stage("models") as notes:
        model, gg, choice, note, summary = fit_models(days, calibration_end, horizon, saved)
        notes.append(note)
    run = fitted() if fitted is not None else personas()
    with timer.stage("clv") as notes:
        table = customer_predictions(
            model, gg, summary, end=end, horizon=horizon, discount_rate=discount_rate, draws=draws
        )
        table = table.merge(run.customers[["customer_id", "persona"]], on="customer_id", how="left")
        table["persona"] = table["persona"].fillna(NO_SPEND)
        first = ["customer_id", "persona"]
        table = table[[*first, *[c for c in table.columns if c not in first]]]
        order = list(dict.fromkeys(run.segments["persona"]))
        per = _per_persona(
            table, order + ([NO_SPEND] if (table["persona"] == NO_SPEND).any() else [])
        )
        informative, alive_note = alive_informative(model, table["p_alive"].to_numpy())
        unspent = int((table["persona"] == NO_SPEND).sum())
        notes.append(
            f"{model.LABEL} {_params_text(model)}; Gamma-Gamma {_params_text(gg)}; "
            f"{len(table):,} customers"
            + (
                f" ({unspent:,} of them with zero-amount purchases only, in no RFM segment: "
                f"persona {NO_SPEND!r})"
                if unspent
                else ""
            )
            + f", expected revenue {table['expected_revenue'].sum():,.2f} in {horizon} days"
        )
    warnings = [*([short] if short else []), *model.warnings, *gg.warnings]
    if gg.left_out:
        warnings.append(
            f"Gamma-Gamma left out {gg.left_out:,} customers without a repeat purchase with "
            "spend (it needs positive spend); they get the population's mean spend."
        )
    if not informative:
        warnings.append(alive_note)
    elif once := _one_time_alive(model.NAME, table, backtest=saved is None):
        warnings.append(once)
    if churn_filter := churn_filter_warning(
        settings.predictions, informative, table["churn_probability"]
    ):
        warnings.append(churn_filter)
    evaluation: dict[str, pd.DataFrame] = {}
    backtest = None
    if choice is not None:
        backtest = choice.backtest
        evaluation = _evaluation(days, choice)
        if calibration_end is not None:
            table["actual_purchases"] = choice.actual["purchases"].to_numpy(dtype=np.float64)
            table["actual_revenue"] = choice.actual["revenue"].to_numpy(dtype=np.float64)
        warnings += _backtest_warnings(backtest, choice.chosen)
    for warning in warnings:
        logger.warning("warning  %s", warning)
    params = {
        "calibration_end": end.isoformat(),
        "horizon_days": horizon,
        "discount_rate": discount_rate,
        "summary": "purchase days; frequency = repeat days, recency and T in days",
        "zero_amount_purchase_days": zero_days,
        "model": model.NAME,
        "choice": _choice_record(choice, saved),
        "models": {n: m.as_dict() for n, m in (choice.models if choice else {}).items()},
        model.NAME: model.as_dict(),
        "gamma_gamma": gg.as_dict(),
        "p_alive_informative": informative,
        "p_alive_note": alive_note,
        "intervals": f"90% intervals of the expectation from {draws} parameter draws",
        "warnings": warnings,
    }
    if zero_days:
        logger.info(
            "zero     %s purchase day(s) of zero-amount lines only: counted as purchases, "
            "not as spend",
            f"{zero_days:,}",
        )
    audiences = run.customers.merge(
        table[["customer_id", "expected_revenue", "p_alive", "value_tier", "churn_probability"]],
        on="customer_id",
        how="left",
    )
    saved_model = {
        "format": 1,
        "model": model.NAME,
        "fitted_to": end.isoformat(),
        "time_unit": "days",
        model.NAME: model.as_dict(),
        "gamma_gamma": gg.as_dict(),
    }
    return ClvResult(table, per, params, backtest, audiences, evaluation=evaluation,
                     saved_model=saved_model, audience_filter=settings.predictions)  # fmt: skip


NO_SPEND = "No spend"


def fit_models(
    days: pd.DataFrame,
    calibration_end: dt.date | None,
    horizon: int,
    saved: dict[str, Any] | None = None,
) -> tuple[Any, Any, Any, str, pd.DataFrame]:
    """Return the models that predict, the backtest choice, a note and the summary predicted.

    With a saved model: its parameters, no choice. With ``calibration_end``: every model
    fitted up to it and backtested on the next ``horizon`` days; the winner predicts. Without:
    the choice is made on the automatic split and the winner refitted on all the days. The
    summary is that of the days up to ``calibration_end`` (default: the last purchase day),
    the one the fit used where there is one.
    """
    from custseg.clv import fit_gamma_gamma, summary_from_days
    from custseg.clv_choice import MODELS, choose_model

    first_day, last_day = days["day"].min().date(), days["day"].max().date()
    if saved is not None:
        end = calibration_end or last_day
        model = saved["model"]
        return (
            model,
            saved["gamma_gamma"],
            None,
            f"{model.LABEL} and Gamma-Gamma read from {saved['path']}",
            summary_from_days(days[days["day"] <= pd.Timestamp(end)], end),
        )
    automatic = calibration_end is None
    cut = calibration_end if calibration_end is not None else _auto_cut(first_day, last_day)
    _need_repeats(days, first_day, cut, automatic)
    window = horizon if not automatic else (last_day - cut).days
    choice = choose_model(days, cut, window, automatic=automatic)
    if not automatic:
        model = choice.models[choice.chosen]
        return model, choice.gg, choice, choice.reason, choice.summary
    everything = summary_from_days(days, last_day)  # the winner, refitted on all the days
    model = MODELS[choice.chosen].fit(everything)
    return model, fit_gamma_gamma(everything), choice, choice.reason, everything


def predict_for_run(
    days: pd.DataFrame, horizon: int, discount_rate: float, draws: int
) -> tuple[pd.DataFrame, str, bool, list[str]]:
    """Return ``run --with-clv``'s predictions, a sentence, P(alive)'s use, and warnings.

    The warnings are those ``custseg clv`` gives about the data (a span shorter than the
    horizon, BG/NBD keeping one-time buyers alive). The model is chosen as ``custseg clv``
    without --calibration-end chooses it, on the same purchase days (zero-amount lines
    included, without spend).
    """
    from custseg.predictions import alive_informative, customer_predictions

    model, gg, _, reason, summary = fit_models(days, None, horizon)
    end = days["day"].max().date()
    table = customer_predictions(
        model, gg, summary, end=end, horizon=horizon, discount_rate=discount_rate, draws=draws
    )
    informative, note = alive_informative(model, table["p_alive"].to_numpy())
    sentence = f"{reason} Predictions for the {horizon} days after {end}."
    if not informative:
        sentence += " " + note
    warnings = [short_calibration(days, days["day"].min().date(), end, horizon)]
    if informative:
        warnings.append(_one_time_alive(model.NAME, table, backtest=False))  # none written
    return table, sentence, informative, [w for w in warnings if w]


def _one_time_alive(model: str, table: pd.DataFrame, *, backtest: bool = True) -> str | None:
    """Say that BG/NBD keeps every customer without a repeat purchase alive.

    In BG/NBD a customer can drop out only right after a repeat purchase, so one who bought
    once has P(alive) = 1 however long ago: a churn probability of 0 that says nothing of
    their behaviour (on CDNOW, About To Sleep came out at 3%, Loyal at 48%).
    """
    once = table["frequency"] == 0
    if model != "bg_nbd" or not once.any():
        return None
    return (
        f"BG/NBD gives the {int(once.sum()):,} customers without a repeat purchase "
        f"({once.mean():.0%}) P(alive) = 1 however long ago they bought (it lets customers drop "
        "out only after a repeat purchase): their churn probability is 0 by the model's "
        "assumption, not their behaviour; the modified BG/NBD does not assume it"
        + (" (backtest.csv compares the two)." if backtest else ".")
    )


def _need_repeats(days: pd.DataFrame, first_day: dt.date, cut: dt.date, automatic: bool) -> None:
    """Refuse a calibration period in which no customer bought again with spend.

    The purchase models learn rates from repeat purchase days, and Gamma-Gamma the spend
    from paid ones: without any, every model sits at the edge of its search and the spend
    has no finite mean (blank lifetime values, as --calibration-end on the data's first day
    gave).
    """
    from custseg.clv import summary_from_days

    # A paid day after the first purchase day (paid or not), as Gamma-Gamma counts them.
    if summary_from_days(days[days["day"] <= pd.Timestamp(cut)], cut)["paid_repeats"].gt(0).any():
        return
    where = (
        f"in the first 75% of the purchase days ({first_day} to {cut}), where the model is "
        "chosen; lifetime value needs repeat purchases: give more data"
        if automatic
        else f"between the first purchase day, {first_day}, and --calibration-end {cut}; the "
        "models learn purchase rates and spend from repeat purchases: choose a later "
        "calibration end"
    )
    raise UserError(f"clv: no customer bought again with spend {where}.")


def _auto_cut(first_day: dt.date, last_day: dt.date) -> dt.date:
    """Return the automatic calibration end: the last 25% of the time span is held out."""
    span = (last_day - first_day).days
    if span < 8:
        raise UserError(
            f"The purchase days run from {first_day} to {last_day}: too short to hold out a "
            "quarter of them to choose a model; give --calibration-end or more data."
        )
    return first_day + dt.timedelta(days=round(0.75 * span))


def _params_text(model: Any) -> str:
    return " ".join(f"{n}={getattr(model, n):.4g}" for n in model.PARAMS)


def _choice_record(choice: Any, saved: dict[str, Any] | None) -> dict[str, Any]:
    from custseg.clv_choice import RULE

    if choice is None:
        return {"rule": "read from a saved model", "file": str(saved["path"]) if saved else ""}
    return {
        "rule": RULE,
        "chosen": choice.chosen,
        "reason": choice.reason,
        "calibration_end": choice.cut.isoformat(),
        "window_days": choice.window_days,
        "automatic": choice.automatic,
        "split": "the last 25% of the data's time span"
        if choice.automatic
        else "--calibration-end",
    }


def _evaluation(days: pd.DataFrame, choice: Any) -> dict[str, pd.DataFrame]:
    """Return the chosen model's evaluation tables on its backtest window (clv_eval_*.csv)."""
    from custseg.clv_eval import by_frequency, deciles, gini, tracking

    model = choice.models[choice.chosen]
    predicted = choice.predicted[choice.chosen]
    summary = choice.summary
    spend = choice.gg.expected_spend(
        summary["paid_repeats"].to_numpy(dtype=np.float64),
        summary["monetary"].to_numpy(dtype=np.float64),
    )
    actual_n = choice.actual["purchases"].to_numpy(dtype=np.float64)
    actual_rev = choice.actual["revenue"].to_numpy(dtype=np.float64)
    value = predicted * spend
    table = deciles(value, actual_rev)
    table["gini"] = gini(value, actual_rev)
    stop = choice.cut + dt.timedelta(days=choice.window_days)
    return {
        "clv_eval_frequency.csv": by_frequency(
            summary["frequency"].to_numpy(), predicted, actual_n
        ),
        "clv_eval_tracking.csv": tracking(days, model, choice.cut, stop),
        "clv_eval_deciles.csv": table,
    }


def read_model_file(path: Path) -> dict[str, Any]:
    """Read a clv_model.json: the chosen purchase model and Gamma-Gamma, or one sentence."""
    import json

    from custseg.clv import GammaGamma
    from custseg.clv_choice import MODELS
    from custseg.commands.score import read_limited

    try:
        data = json.loads(read_limited(path, f"--model {path}").decode("utf-8"))
        name = data["model"]
        model = MODELS[name].from_dict(data[name])
        gg = GammaGamma.from_dict(data["gamma_gamma"])
    except FileNotFoundError as exc:
        raise UserError(f"--model {path}: no such file.") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"--model {path} is not a clv_model.json written by custseg clv ({exc!r})."
        ) from exc
    return {"model": model, "gamma_gamma": gg, "path": str(path)}


def _per_persona(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Sum the predictions per persona (clv_personas.csv), personas in the run's order."""
    per = (
        table.groupby("persona", sort=False)
        .agg(
            customers=("customer_id", "size"),
            expected_revenue=("expected_revenue", "sum"),
            p_alive_mean=("p_alive", "mean"),
            churn_probability_mean=("churn_probability", "mean"),
            p_purchase_30d=("p_purchase_30d", "mean"),
            p_purchase_90d=("p_purchase_90d", "mean"),
            expected_spend_per_purchase=("expected_spend_per_purchase", "mean"),
            clv=("clv", "sum"),
        )
        .reindex(order)
        .reset_index()
    )
    per["share"] = per["expected_revenue"] / per["expected_revenue"].sum()
    out: pd.DataFrame = per
    return out


def _backtest_warnings(backtest: pd.DataFrame, chosen: str) -> list[str]:
    """Say when the chosen model misses the window's revenue, or nobody bought.

    Also when it beats the naive rate baseline only on the choice's measure (the RMSE of
    purchases) and loses to it on both mean absolute errors: its edge is then in the
    heaviest buyers, and a reader of "the winner" should know.
    """
    warnings = []
    rows = backtest.set_index("method")
    agg_rev = float(rows.loc[chosen, "revenue_aggregate_error_pct"])
    if "baseline_rate" in rows.index:
        mine, base = rows.loc[chosen], rows.loc["baseline_rate"]
        if (
            mine["purchases_rmse"] < base["purchases_rmse"]
            and mine["purchases_mae"] > base["purchases_mae"]
            and mine["revenue_mae"] > base["revenue_mae"]
        ):
            warnings.append(
                f"{chosen} beats the naive rate baseline on the RMSE of purchases, the "
                f"choice's measure ({mine['purchases_rmse']:.3f} against "
                f"{base['purchases_rmse']:.3f}), but not on their mean absolute error "
                f"({mine['purchases_mae']:.3f} against {base['purchases_mae']:.3f}) nor on "
                f"revenue's ({mine['revenue_mae']:,.2f} against {base['revenue_mae']:,.2f}): "
                "it predicts the heaviest buyers better, a typical customer no better "
                "(backtest.csv)."
            )
    if np.isnan(float(rows.loc[chosen, "purchases_aggregate_error_pct"])):
        warnings.append(
            "Nobody bought in the backtest window: the correlation and the aggregate errors "
            "are undefined (blank in backtest.csv)."
        )
    elif np.isnan(float(rows.loc[chosen].get("revenue_mae", np.nan))):
        warnings.append(
            f"{chosen}'s predicted revenue for the backtest window is not finite (Gamma-Gamma's "
            "mean spend is undefined there): the revenue errors are blank in backtest.csv."
        )
    elif np.isnan(agg_rev):
        warnings.append(
            "The backtest window's revenue is 0 (its purchases were of zero-amount lines "
            "only): the aggregate revenue error is undefined (blank in backtest.csv)."
        )
    elif abs(agg_rev) > 20:
        warnings.append(
            f"Revenue in the holdout window is {'under' if agg_rev < 0 else 'over'}-predicted "
            f"by {abs(agg_rev):.0f}% (seasonality or a trend the model does not know)."
        )
    return warnings


def write_clv(result: ClvResult, out_dir: Path) -> list[Path]:
    """Write clv.csv, clv_personas.csv, clv_params.json, backtest.csv (if any) and clv.html."""
    from custseg.clv_report import clv_page

    with staged_folder(out_dir, "--out") as stage:
        write_csv(result.customers, stage / "clv.csv")
        write_csv(result.personas, stage / "clv_personas.csv")
        write_json(result.params, stage / "clv_params.json")
        write_json(result.saved_model, stage / "clv_model.json")
        if result.backtest is not None:
            write_csv(result.backtest, stage / "backtest.csv", safe=False)
        for name, frame in result.evaluation.items():
            write_csv(frame, stage / name, safe=False)
        (stage / "clv.html").write_text(clv_page(result), encoding="utf-8")
        write_json(result.log, stage / "run_log.json")
        if not result.audiences.empty:
            write_audiences(result.audiences, stage / "audiences", result.audience_filter)
    return [out_dir / n for n in CLV_FILES if (out_dir / n).exists()]
