"""Pareto/NBD: the published CDNOW estimates, and the model's own identities."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.clv import fit_bg_nbd, summary_from_days
from custseg.pareto import ParetoNbd, fit_pareto_nbd


def _cdnow_weeks(path: Path) -> pd.DataFrame:
    """The CDNOW calibration summary (to 1997-09-30), same-day records merged, in weeks."""
    raw = pd.read_csv(path, dtype={"customer": str}, parse_dates=["date"])
    days = (
        raw.groupby(["customer", "date"], as_index=False)["amount"]
        .sum()
        .rename(columns={"customer": "customer_id", "date": "day", "amount": "spend"})
    )
    end = dt.date(1997, 9, 30)
    summary = summary_from_days(days[days["day"] <= pd.Timestamp(end)], end)
    summary[["recency", "T"]] /= 7
    return summary


@pytest.mark.realdata
def test_the_published_cdnow_estimates_on_all_customers(cdnow: Path) -> None:
    summary = _cdnow_weeks(cdnow)
    # 2,357 customers (the 8 whose only purchase was $0 included), 2,457 repeat purchases.
    assert len(summary) == 2357 and summary["frequency"].sum() == 2457
    pareto = fit_pareto_nbd(summary)
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in published.items():
        assert getattr(pareto, name) == pytest.approx(value, rel=0.005), name
    assert pareto.log_likelihood == pytest.approx(-9595.0, abs=0.05)
    assert pareto.warnings == []
    bg = fit_bg_nbd(summary)  # the same customers: BG/NBD's published values too
    for name, value in {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}.items():
        assert getattr(bg, name) == pytest.approx(value, rel=0.005), name
    assert bg.log_likelihood == pytest.approx(-9582.43, abs=0.05)


MODEL = ParetoNbd(r=0.55, alpha=10.6, s=0.61, beta=11.7, log_likelihood=0.0, customers=0)


def test_a_new_customer_expects_the_populations_purchases() -> None:
    # Seen for no time (x = t_x = T = 0): alive for sure, and the expectation is the
    # unconditional E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)].
    zero = np.zeros(1)
    r, alpha, s, beta = MODEL.params
    for t in (1.0, 39.0, 78.0):
        unconditional = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
        assert MODEL.p_alive(zero, zero, zero)[0] == pytest.approx(1.0)
        assert MODEL.expected_purchases(t, zero, zero, zero)[0] == pytest.approx(unconditional)


def test_silence_lowers_the_chance_of_being_alive() -> None:
    x, t_x = np.full(4, 3.0), np.full(4, 10.0)
    big_t = np.array([10.0, 20.0, 40.0, 80.0])
    alive = MODEL.p_alive(x, t_x, big_t)
    assert alive[0] == pytest.approx(1.0) and np.all(np.diff(alive) < 0)
    # Nine purchases by week 10 and thirty weeks of silence: a frequent buyer's silence says
    # more, so less likely alive than the customer with three.
    assert MODEL.p_alive(np.array([9.0]), np.array([10.0]), np.array([40.0]))[0] < alive[2]


@pytest.mark.realdata
def test_the_dropout_integral_is_the_hypergeometric_closed_form(cdnow: Path) -> None:
    # The quadrature used in the fit against FHL's 2F1 expression, on every CDNOW customer
    # and at two parameter points (alpha above and below beta: both branches of A0).
    from custseg.pareto import _log_a0, _log_dead

    summary = _cdnow_weeks(cdnow)
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    for params in (np.array([0.55, 10.6, 0.61, 11.7]), np.array([0.8, 20.0, 1.3, 4.0])):
        r, _, s, _ = params
        closed = np.log(s) + _log_a0(params, x, t_x, big_t) - np.log(r + s + x)
        quadrature = _log_dead(params, x, t_x, big_t)
        finite = t_x < big_t  # bought on the last day: no dropout window, both -inf
        assert np.all(np.isneginf(quadrature[~finite]))
        assert quadrature[finite] == pytest.approx(closed[finite], abs=1e-5)
