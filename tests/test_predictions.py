"""clv.csv's per-customer predictions: tiers, reasons, intervals, honesty about P(alive)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from custseg import predictions
from custseg.clv import BgNbd, GammaGamma
from custseg.mbg import ModifiedBgNbd
from custseg.predictions import COLUMNS, alive_informative, customer_predictions, tiers

GG = GammaGamma(p=6.0, q=4.0, v=15.0, log_likelihood=0.0, customers=0)


def _summary() -> pd.DataFrame:
    # a: 9 purchases in 300 days, the last 12 days ago; b: one purchase 400 days ago;
    # c: 3 purchases, the last 40 days ago.
    return pd.DataFrame(
        {
            "frequency": [8.0, 0.0, 2.0],
            "recency": [288.0, 0.0, 60.0],
            "T": [300.0, 400.0, 100.0],
            "paid_repeats": [8.0, 0.0, 2.0],
            "monetary": [50.0, 0.0, 20.0],
            "spend": [460.0, 30.0, 70.0],
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )


def test_tiers_by_rank() -> None:
    # 200 customers: ranks 1-2 are the top 1%, 3-10 the next 4%, 11-20 5-10%, ...
    score = np.arange(200, 0, -1, dtype=float)
    got = tiers(score, pd.Series([f"c{i:03d}" for i in range(200)]))
    assert got[:2] == ["top 1%"] * 2 and got[2:10] == ["1-5%"] * 8
    assert got[10:20] == ["5-10%"] * 10 and got[20:50] == ["10-25%"] * 30
    assert got[50:100] == ["25-50%"] * 50 and got[100:] == ["bottom 50%"] * 100
    # Ties are broken by the id, so the same input gives the same tiers; of 4 customers the
    # first is in the top 25% (not the top 1%), the second in the top 50%.
    assert tiers(np.ones(4), pd.Series(["d", "c", "b", "a"])) == [
        "bottom 50%", "bottom 50%", "25-50%", "10-25%"
    ]  # fmt: skip


def test_every_column_by_hand() -> None:
    model = BgNbd(0.5, 10.0, 0.8, 2.5)
    table = customer_predictions(
        model, GG, _summary(), end=dt.date(2011, 12, 9), horizon=90, discount_rate=0.1, draws=0
    )
    assert list(table.columns) == list(COLUMNS)
    a = table.iloc[0]
    # a spent the most of three: rank 1 of 3 is within the top 50%.
    # Dates: 12 and 400 days before the calibration end (2011-12-09).
    assert a["reason"] == "last bought 2011-11-27, 9 purchases in 300 days, top 50% by past spend"
    assert table.iloc[1]["reason"] == "last bought 2010-11-04, 1 purchase in 400 days, " \
        "bottom 50% by past spend"  # fmt: skip
    assert a["avg_days_between_purchases"] == 36.0 and np.isnan(
        table.iloc[1]["avg_days_between_purchases"]
    )
    assert a["historic_spend"] == 460.0
    assert a["churn_probability"] == pytest.approx(1 - a["p_alive"])
    # Gamma-Gamma: p (v + x m) / (p x + q - 1) = 6 (15 + 400) / (48 + 3); the population mean
    # p v / (q - 1) = 30 without a paid repeat.
    assert a["expected_spend_per_purchase"] == pytest.approx(6 * 415 / 51)
    assert table.iloc[1]["expected_spend_per_purchase"] == pytest.approx(30.0)
    assert a["expected_revenue"] == pytest.approx(
        a["expected_purchases"] * a["expected_spend_per_purchase"]
    )
    assert a["clv"] == pytest.approx(a["expected_revenue"] / 1.1 ** (90 / 365))
    # BG/NBD alive: posterior rate Gamma(r + x, alpha + T); the median wait is
    # (alpha + T) (2^(1/(r+x)) - 1) = 310 (2^(1/8.5) - 1) = 26.3 days: 27 days after the end.
    wait = 310 * (2 ** (1 / 8.5) - 1)
    assert (
        a["expected_next_purchase"]
        == (dt.date(2011, 12, 9) + dt.timedelta(days=int(np.ceil(wait)))).isoformat()
    )
    p30 = a["p_alive"] * (1 - (310 / 340) ** 8.5)
    assert a["p_purchase_30d"] == pytest.approx(p30)
    assert np.isnan(a["clv_low"])  # no draws, no intervals


def test_no_next_purchase_date_for_a_customer_probably_gone() -> None:
    model = ModifiedBgNbd(0.5, 10.0, 0.8, 2.5)  # a one-time buyer can lapse
    table = customer_predictions(
        model, GG, _summary(), end=dt.date(2011, 12, 9), horizon=90, discount_rate=0.1, draws=0
    )
    b = table.iloc[1]
    assert b["p_alive"] < 0.5 and b["expected_next_purchase"] == ""


def test_intervals_hold_the_estimate_and_do_not_depend_on_chunks(monkeypatch) -> None:
    cov = (np.eye(4) * 0.01).tolist()
    model = BgNbd(0.5, 10.0, 0.8, 2.5, log_cov=cov)
    gg = GammaGamma(6.0, 4.0, 15.0, 0.0, 0, log_cov=(np.eye(3) * 0.01).tolist())
    summary = pd.concat([_summary()] * 5)
    summary.index = pd.Index([f"c{i}" for i in range(15)], name="customer_id")
    kwargs = {"end": dt.date(2011, 12, 9), "horizon": 90, "discount_rate": 0.1, "draws": 300}
    whole = customer_predictions(model, gg, summary, **kwargs)
    assert (whole["expected_purchases_low"] < whole["expected_purchases"]).all()
    assert (whole["expected_purchases"] < whole["expected_purchases_high"]).all()
    assert (whole["clv_low"] < whole["clv"]).all() and (whole["clv"] < whole["clv_high"]).all()
    monkeypatch.setattr(predictions, "CHUNK", 4)
    chunked = customer_predictions(model, gg, summary, **kwargs)
    pd.testing.assert_frame_equal(whole, chunked)


def test_p_alive_is_called_uninformative_when_dropout_is_at_its_bound() -> None:
    stuck = BgNbd(0.7, 65.0, 1e-6, 1.6e4, std_errors={"r": 0.1, "alpha": 1.0, "a": None, "b": None})
    ok, why = alive_informative(stuck, np.full(10, 0.999))
    assert not ok and "dropout parameters a and b are at the bound" in why
    assert "next-purchase dates assume every customer is still active" in why
    fine = BgNbd(0.5, 10.0, 0.8, 2.5, std_errors={"r": 0.1, "alpha": 1.0, "a": 0.1, "b": 0.2})
    ok, why = alive_informative(fine, np.linspace(0.1, 1.0, 10))
    # 0.1 .. 0.8 are below 0.9: 80% of customers.
    assert ok and why.startswith("BG/NBD separates active from lapsed customers: 80%")


def test_percentiles_equal_numpys_nan_aware_ones() -> None:
    from custseg.predictions import percentiles

    rng = np.random.default_rng(3)
    draws = rng.gamma(2.0, 3.0, size=(200, 50))
    draws[4, 7] = np.nan  # one hole
    draws[:, 9] = np.nan  # a column of holes only
    got = percentiles(draws, [5, 95])
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanpercentile(draws, [5, 95], axis=0)
    assert np.array_equal(got, expected, equal_nan=True)
    assert np.isnan(got[:, 9]).all() and not np.isnan(got[:, 7]).any()


def test_a_refit_without_finite_predictions_ends_in_one_sentence() -> None:
    from custseg.errors import UserError

    class Broken(BgNbd):  # a refit whose predictions are not finite for one customer
        def expected_purchases(self, t: float, x: np.ndarray, *rest: np.ndarray) -> np.ndarray:
            out: np.ndarray = np.where(x == 0, np.nan, super().expected_purchases(t, x, *rest))
            return out

    with pytest.raises(UserError) as caught:
        customer_predictions(
            Broken(0.5, 10.0, 0.8, 2.5), GG, _summary(), end=dt.date(2011, 12, 9), horizon=90,
            discount_rate=0.1, draws=0,
        )  # fmt: skip
    assert str(caught.value) == (
        "clv: BG/NBD fitted to all the data (r 0.5, alpha 10, a 0.8, b 2.5) gives no finite "
        "expected purchases for 1 of 3 customers; no lifetime value is written."
    )
    # Gamma-Gamma with q <= 1: the population's mean spend, which customers without a paid
    # repeat purchase get, is not finite (as fitted on 6 customers of the real data's first
    # two days).
    flat = GammaGamma(p=0.9365, q=0.5389, v=41.05, log_likelihood=0.0, customers=6)
    with pytest.raises(UserError) as caught:
        customer_predictions(
            BgNbd(0.5, 10.0, 0.8, 2.5), flat, _summary(), end=dt.date(2011, 12, 9), horizon=90,
            discount_rate=0.1, draws=0,
        )  # fmt: skip
    assert str(caught.value) == (
        "clv: Gamma-Gamma's estimates (p 0.9365, q 0.5389, v 41.05; fitted on 6 customers with "
        "a paid repeat purchase) have q <= 1: the mean spend is not finite (1 of 3 customers "
        "would get it): too few repeat purchases to learn spend from (a later "
        "--calibration-end, or more data, gives more); no lifetime value is written."
    )
