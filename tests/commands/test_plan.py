"""custseg cohorts, clv and plan end to end, and the playbook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app


def test_cohorts_clv_and_audiences_commands(synthetic: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["cohorts", str(synthetic), "--out", str(tmp_path / "co")])
    assert got.exit_code == 0, got.output
    assert {p.name for p in (tmp_path / "co").iterdir()} - {".custseg-outputs.json"} == {
        "cohorts.csv", "cohort_personas.csv", "cohorts.html", "run_log.json",
    }  # fmt: skip
    log = json.loads((tmp_path / "co" / "run_log.json").read_text())
    assert log["input_scans"] == 1 and log["personas"] == "fitted as custseg run fits them"
    got = runner.invoke(app, ["clv", str(synthetic), "--out", str(tmp_path / "clv")])
    assert got.exit_code == 0, got.output
    audience = next((tmp_path / "clv" / "audiences").glob("*.csv"))
    assert {"expected_revenue", "p_alive"} <= set(pd.read_csv(audience).columns)
    assert {"persona", "customers", "expected_revenue"} <= set(
        pd.read_csv(tmp_path / "clv" / "clv_personas.csv").columns
    )


# A clv folder as custseg clv writes it, by hand, so that the plan's numbers can be too:
# the planner reads clv_personas.csv only.
CLV_PERSONAS = (
    "persona,customers,expected_revenue,p_alive_mean,clv,share,"
    "p_purchase_30d,p_purchase_90d,expected_spend_per_purchase\n"
    "Champions,100,50000.0,0.95,49000.0,0.8,0.9,0.97,200.0\n"
    "Hibernating,1000,12000.0,0.4,11800.0,0.2,0.05,0.12,80.0\n"
)


def test_plan_command_counts_the_uplift(tmp_path: Path) -> None:
    from custseg.planner import COLUMNS

    clv = tmp_path / "clv"
    clv.mkdir()
    (clv / "clv_personas.csv").write_text(CLV_PERSONAS)
    campaigns = tmp_path / "campaigns.yml"
    campaigns.write_text(
        "- name: win-back\n  persona: Hibernating\n  contact_cost: 0.2\n  offer_cost: 8\n"
        "  uplift_pp: 3\n  window_days: 90\n  redemption_rate: 0.5\n  margin: 0.35\n"
        "- name: defaults\n  persona: Champions\n"
    )
    runner = CliRunner()
    args = ["plan", str(campaigns), "--clv", str(clv), "--out", str(tmp_path / "p")]
    got = runner.invoke(app, args)
    assert got.exit_code == 0, got.output
    # The table on the screen: one line per campaign, within 80 columns (by hand below).
    lines = got.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    rows = [" ".join(line.split()) for line in lines]
    assert "win-back Hibernating 1,000 30 2,400 800 40 0.05" in rows
    assert "defaults Champions 100 2 400 470 -350 -0.74" in rows
    plan = pd.read_csv(tmp_path / "p" / "plan.csv")
    assert plan.columns.tolist() == COLUMNS
    assert plan["campaign"].tolist() == ["win-back", "defaults"]
    # win-back: 1000 x 0.12 = 120 baseline buyers beside 1000 x 0.03 = 30 incremental;
    # revenue 30 x 80 = 2,400; redeeming (120 + 30) x 0.5 = 75;
    # cost 1000 x 0.2 + 75 x 8 = 800; profit 2,400 x 0.35 - 800 = 40; roi 40 / 800.
    # defaults (30 days, 2 pp, contact 0.1, offer 5, redemption 1, margin 0.3): 90 + 2
    # buyers, revenue 2 x 200 = 400, cost 10 + 92 x 5 = 470, profit 120 - 470 = -350.
    expected = {
        "window_days": [90, 30],
        "baseline_buyers": [120, 90],
        "baseline_probability": [0.12, 0.9],
        "uplift_pp": [3, 2],
        "incremental_buyers": [30, 2],
        "incremental_revenue": [2_400, 400],
        "buyers_redeeming": [75, 92],
        "cost": [800, 470],
        "profit": [40, -350],
        "roi": [0.05, -350 / 470],
    }
    for column, values in expected.items():
        assert plan[column].tolist() == pytest.approx(values), column
    assert plan["customers"].tolist() == [1000, 100]
    # --quiet, as every command has it: the outputs line goes, the table stays.
    assert "outputs" in got.stderr
    quiet = runner.invoke(app, [*args, "-q"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == got.stdout
    # No clv_params.json by hand: nothing said of the data's dates. With one (custseg clv
    # --calibration-end writes it), the table says which lines the personas come from.
    assert "come from the lines up to" not in got.stdout
    (clv / "clv_params.json").write_text('{"calibration_end": "2011-09-09", "horizon_days": 91}')
    dated = runner.invoke(app, [*args, "-q"])
    assert dated.exit_code == 0, dated.output
    assert (
        f"The personas and predictions of {clv} come from the lines up to 2011-09-09: the "
        "personas of that date, and predictions for the 91 days after it."
    ) in " ".join(dated.stdout.split())

    campaigns.write_text("- name: x\n  persona: Champions\n  budget: 9\n")
    bad = runner.invoke(app, [*args[:4], "--out", str(tmp_path / "q")])
    assert bad.exit_code == 2
    # One sentence in the file's terms, not Python's ("__init__() got an unexpected ...").
    assert " ".join(bad.output.split()) == (
        f"error: {campaigns}, campaign 1: unknown key 'budget'; the keys are name, persona, "
        "contact_cost, offer_cost, uplift_pp, window_days, redemption_rate, margin "
        "(docs/campaigns.md)."
    )
    campaigns.write_text("- name: x\n- name: y\n  persona: Champions\n")
    bad = runner.invoke(app, [*args[:4], "--out", str(tmp_path / "q")])
    assert bad.exit_code == 2 and f"{campaigns}, campaign 1: 'persona' missing." in bad.output
    campaigns.write_text("- just a name\n")
    bad = runner.invoke(app, [*args[:4], "--out", str(tmp_path / "q")])
    assert bad.exit_code == 2
    assert "campaign 1: expected the keys name, persona, " in bad.output
    assert "got 'just a name'." in " ".join(bad.output.split())
    campaigns.write_text("- name: spring\n  persona: Champions\n  response_rate: 0.1\n")
    bad = runner.invoke(app, [*args[:4], "--out", str(tmp_path / "q")])
    assert bad.exit_code == 2
    assert "campaign 'spring': response_rate is no longer used" in bad.output
    assert "give uplift_pp" in bad.output
    assert not (tmp_path / "q").exists()


def test_a_clv_folder_from_an_older_custseg_says_rerun(tmp_path: Path) -> None:
    from custseg.commands.plan import plan_campaigns
    from custseg.errors import UserError

    clv = tmp_path / "clv"
    clv.mkdir()
    (clv / "clv_personas.csv").write_text(
        "persona,customers,expected_revenue,p_alive_mean,clv,share\n"
        "Champions,100,50000.0,0.95,49000.0,1.0\n"
    )
    campaigns = tmp_path / "campaigns.yml"
    campaigns.write_text("- name: x\n  persona: Champions\n")
    with pytest.raises(
        UserError,
        match=r"clv_personas\.csv has no column expected_spend_per_purchase, p_purchase_30d, "
        r"p_purchase_90d: it was written by an older custseg, .*; rerun custseg clv",
    ):
        plan_campaigns(campaigns, clv)


def test_a_bad_campaign_value_or_clv_table_is_one_sentence(tmp_path: Path) -> None:
    from custseg.commands.plan import plan_campaigns
    from custseg.errors import UserError

    head = "persona,customers,p_purchase_30d,p_purchase_90d,expected_spend_per_purchase"
    clv = tmp_path / "clv"
    clv.mkdir()
    (clv / "clv_personas.csv").write_text(f"{head}\nLost,10,0.1,0.2,50.0\n")
    campaigns = tmp_path / "campaigns.yml"
    campaigns.write_text("- name: x\n  persona: Lost\n  uplift_pp: high\n")
    with pytest.raises(UserError, match=r"campaign 'x': uplift_pp = 'high' is not a number"):
        plan_campaigns(campaigns, clv)
    campaigns.write_text("- name: x\n  persona: Lost\n  window_days: 60\n")
    with pytest.raises(UserError, match=r"campaign 'x': window_days = 60 is not 30 or 90"):
        plan_campaigns(campaigns, clv)
    campaigns.write_text("- name: x\n  persona: Lost\n  uplift_pp: 95\n")
    with pytest.raises(UserError, match=r"probability of 10\.0%, so an uplift of 95 percentage"):
        plan_campaigns(campaigns, clv)
    campaigns.write_text("- name: x\n  persona: Lost\n  uplift_pp: 50\n")
    # 10 customers x 50 pp = 5 incremental buyers beside 10 x 0.1 = 1 baseline buyer.
    got = plan_campaigns(campaigns, clv)
    assert got[["baseline_buyers", "incremental_buyers"]].values.tolist() == [[1.0, 5.0]]
    with pytest.raises(UserError, match=r"clv_personas\.csv does not exist: run custseg clv"):
        plan_campaigns(campaigns, tmp_path / "missing")
    (clv / "clv_personas.csv").write_text("")
    with pytest.raises(UserError, match=r"clv_personas\.csv is not a CLV table"):
        plan_campaigns(campaigns, clv)
    (clv / "clv_personas.csv").write_text("persona,n\nLost,10\n")
    with pytest.raises(UserError, match=r"has no column customers; rerun custseg clv\.$"):
        plan_campaigns(campaigns, clv)
    for row, shown in (
        ("Lost,,0.1,0.2,50.0", "customers holds an empty value, not a number of at least 0"),
        ("Lost,ten,0.1,0.2,50.0", "customers holds 'ten', not a number of at least 0"),
        ("Lost,10,0.1,0.2,-5", "expected_spend_per_purchase holds '-5', not a number of at"),
        ("Lost,10,0.1,1.5,50.0", "p_purchase_90d holds '1.5', not a number from 0 to 1"),
    ):
        (clv / "clv_personas.csv").write_text(f"{head}\n{row}\n")
        with pytest.raises(UserError, match=re.escape(shown)):
            plan_campaigns(campaigns, clv)
    (clv / "clv_personas.csv").write_bytes(f"{head}\n".encode() + b"\xff\xfe,1,0,0,2\n")
    with pytest.raises(UserError, match=r"clv_personas\.csv is not a CLV table"):
        plan_campaigns(campaigns, clv)
    # The campaigns file's own faults name it, not the CLV table.
    (clv / "clv_personas.csv").write_text(f"{head}\nLost,10,0.1,0.2,50.0\n")
    campaigns.write_bytes(b"- name: caf\xe9\n  persona: Lost\n")
    with pytest.raises(UserError, match=r"^The campaigns file \S+campaigns\.yml is not UTF-8"):
        plan_campaigns(campaigns, clv)
    campaigns.write_text("- name: x\n  persona: [Lost\n")
    with pytest.raises(UserError) as raised:
        plan_campaigns(campaigns, clv)
    assert str(raised.value) == (
        f"The campaigns file {campaigns} is not valid YAML: expected ',' or ']', but got "
        "'<stream end>' at line 3, column 1."
    )
