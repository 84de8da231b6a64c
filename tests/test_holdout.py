"""The holdout check: personas fitted before a cut-off, what they did after it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from custseg.config import Settings
from custseg.holdout import holdout_check, holdout_cutoff


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(n)],
            "recency_days": rng.integers(0, 300, n),
            "frequency": rng.integers(1, 20, n),
            "monetary": rng.uniform(10, 3000, n).round(2),
        }
    )


def test_sentence_sample_and_shares() -> None:
    as_of = dt.datetime(2011, 12, 10, 12, 50)
    before = _frame(1500, 1)
    full = before.assign(frequency=before["frequency"] + (before.index % 2), monetary=9e3)
    settings = Settings(model={"sweep_max_customers": 1000})
    result = holdout_check(before, full, settings, as_of, 3, "x")
    assert holdout_cutoff(settings, as_of) == dt.datetime(2011, 9, 11, 12, 50)
    assert result["cutoff"] == "2011-09-11T12:50:00" and result["days"] == 90
    assert "a seeded sample of 1,000 of the 1,500 customers then" in result["sentence"]
    table = pd.DataFrame(result["table"])
    assert table["customers"].sum() == 1000
    # Every other customer bought again: about half of each persona.
    assert table["bought_again"].between(0.35, 0.65).all()


def test_data_that_cannot_be_segmented_is_a_note() -> None:
    before = _frame(2, 3)
    result = holdout_check(before, before, Settings(), dt.datetime(2011, 1, 1), 3, "x")
    assert result["table"] == []
    assert result["sentence"].startswith("No holdout check: the data before 2010-10-03")


def test_data_too_short_for_the_check_says_its_span() -> None:
    before = _frame(50, 3)
    as_of = dt.datetime(2010, 12, 4, 17, 28)
    first = dt.datetime(2010, 12, 1, 8, 26)  # 3.4 days
    result = holdout_check(before, before, Settings(), as_of, 3, "x", first_purchase=first)
    assert result["table"] == []
    assert result["sentence"] == (
        "No holdout check: the data spans 3 days (first purchase to the as-of date); the check "
        "needs at least 180, 90 before the cut-off and 90 after it (model.holdout_days)."
    )
    # 180 days of data are enough to try.
    first = as_of - dt.timedelta(days=180)
    result = holdout_check(before, before, Settings(), as_of, 3, "x", first_purchase=first)
    assert result["table"] != []


def test_the_cut_off_counts_days_of_the_calendar() -> None:
    import datetime as dt

    from custseg.config import Settings
    from custseg.holdout import holdout_cutoff

    as_of = dt.datetime(2023, 4, 1, 12, 0)  # UTC; 05:00 in Los Angeles (PDT)
    assert holdout_cutoff(Settings(), as_of) == dt.datetime(2023, 1, 1, 12, 0)
    assert holdout_cutoff(Settings(), as_of, "UTC") == dt.datetime(2023, 1, 1, 12, 0)
    # 90 days of the Los Angeles calendar back, across the change to daylight time: 05:00 PST
    # on January 1st, 13:00 UTC.
    assert holdout_cutoff(Settings(), as_of, "America/Los_Angeles") == dt.datetime(
        2023, 1, 1, 13, 0
    )


def test_shares_of_few_customers_are_said_to_be_so() -> None:
    as_of = dt.datetime(2011, 12, 10, 12, 50)
    before = _frame(40, 2)
    result = holdout_check(before, before, Settings(), as_of, 3, "x")
    table = pd.DataFrame(result["table"])
    top, bottom = table.iloc[0], table.iloc[-1]
    assert result["sentence"].endswith(
        f" Few customers stand behind these shares ({top['customers']:,} in {top['persona']} "
        f"and {bottom['customers']:,} in {bottom['persona']}): read them as an indication, "
        "not a measurement."
    )
    # Hundreds per persona: no such words.
    many = holdout_check(_frame(900, 2), _frame(900, 2), Settings(), as_of, 3, "x")
    assert min(r["customers"] for r in many["table"]) >= 30 and "Few" not in many["sentence"]


def test_personas_of_the_cut_off_not_among_the_runs_are_said() -> None:
    as_of = dt.datetime(2011, 12, 10, 12, 50)
    before = _frame(600, 3)
    full = before.assign(frequency=before["frequency"] + 1)
    plain = holdout_check(before, full, Settings(), as_of, 3, "x")
    then = [row["persona"] for row in plain["table"]]
    assert "named from its own profiles" not in plain["sentence"]  # no persona column
    same = holdout_check(before, full.assign(persona=then[0]), Settings(), as_of, 3, "x")
    others = ", ".join(then[1:])
    verb = "is" if len(then) == 2 else "are"
    assert same["sentence"].endswith(
        f"named from its own profiles ({', '.join(then)}): {others} {verb} not among the "
        "personas of the as-of date."
    )
    full = full.assign(persona=[then[i % len(then)] for i in range(len(full))])
    assert "own profiles" not in holdout_check(before, full, Settings(), as_of, 3, "x")["sentence"]
