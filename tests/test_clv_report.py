"""clv.html and its parameter table."""

from __future__ import annotations

import math

from custseg.clv_report import parameter_table


def test_parameter_table_has_a_row_per_model_and_parameter() -> None:
    params = {
        "model": "bg_nbd",
        "models": {
            "bg_nbd": {"model": "bg_nbd", "r": 0.7, "a": 1e-6, "std_errors": {"r": 0.02, "a": None},
                       "log_likelihood": -10.0, "customers": 5},
        },
        "bg_nbd": {"model": "bg_nbd", "r": 0.7, "a": 1e-6, "std_errors": {"r": 0.02, "a": None},
                   "log_likelihood": -9.0, "customers": 6},
        "gamma_gamma": {"p": 2.0, "std_errors": {"p": 0.5}, "log_likelihood": -3.0, "customers": 2},
    }  # fmt: skip
    # The page's Parameters: the fits the predictions come from (not the backtest's fit
    # of the same name, which a trial found listed there instead).
    table = parameter_table(params)
    assert table[["model", "parameter"]].values.tolist() == [
        ["bg_nbd", "r"], ["bg_nbd", "a"], ["gamma_gamma", "p"]
    ]  # fmt: skip
    assert table["log_likelihood"].tolist() == [-9.0, -9.0, -3.0]
    assert table["customers"].tolist() == [6, 6, 2]
    assert table["std_error"].iloc[0] == 0.02 and math.isnan(table["std_error"].iloc[1])
    # The candidates as the backtest fitted them.
    candidates = parameter_table(params, backtest=True)
    assert candidates[["model", "parameter", "log_likelihood", "customers"]].values.tolist() == [
        ["bg_nbd", "r", -10.0, 5], ["bg_nbd", "a", -10.0, 5]
    ]  # fmt: skip
