"""The what-if campaign planner, by hand: the uplift over the model's baseline."""

from __future__ import annotations

import pandas as pd
import pytest

from custseg.errors import UserError
from custseg.planner import COLUMNS, Campaign, check_personas, plan_campaign, plan_table


@pytest.fixture
def personas() -> pd.DataFrame:
    # Champions buy anyway (90% within 30 days) and are worth 500 a customer over the
    # horizon; Hibernating rarely buy (5%) and are worth 12 a customer.
    frame: pd.DataFrame = pd.DataFrame(
        {
            "persona": ["Champions", "Hibernating"],
            "customers": [100, 1000],
            "p_purchase_30d": [0.9, 0.05],
            "p_purchase_90d": [0.97, 0.12],
            "expected_spend_per_purchase": [200.0, 80.0],
            "expected_revenue": [50_000.0, 12_000.0],
        }
    )
    return frame


def test_the_uplift_not_the_baseline_earns_revenue(personas: pd.DataFrame) -> None:
    # Defaults: contact 0.10, offer 5, uplift 2 pp, window 30, redemption 1, margin 0.3.
    champions = plan_campaign(Campaign("c", "Champions"), personas)
    # baseline 100 x 0.9 = 90 buyers; incremental 100 x 0.02 = 2; revenue 2 x 200 = 400;
    # redeeming (90 + 2) x 1 = 92; cost 100 x 0.1 + 92 x 5 = 470; profit 400 x 0.3 - 470.
    assert champions == {
        "campaign": "c",
        "persona": "Champions",
        "customers": 100,
        "window_days": 30,
        "baseline_buyers": pytest.approx(90),
        "baseline_probability": 0.9,
        "uplift_pp": 2.0,
        "incremental_buyers": pytest.approx(2),
        "expected_spend_per_purchase": 200.0,
        "incremental_revenue": pytest.approx(400),
        "buyers_redeeming": pytest.approx(92),
        "cost": pytest.approx(470),
        "profit": pytest.approx(-350),
        "roi": pytest.approx(-350 / 470),
    }
    assert isinstance(champions["customers"], int)  # a count, not 100.0
    assert list(champions) == COLUMNS
    hibernating = plan_campaign(Campaign("c", "Hibernating"), personas)
    # baseline 1000 x 0.05 = 50; incremental 1000 x 0.02 = 20; revenue 20 x 80 = 1,600;
    # redeeming 70; cost 1000 x 0.1 + 70 x 5 = 450; profit 1,600 x 0.3 - 450 = 30.
    assert hibernating["baseline_buyers"] == pytest.approx(50)
    assert hibernating["incremental_buyers"] == pytest.approx(20)
    assert hibernating["incremental_revenue"] == pytest.approx(1_600)
    assert hibernating["cost"] == pytest.approx(450)
    assert hibernating["profit"] == pytest.approx(30)
    assert hibernating["roi"] == pytest.approx(30 / 450)


def test_champions_no_longer_rank_first(personas: pd.DataFrame) -> None:
    # The old count (5% responders x the whole expected revenue per customer) gave
    # Champions 5 x 500 x 0.3 - (10 + 5 x 5) = 715 and Hibernating 50 x 12 x 0.3 - (100 +
    # 50 x 5) = -170. With the same 2 pp uplift for both, the 90 Champions who buy anyway
    # redeem the offer (460 of the 470 cost) and add nothing: Hibernating come first.
    table = plan_table(Campaign("same", "ignored"), personas)
    assert table.columns.tolist() == COLUMNS
    assert table["persona"].tolist() == ["Hibernating", "Champions"]
    assert table["profit"].tolist() == pytest.approx([30, -350])
    assert table["campaign"].tolist() == ["same", "same"]
    # Fewer baseline buyers redeeming (half of them) halves the subsidy:
    # cost 10 + 92 x 0.5 x 5 = 240; profit 120 - 240.
    half = plan_campaign(Campaign("c", "Champions", redemption_rate=0.5), personas)
    assert half["buyers_redeeming"] == pytest.approx(46)
    assert half["cost"] == pytest.approx(240) and half["profit"] == pytest.approx(-120)


