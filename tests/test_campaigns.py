"""Cohorts, audiences, the what-if planner and the playbook."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app
from custseg.cohorts import (
    cohort_counts_sql,
    cohort_table,
    persona_counts_sql,
    persona_retention,
)
from custseg.config import load_settings
from custseg.errors import UserError
from custseg.pipeline import segment, write_outputs
from custseg.planner import Campaign, plan_campaign, plan_table


def _monthly(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer", "month", "revenue"])
    frame["month"] = pd.to_datetime(frame["month"])
    frame["micro"] = (frame.pop("revenue") * 1_000_000).round().astype("int64")
    return frame


def _cohorts(
    monthly: pd.DataFrame, last: dt.datetime, personas: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The engine's counting (DuckDB here) and the finishing, as the session runs them."""
    import duckdb

    con = duckdb.connect()
    con.register("monthly", monthly)
    table = cohort_table(con.execute(cohort_counts_sql("monthly")).df(), last)
    curves = pd.DataFrame()
    if personas is not None:
        con.register("personas", personas)
        curves = persona_retention(con.execute(persona_counts_sql("monthly", "personas")).df())
    return table, curves


def test_cohort_table_by_hand() -> None:
    # a: Jan, skips Feb, back in Mar; b: Jan and Feb; c: first purchase in the last month (Mar).
    monthly = _monthly(
        [
            ("a", "2011-01-01", 10.0),
            ("a", "2011-03-01", 5.0),
            ("b", "2011-01-01", 20.0),
            ("b", "2011-02-01", 7.0),
            ("c", "2011-03-01", 3.0),
        ]
    )
    personas = pd.DataFrame({"customer": ["a", "b", "c"], "persona": ["X", "X", "Y"]})
    table, curves = _cohorts(monthly, dt.datetime(2011, 3, 9, 12, 0), personas)  # March: partial
    assert table.to_dict("records") == [
        {"cohort": "2011-01", "month_index": 0, "month": "2011-01", "customers": 2,
         "cohort_size": 2, "retention": 1.0, "revenue": 30.0, "partial": False},
        {"cohort": "2011-01", "month_index": 1, "month": "2011-02", "customers": 1,
         "cohort_size": 2, "retention": 0.5, "revenue": 7.0, "partial": False},
        {"cohort": "2011-01", "month_index": 2, "month": "2011-03", "customers": 1,
         "cohort_size": 2, "retention": 0.5, "revenue": 5.0, "partial": True},
        {"cohort": "2011-03", "month_index": 0, "month": "2011-03", "customers": 1,
         "cohort_size": 1, "retention": 1.0, "revenue": 3.0, "partial": True},
    ]  # fmt: skip
    full, _ = _cohorts(monthly, dt.datetime(2011, 3, 31, 18, 0))
    assert not full["partial"].any()  # data up to the month's last day: complete
    x = curves[curves["persona"] == "X"].set_index("month_index")
    # Both X customers started in January: observable for months 0..2.
    assert x.loc[1, ["customers", "observable", "retention"]].tolist() == [1, 2, 0.5]
    assert x.loc[2, ["customers", "observable", "retention"]].tolist() == [1, 2, 0.5]
    y = curves[curves["persona"] == "Y"]
    assert y["month_index"].tolist() == [0] and y["observable"].tolist() == [1]


@pytest.mark.realdata
def test_real_cohorts_equal_an_independent_computation(real_parquet: Path) -> None:
    result = segment(real_parquet, load_settings(None, {"model": {"k": 3, "k_max": 3}}))
    raw = pd.read_parquet(real_parquet)
    kept = raw[
        raw["CustomerID"].notna()
        & ~raw["InvoiceNo"].astype(str).str.startswith("C")
        & (raw["Quantity"] > 0)
        & (raw["UnitPrice"] > 0)
    ].copy()
    kept["period"] = kept["InvoiceDate"].dt.to_period("M")
    kept["cohort"] = kept.groupby("CustomerID")["period"].transform("min")
    kept["index"] = (kept["period"] - kept["cohort"]).apply(lambda d: d.n)
    expected = (
        kept.groupby([kept["cohort"].astype(str), "index"])["CustomerID"].nunique().rename("n")
    )
    ours = result.cohorts.set_index(["cohort", "month_index"])["customers"]
    assert ours.to_dict() == expected.to_dict()
    first = result.cohorts[(result.cohorts["cohort"] == "2010-12")]
    assert first.iloc[0]["cohort_size"] == 885
    assert first.set_index("month_index").loc[1, "customers"] == 324
    # December 2011 has 9 days of data: its cells are partial, nothing else is.
    assert set(result.cohorts.loc[result.cohorts["partial"], "month"]) == {"2011-12"}


