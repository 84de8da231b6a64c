"""custseg cohorts, clv and plan end to end, and the playbook."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app


def test_cohorts_clv_audiences_and_plan_commands(synthetic: Path, tmp_path: Path) -> None:
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
    personas = pd.read_csv(tmp_path / "clv" / "clv_personas.csv")
    first = str(personas["persona"].iloc[0])
    campaigns = tmp_path / "campaigns.yml"
    campaigns.write_text(
        f'- name: spring\n  persona: "{first}"\n  response_rate: 0.1\n'
        f'- name: defaults\n  persona: "{first}"\n'
    )
    got = runner.invoke(
        app, ["plan", str(campaigns), "--clv", str(tmp_path / "clv"), "--out", str(tmp_path / "p")]
    )
    assert got.exit_code == 0, got.output
    plan = pd.read_csv(tmp_path / "p" / "plan.csv")
    assert plan["campaign"].tolist() == ["spring", "defaults"]
    assert plan.loc[0, "responders"] == pytest.approx(0.1 * plan.loc[0, "customers"])
    assert plan.loc[1, "responders"] == pytest.approx(0.05 * plan.loc[1, "customers"])
    campaigns.write_text("- name: x\n  persona: Champions\n  budget: 9\n")
    bad = runner.invoke(
        app, ["plan", str(campaigns), "--clv", str(tmp_path / "clv"), "--out", str(tmp_path / "q")]
    )
    assert bad.exit_code == 2 and "campaign 1" in bad.output and "budget" in bad.output


def test_a_bad_campaign_value_or_clv_table_is_one_sentence(tmp_path: Path) -> None:
    from custseg.commands.plan import plan_campaigns
    from custseg.errors import UserError

    clv = tmp_path / "clv"
    clv.mkdir()
    (clv / "clv_personas.csv").write_text("persona,customers,expected_revenue\nLost,10,100.0\n")
    campaigns = tmp_path / "campaigns.yml"
    campaigns.write_text("- name: x\n  persona: Lost\n  response_rate: high\n")
    with pytest.raises(UserError, match=r"campaign 'x': response_rate = 'high' is not a number"):
        plan_campaigns(campaigns, clv)
    campaigns.write_text("- name: x\n  persona: Lost\n  response_rate: 0.5\n")
    assert plan_campaigns(campaigns, clv)["responders"].tolist() == [5.0]
    (clv / "clv_personas.csv").write_text("")
    with pytest.raises(UserError, match=r"clv_personas\.csv is not a CLV table"):
        plan_campaigns(campaigns, clv)
    (clv / "clv_personas.csv").write_text("persona,n\nLost,10\n")
    with pytest.raises(UserError, match="has no column customers, expected_revenue"):
        plan_campaigns(campaigns, clv)
    for row, shown in (
        ("Lost,,100.0", "customers holds an empty value"),
        ("Lost,ten,100.0", "customers holds 'ten'"),
        ("Lost,10,-5", "expected_revenue holds '-5'"),
    ):
        (clv / "clv_personas.csv").write_text(f"persona,customers,expected_revenue\n{row}\n")
        with pytest.raises(UserError, match=f"{shown}, not a number of at least 0"):
            plan_campaigns(campaigns, clv)
    (clv / "clv_personas.csv").write_bytes(b"persona,customers,expected_revenue\n\xff\xfe,1,2\n")
    with pytest.raises(UserError, match=r"clv_personas\.csv is not a CLV table"):
        plan_campaigns(campaigns, clv)
