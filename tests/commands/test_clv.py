"""custseg clv end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def test_clv_command(synthetic: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    out = tmp_path / "clv"
    result = CliRunner().invoke(
        app, ["clv", str(synthetic), "--calibration-end", "2011-09-09", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} - {".custseg-outputs.json"} == {
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
    }
    assert json.loads((out / "run_log.json").read_text())["input_scans"] == 1
    params = json.loads((out / "clv_params.json").read_text())
    assert params["horizon_days"] == 90 and params["calibration_end"] == "2011-09-09"
    # The horizon follows the calibration end, not today: the summary says which days.
    assert "Lifetime value by persona, the 90 days after 2011-09-09" in result.stdout
    table = pd.read_csv(out / "clv.csv")
    personas = pd.read_csv(out / "clv_personas.csv")
    assert personas["customers"].sum() == len(table)
    assert personas["expected_revenue"].sum() == pytest.approx(table["expected_revenue"].sum())
    assert list(pd.read_csv(out / "backtest.csv")["method"]) == [
        "bg_nbd",
        "mbg_nbd",
        "pareto_nbd",
        "baseline_rate",
        "baseline_calibration_revenue",
    ]
    assert "chosen: " in result.output  # the reason, in words
    bad = CliRunner().invoke(
        app, ["clv", str(synthetic), "--calibration-end", "1999-01-01", "--out", str(out)]
    )
    assert bad.exit_code == 2 and "is outside the purchase days" in bad.output
    # The backtest compares whole --horizon windows: a window the data does not cover is
    # refused with the latest calibration end that works.
    short = CliRunner().invoke(
        app, ["clv", str(synthetic), "--calibration-end", "2011-12-01", "--out", str(out)]
    )
    assert short.exit_code == 2
    assert "--calibration-end 2011-12-01 leaves 8 day(s) of purchases" in short.output
    assert "choose a calibration end on or before 2011-09-10 or a shorter --horizon" in short.output


def test_a_saved_model_predicts_a_file_without_refitting(synthetic: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    first, again = tmp_path / "first", tmp_path / "again"
    result = CliRunner().invoke(app, ["clv", str(synthetic), "--out", str(first)])
    assert result.exit_code == 0, result.output
    params = json.loads((first / "clv_params.json").read_text())
    assert "Lifetime value by persona, next 90 days" in result.stdout
    # Without --calibration-end the model is chosen on the last 25% of the time span.
    assert params["choice"]["automatic"] and params["choice"]["window_days"] > 0
    saved = json.loads((first / "clv_model.json").read_text())
    assert saved["model"] == params["model"] and saved["fitted_to"] == params["calibration_end"]
    result = CliRunner().invoke(
        app, ["clv", str(synthetic), "--model", str(first / "clv_model.json"), "--out", str(again)]
    )
    assert result.exit_code == 0, result.output
    assert "read from" in result.output and not (again / "backtest.csv").exists()
    pd.testing.assert_frame_equal(pd.read_csv(first / "clv.csv"), pd.read_csv(again / "clv.csv"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "nope"}')
    result = CliRunner().invoke(
        app, ["clv", str(synthetic), "--model", str(bad), "--out", str(again)]
    )
    assert (
        result.exit_code == 2 and "is not a clv_model.json written by custseg clv" in result.output
    )


@pytest.mark.realdata
def test_the_published_cdnow_estimates_from_the_command(cdnow: Path, tmp_path: Path) -> None:
    # All 2,357 customers, the 8 whose only purchase was $0 included (purchases without
    # spend); Gamma-Gamma on the 946 with repeat purchases. Time in days: alpha and beta are
    # the published weekly values x 7.
    from typer.testing import CliRunner

    from custseg.cli import app

    out = tmp_path / "cdnow"
    args = ["clv", str(cdnow), "--customer-col", "customer", "--date-col", "date",
            "--amount-col", "amount", "--calibration-end", "1997-09-30", "--horizon", "273",
            "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    params = json.loads((out / "clv_params.json").read_text())
    assert params["zero_amount_purchase_days"] == 8
    published = {
        "bg_nbd": {"r": 0.2426, "alpha": 4.4136 * 7, "a": 0.7929, "b": 2.4259},
        "pareto_nbd": {"r": 0.553, "alpha": 10.578 * 7, "s": 0.606, "beta": 11.669 * 7},
    }
    for name, values in published.items():
        fit = params["models"][name]
        assert fit["customers"] == 2357
        for key, value in values.items():
            assert fit[key] == pytest.approx(value, rel=0.005), (name, key)
    gg = params["gamma_gamma"]
    assert gg["customers"] == 946
    for key, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert gg[key] == pytest.approx(value, rel=0.005), key
    assert gg["log_likelihood"] == pytest.approx(-4055.92, abs=0.01)
    table = pd.read_csv(out / "clv.csv")
    assert len(table) == 2357 and table["historic_spend"].sum() == pytest.approx(
        pd.read_csv(cdnow).query("date <= '1997-09-30'")["amount"].sum()
    )


def test_a_customer_with_zero_amount_purchases_only_is_said(
    synthetic: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    lines = pd.read_parquet(synthetic)
    free = lines.iloc[[0, 1]].copy()
    free["CustomerID"] = 99999
    free["UnitPrice"] = 0.0
    free["InvoiceNo"] = ["F1", "F2"]
    path = tmp_path / "orders.parquet"
    pd.concat([lines, free]).to_parquet(path)
    out = tmp_path / "clv"
    result = CliRunner().invoke(app, ["clv", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "clv.csv")
    # One customer more than the RFM table: the one whose purchases were all free.
    said = " ".join(result.stderr.split())
    rfm = int(said.split("rfm ")[1].split(" customers")[0].replace(",", ""))
    assert len(table) == rfm + 1
    assert table.loc[table["customer_id"] == 99999, "persona"].tolist() == ["No spend"]
    assert (
        f"{len(table):,} customers (1 of them with zero-amount purchases only, in no RFM "
        "segment: persona 'No spend'), expected revenue" in said
    )


def test_a_winner_on_rmse_alone_is_said() -> None:
    import pandas as pd

    from custseg.commands.clv import _backtest_warnings

    def table(mae: float, revenue_mae: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "method": ["bg_nbd", "baseline_rate"],
                "purchases_rmse": [1.5, 1.6],
                "purchases_mae": [mae, 0.9],
                "revenue_mae": [revenue_mae, 600.0],
                "purchases_aggregate_error_pct": [3.0, 4.0],
                "revenue_aggregate_error_pct": [-5.0, -6.0],
            }
        )

    assert _backtest_warnings(table(0.95, 650.0), "bg_nbd") == [
        "bg_nbd beats the naive rate baseline on the RMSE of purchases, the choice's measure "
        "(1.500 against 1.600), but not on their mean absolute error (0.950 against 0.900) "
        "nor on revenue's (650.00 against 600.00): it predicts the heaviest buyers better, a "
        "typical customer no better (backtest.csv)."
    ]
    # Better on either mean absolute error: nothing to say.
    assert _backtest_warnings(table(0.85, 650.0), "bg_nbd") == []
    assert _backtest_warnings(table(0.95, 550.0), "bg_nbd") == []


def test_a_calibration_shorter_than_the_horizon_is_said() -> None:
    import datetime as dt

    from custseg.commands.clv import short_calibration

    # Customer a buys on two days of the first five, b on one (and again after them), c once.
    days = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "day": pd.to_datetime(
                ["2010-12-01", "2010-12-04", "2010-12-02", "2010-12-20", "2010-12-05"]
            ),
        }
    )
    first, end = dt.date(2010, 12, 1), dt.date(2010, 12, 5)
    assert short_calibration(days, first, end, 90) == (
        "The models learn from 5 day(s) of purchases (2010-12-01 to 2010-12-05) to predict "
        "90: 1 of 3 customers bought on more than one day in them, so the purchase rates, and "
        "every prediction, rest on little; a calibration period at least as long as the "
        "horizon is the usual practice."
    )
    # Five days for a five-day horizon: long enough.
    assert short_calibration(days, first, end, 5) is None


def test_ashort_calibration_is_warned_in_the_outputs(synthetic: Path, tmp_path: Path) -> None:
    import datetime as dt
    import re

    from typer.testing import CliRunner

    from custseg.cli import app

    out = tmp_path / "clv"
    days = pd.read_parquet(synthetic, columns=["InvoiceDate"])["InvoiceDate"]
    end = (days.min() + pd.Timedelta(days=20)).date()
    args = ["clv", str(synthetic), "--calibration-end", str(end), "--horizon", "30"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    said = json.loads((out / "clv_params.json").read_text())["warnings"][0]
    # The first kept purchase day (the file's first lines are dropped by the rules) to the end.
    found = re.match(r"The models learn from (\d+) day\(s\) of purchases \((\S+) to (\S+)\)", said)
    assert found is not None, said
    start = dt.date.fromisoformat(found[2])
    assert found[3] == str(end) and int(found[1]) == (end - start).days + 1 < 30
    assert days.min().date() <= start <= end
    # --quiet keeps the warnings (and the summary), not the stages' log.
    assert said in result.output and "clean    " not in result.output


def test_a_calibration_without_a_paid_repeat_purchase_is_refused(
    synthetic: Path, tmp_path: Path
) -> None:
    import datetime as dt

    from typer.testing import CliRunner

    from custseg.cli import app
    from custseg.commands.clv import _backtest_warnings, _need_repeats
    from custseg.errors import UserError

    # a buys twice but the second day is free; b once: no paid repeat purchase by the 3rd.
    days = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "day": pd.to_datetime(["2010-12-01", "2010-12-02", "2010-12-02", "2010-12-09"]),
            "spend": [5.0, 0.0, 7.0, 3.0],
        }
    )
    first = dt.date(2010, 12, 1)
    with pytest.raises(UserError) as caught:
        _need_repeats(days, first, dt.date(2010, 12, 3), automatic=False)
    assert str(caught.value) == (
        "clv: no customer bought again with spend between the first purchase day, 2010-12-01, "
        "and --calibration-end 2010-12-03; the models learn purchase rates and spend from "
        "repeat purchases: choose a later calibration end."
    )
    _need_repeats(days, first, dt.date(2010, 12, 9), automatic=False)  # b's second: fine
    # A paid day after a free first one is a paid repeat purchase, as Gamma-Gamma counts it.
    free_first = pd.DataFrame(
        {
            "customer_id": ["c", "c"],
            "day": pd.to_datetime(["2010-12-01", "2010-12-02"]),
            "spend": [0.0, 4.0],
        }
    )
    _need_repeats(free_first, first, dt.date(2010, 12, 3), automatic=False)
    # On a file: one sentence, exit 2, nothing written.
    # The fixture's first kept purchase day is 2010-12-05 (its earlier lines are dropped).
    out = tmp_path / "clv"
    args = ["clv", str(synthetic), "--calibration-end", "2010-12-05", "--horizon", "30"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert (
        "error: clv: no customer bought again with spend between the first purchase day, "
        "2010-12-05, and --calibration-end 2010-12-05;" in said
    )
    assert not out.exists()
    # "Nobody bought" only when nobody did; a revenue that is not finite is said as such.
    backtest = pd.DataFrame(
        {
            "method": ["bg_nbd"],
            "purchases_aggregate_error_pct": [12.0],
            "revenue_mae": [np.nan],
            "revenue_aggregate_error_pct": [np.nan],
        }
    )
    assert _backtest_warnings(backtest, "bg_nbd") == [
        "bg_nbd's predicted revenue for the backtest window is not finite (Gamma-Gamma's mean "
        "spend is undefined there): the revenue errors are blank in backtest.csv."
    ]
    backtest["revenue_mae"] = 3.5  # the predictions are finite; nothing was spent
    assert _backtest_warnings(backtest, "bg_nbd") == [
        "The backtest window's revenue is 0 (its purchases were of zero-amount lines only): "
        "the aggregate revenue error is undefined (blank in backtest.csv)."
    ]
    backtest["purchases_aggregate_error_pct"] = np.nan
    assert _backtest_warnings(backtest, "bg_nbd")[0].startswith("Nobody bought in the backtest")


def test_bg_nbd_keeping_one_time_buyers_alive_is_said() -> None:
    from custseg.commands.clv import _one_time_alive

    table = pd.DataFrame({"frequency": [0.0, 0.0, 3.0, 1.0]})
    assert _one_time_alive("bg_nbd", table) == (
        "BG/NBD gives the 2 customers without a repeat purchase (50%) P(alive) = 1 however "
        "long ago they bought (it lets customers drop out only after a repeat purchase): their "
        "churn probability is 0 by the model's assumption, not their behaviour; the modified "
        "BG/NBD does not assume it (backtest.csv compares the two)."
    )
    # The other models let one-time buyers drop out; nobody bought once: nothing to say.
    assert _one_time_alive("mbg_nbd", table) is None
    assert _one_time_alive("bg_nbd", table.assign(frequency=1.0)) is None