def test_audiences_partition_the_customers_and_are_formula_safe(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    ids = ["=cmd", "b", "c", "d", "e", "f"]
    for i, (cid, price) in enumerate(zip(ids, [3, 90, 5, 400, 7, 11], strict=True)):
        lines.append(f"{i},{cid},2011-01-0{i + 1} 10:00,1,{price}")
        lines.append(f"{i}b,{cid},2011-02-0{i + 1} 10:00,{i + 1},{price}")
    path.write_text("\n".join(lines) + "\n")
    result = segment(path, load_settings(None, {"model": {"k": 2, "k_max": 2}}))
    write_outputs(result, tmp_path / "out")
    files = sorted((tmp_path / "out" / "audiences").glob("*.csv"))
    assert len(files) == result.customers["persona"].nunique()
    frames = [pd.read_csv(f, dtype={"customer_id": str}) for f in files]
    every = pd.concat(frames)
    assert sorted(every["customer_id"]) == sorted(["'=cmd", *ids[1:]])
    assert every["customer_id"].is_unique
    assert list(frames[0].columns) == [
        "customer_id", "persona", "rfm_segment", "recency_days", "frequency", "monetary",
    ]  # fmt: skip
    for frame, file in zip(frames, files, strict=True):
        assert frame["persona"].nunique() == 1
        assert file.name == frame["persona"].iloc[0].lower().replace(" ", "-") + ".csv"


def test_planner_by_hand() -> None:
    personas = pd.DataFrame(
        {
            "persona": ["Champions", "Lost"],
            "customers": [100, 1000],
            "expected_revenue": [50_000.0, 10_000.0],
        }
    )
    one = plan_campaign(Campaign("c", "Champions", 0.5, 10.0, 0.2, 0.4), personas)
    # 20 responders x 500 per customer = 10,000; cost 100 x 0.5 + 20 x 10 = 250
    assert one["responders"] == 20 and one["incremental_revenue"] == 10_000
    assert one["cost"] == 250 and one["profit"] == 10_000 * 0.4 - 250
    table = plan_table(Campaign("c", "Champions", 0.5, 10.0, 0.2, 0.4), personas)
    assert table["persona"].tolist() == ["Champions", "Lost"]
    # Lost: 200 responders x 10 = 2,000; cost 500 + 2,000; profit 800 - 2,500.
    assert table.loc[1, "profit"] == 2_000 * 0.4 - 2_500
    with pytest.raises(UserError, match=r"response_rate = 1\.5 is outside 0\.\.1"):
        plan_campaign(Campaign("bad", "Lost", response_rate=1.5), personas)
    with pytest.raises(UserError, match="no persona 'Loyal'"):
        plan_campaign(Campaign("x", "Loyal"), personas)


def test_cohorts_clv_audiences_and_plan_commands(synthetic: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["cohorts", str(synthetic), "--out", str(tmp_path / "co")])
    assert got.exit_code == 0, got.output
    assert {p.name for p in (tmp_path / "co").iterdir()} == {
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


def test_playbook_from_yaml(tiny_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "p.yml"
    config.write_text(
        "playbook:\n  Champions:\n    action: Send a thank-you gift.\n"
        "    channel: post\n    timing: at Christmas\n"
    )
    settings = load_settings(config, {"model": {"k": 2, "k_max": 2}})
    result = segment(tiny_csv, settings)
    row = result.segments.set_index("persona").loc["Champions"]
    assert (row["action"], row["channel"], row["timing"]) == (
        "Send a thank-you gift.", "post", "at Christmas",
    )  # fmt: skip
    config.write_text("playbook:\n  Champs:\n    action: a\n    channel: b\n    timing: c\n")
    with pytest.raises(UserError, match="'Champs' is not a persona"):
        segment(tiny_csv, load_settings(config, {"model": {"k": 2, "k_max": 2}}))
    json.dumps(result.model)  # still serialisable