def test_the_window_picks_the_baseline(personas: pd.DataFrame) -> None:
    table = plan_table(Campaign("q", "x", window_days=90), personas)
    # 90 days: Hibernating 1000 x 0.12 = 120 baseline buyers, 20 incremental, revenue 1,600;
    # cost 100 + 140 x 5 = 800; profit 480 - 800 = -320. Champions 97 + 2 redeeming:
    # cost 10 + 99 x 5 = 505; profit 120 - 505 = -385.
    assert table["persona"].tolist() == ["Hibernating", "Champions"]
    assert table["window_days"].tolist() == [90, 90]
    assert table["baseline_buyers"].tolist() == pytest.approx([120, 97])
    assert table["cost"].tolist() == pytest.approx([800, 505])
    assert table["profit"].tolist() == pytest.approx([-320, -385])
    # 5 pp does not fit over Champions' 97%: the comparison leaves them out.
    wide = plan_table(Campaign("w", "x", uplift_pp=5, window_days=90), personas)
    assert wide["persona"].tolist() == ["Hibernating"]


def test_an_uplift_up_to_exactly_100_percent_is_allowed(personas: pd.DataFrame) -> None:
    # 0.9 + 10 pp = 100%: every Champion buys, 100 redeem; cost 10 + 500; revenue 10 x 200.
    full = plan_campaign(Campaign("c", "Champions", uplift_pp=10), personas)
    assert full["buyers_redeeming"] == pytest.approx(100)
    assert full["profit"] == pytest.approx(2_000 * 0.3 - 510)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"uplift_pp": 150}, r"campaign 'bad': uplift_pp = 150 is outside 0\.\.100\."),
        ({"uplift_pp": -1}, r"uplift_pp = -1 is outside 0\.\.100\."),
        ({"uplift_pp": "high"}, r"uplift_pp = 'high' is not a number\."),
        ({"redemption_rate": 1.5}, r"redemption_rate = 1\.5 is outside 0\.\.1\."),
        ({"margin": True}, r"margin = True is not a number\."),
        ({"window_days": 60}, r"campaign 'bad': window_days = 60 is not 30 or 90 "),
        ({"window_days": "30"}, r"window_days = '30' is not 30 or 90 "),
        ({"window_days": True}, r"window_days = True is not 30 or 90 "),
    ],
)
def test_bad_values_are_one_sentence(
    personas: pd.DataFrame, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(UserError, match=message):
        plan_campaign(Campaign("bad", "Hibernating", **changes), personas)  # type: ignore[arg-type]


def test_an_uplift_past_100_percent_names_campaign_persona_baseline_and_uplift(
    personas: pd.DataFrame,
) -> None:
    with pytest.raises(
        UserError,
        match=r"^campaign 'vip': persona 'Champions' already buys within 30 days with a "
        r"probability of 90\.0%, so an uplift of 15 percentage points would take it past "
        r"100%; give uplift_pp of at most 10\.0\.$",
    ):
        plan_campaign(Campaign("vip", "Champions", uplift_pp=15), personas)


def test_the_old_response_rate_key_names_the_new_one(personas: pd.DataFrame) -> None:
    with pytest.raises(
        UserError,
        match=r"^campaign 'x': response_rate is no longer used: the planner counts the uplift "
        r"over the model's baseline; give uplift_pp \(percentage points added to the "
        r"probability of a purchase in the window\) instead\.$",
    ):
        Campaign("x", "Champions", response_rate=0.05)
    # The old positional call (contact, offer, response rate, margin) cannot slip through.
    with pytest.raises(TypeError):
        Campaign("x", "Champions", 0.5, 10.0, 0.2, 0.4)  # type: ignore[misc, arg-type]


def test_an_unknown_persona_or_an_older_clv_table(personas: pd.DataFrame) -> None:
    with pytest.raises(UserError, match=r"no persona 'Loyal' in the CLV figures \(Champions, "):
        plan_campaign(Campaign("x", "Loyal"), personas)
    old = personas[["persona", "customers", "expected_revenue"]]
    with pytest.raises(
        UserError,
        match=r"^clv_personas\.csv has no column expected_spend_per_purchase, p_purchase_30d, "
        r"p_purchase_90d: it was written by an older custseg, .*; rerun custseg clv to write "
        r"them\.$",
    ):
        check_personas(old, "clv_personas.csv")
    with pytest.raises(UserError, match="has no column expected_spend_per_purchase"):
        plan_campaign(Campaign("x", "Champions"), old)
    bad = personas.assign(p_purchase_30d=[1.2, 0.05])
    with pytest.raises(UserError, match=r"p_purchase_30d holds '1\.2', not a number from 0 to 1"):
        check_personas(bad)
