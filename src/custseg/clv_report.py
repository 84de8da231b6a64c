"""clv.html: the chosen model and why, value by persona, parameters and their errors.

The evaluation a reader can check is there too: charts, and the same numbers as tables.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from custseg.clv_charts import (
    clv_persona_chart,
    deciles_chart,
    frequency_chart,
    predicted_actual_chart,
    tracking_chart,
)
from custseg.reporting import figure_html, html_page, table_html

__all__ = ["clv_page", "parameter_table"]


def parameter_table(params: dict[str, Any], *, backtest: bool = False) -> pd.DataFrame:
    """Return one row per model and parameter: estimate, standard error, log-likelihood.

    Parameters
    ----------
    params : dict
        clv_params.json.
    backtest : bool
        False: the fits the predictions come from (the chosen count model refitted on every
        purchase day, and Gamma-Gamma). True: every candidate count model as fitted up to
        the backtest's split (``params["models"]``), which the choice compared.

    Returns
    -------
    pandas.DataFrame
        model, parameter, estimate, std_error (NaN where undefined: a parameter at a bound,
        with the reason in the warnings), log_likelihood, customers.
    """
    if backtest:
        fits = dict(params.get("models") or {})
    else:
        fits = {params["model"]: params[params["model"]], "gamma_gamma": params["gamma_gamma"]}
    rows = []
    for name, fit in fits.items():
        errors = fit.get("std_errors", {})
        for key, value in fit.items():
            if key in errors:
                se = errors[key]
                rows.append(
                    {
                        "model": name,
                        "parameter": key,
                        "estimate": value,
                        "std_error": se if se is not None else float("nan"),
                        "log_likelihood": fit["log_likelihood"],
                        "customers": fit["customers"],
                    }
                )
    out: pd.DataFrame = pd.DataFrame(rows)
    return out


def _evaluation_html(result: Any) -> str:
    params = result.params
    choice = params["choice"]
    evaluation = result.evaluation
    if not evaluation:
        return ""
    frequency = evaluation["clv_eval_frequency.csv"]
    tracking = evaluation["clv_eval_tracking.csv"]
    deciles = evaluation["clv_eval_deciles.csv"]
    split = (
        "an automatic split (the last 25% of the data's time span held out)"
        if choice["automatic"]
        else "the given --calibration-end"
    )
    cut = html.escape(choice["calibration_end"])
    return (
        "<section><h2>How the models did on held-out purchases</h2>"
        f"<p>Every model was fitted on the purchase days up to {cut} "
        f"({split}) and predicted the next {choice['window_days']} days. "
        f"{html.escape(choice['reason'])} Rule: {html.escape(choice['rule'])}.</p>"
        + table_html(result.backtest)
        + _candidates_html(params, cut)
        + "<h3>By calibration frequency</h3>"
        + figure_html(frequency_chart(frequency), "clv_frequency")
        + table_html(frequency)
        + "<h3>Week by week</h3>"
        + figure_html(tracking_chart(tracking), "clv_tracking")
        + "<h3>Deciles of predicted value</h3>"
        + "<p>The Gini coefficient of the ranking is normalised: 1 = customers ranked in the "
        "order of what they then spent, 0 = no better than random"
        + (f"; here {float(deciles['gini'].iloc[0]):.3f}" if len(deciles) else "")
        + ".</p>"
        + figure_html(deciles_chart(deciles), "clv_deciles")
        # One Gini for the whole ranking: said above, not repeated on every decile's row.
        + table_html(deciles.drop(columns="gini", errors="ignore"))
        + "</section>"
    )


def _candidates_html(params: dict[str, Any], cut: str) -> str:
    """Show the candidate count models' parameters as fitted up to the split, with warnings."""
    table = parameter_table(params, backtest=True)
    if table.empty:
        return ""
    warnings = [w for fit in params["models"].values() for w in fit.get("warnings", [])]
    return (
        f"<h3>The candidates' parameters, fitted up to {cut}</h3>"
        "<p>What the choice compared; the predictions come from the chosen model refitted "
        "on every purchase day (Parameters, above). Blank standard errors are undefined:</p>"
        + "".join(f"<p class='reason'>{html.escape(w)}</p>" for w in warnings)
        + table_html(table)
    )


def clv_page(result: Any) -> str:
    """Render clv.html from a :class:`custseg.commands.clv.ClvResult`."""
    params = result.params
    horizon = int(params["horizon_days"])
    model = params[params["model"]]
    alive = bool(params["p_alive_informative"])
    body = (
        "<section><h2>Expected value by persona</h2>"
        f"<p>{html.escape(_model_label(params['model']))} (purchases) and Gamma-Gamma (spend) "
        "fitted by maximum likelihood on purchase days up to "
        f"{html.escape(params['calibration_end'])}; predictions for the next {horizon} days; "
        f"clv discounts them at {params['discount_rate']:.0%} a year. Intervals in clv.csv "
        f"are {html.escape(params['intervals'])}: how sure the model is of a customer's "
        "average, not what one customer will do.</p>"
        + "".join(f"<p class='reason'>{html.escape(w)}</p>" for w in params["warnings"])
        + figure_html(clv_persona_chart(result.personas, horizon, alive=alive), "clv_personas")
        + table_html(
            result.personas
            if alive
            else result.personas.drop(
                columns=["p_alive_mean", "churn_probability_mean"], errors="ignore"
            )
        )
        + "<h3>Parameters</h3><p>The fits the predictions come from. Standard errors "
        "from the observed information matrix; blank where undefined (see the warnings). "
        "Time unit: days.</p>"
        + table_html(parameter_table(params))
        + f"<p>Chosen model log-likelihood {model['log_likelihood']:,.2f} on "
        f"{model['customers']:,} customers.</p></section>"
    )
    body += _evaluation_html(result)
    if "actual_purchases" in result.customers:
        body += (
            "<section><h2>Each customer</h2>"
            + figure_html(predicted_actual_chart(result.customers), "clv_backtest")
            + "</section>"
        )
    return html_page("custseg: customer lifetime value", "Customer lifetime value", "", body)


def _model_label(name: str) -> str:
    from custseg.clv_choice import MODELS

    return MODELS[name].LABEL if name in MODELS else name
