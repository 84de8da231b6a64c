"""custseg run: every output, its layout, byte-identical reruns, tiny and large data."""

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.clustering import SegmentModel
from custseg.config import load_settings
from custseg.errors import UserError
from custseg.io.outputs import MANIFEST
from custseg.pipeline import OUTPUT_FILES, segment, write_outputs
from custseg.reporting import render_report


@pytest.fixture(scope="module")
def outputs(synthetic: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    write_outputs(segment(synthetic, load_settings(None, {})), out)
    return out


def test_every_output_file_and_its_layout(outputs: Path) -> None:
    assert sorted(p.name for p in outputs.iterdir()) == sorted([*OUTPUT_FILES, MANIFEST])
    customers = pd.read_csv(outputs / "customers.csv", dtype={"customer_id": str, "rfm_code": str})
    assert list(customers.columns) == [
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "cluster",
        "persona",
        "r_score",
        "f_score",
        "m_score",
        "rfm_code",
        "rfm_segment",
    ]
    assert customers["rfm_code"].astype(str).str.fullmatch(r"[1-5]{3}").all()
    assert customers["rfm_segment"].notna().all()
    assert customers["customer_id"].is_unique
    assert list(customers["customer_id"]) == sorted(customers["customer_id"], key=int)
    parquet = pd.read_parquet(outputs / "customers.parquet")
    pd.testing.assert_frame_equal(parquet, customers, check_dtype=False)

    segments = pd.read_csv(outputs / "segments.csv")
    assert list(segments.columns) == [
        "cluster",
        "persona",
        "description",
        "action",
        "channel",
        "timing",
        "customers",
        "share",
        "recency_days_mean",
        "frequency_mean",
        "monetary_mean",
        "revenue",
        "revenue_share",
    ]
    counts = customers.groupby("cluster").size()
    assert segments.set_index("cluster")["customers"].to_dict() == counts.to_dict()
    assert segments["persona"].is_unique
    assert (
        abs(segments["share"].sum() - 1) < 1e-3 and abs(segments["revenue_share"].sum() - 1) < 1e-3
    )
    assert segments.loc[0, "persona"] == "Champions"
    monetary_mean = customers.groupby("cluster")["monetary"].mean().round(2)
    assert np.allclose(segments.set_index("cluster")["monetary_mean"], monetary_mean)

    k_table = pd.read_csv(outputs / "k_selection.csv")
    assert list(k_table.columns) == [
        "k",
        "inertia",
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "stability",
        "chosen",
    ]
    # Stability is measured where the auto rule chooses (the business range 3..8) only.
    inside = k_table["k"].between(3, 8)
    assert k_table.loc[inside, "stability"].between(-1, 1).all()
    assert k_table.loc[~inside, "stability"].isna().all()
    assert list(k_table["k"]) == list(range(2, 11))
    model = json.loads((outputs / "model.json").read_text())
    assert k_table.loc[k_table["chosen"], "k"].tolist() == [model["k"]] == [len(segments)]
    assert model["k_selection"]["reason"].startswith("Among k in the business range 3..8")


def test_data_quality_accounts_for_every_row(outputs: Path, synthetic: Path) -> None:
    quality = json.loads((outputs / "data_quality.json").read_text())
    raw = pd.read_parquet(synthetic)
    assert quality["rows_read"] == len(raw)
    assert quality["rows_kept"] + sum(quality["dropped"].values()) == len(raw)
    assert quality["dropped"]["missing_customer_id"] == int(raw["CustomerID"].isna().sum())
    assert quality["dropped"]["cancelled_invoice"] == int(
        (raw["CustomerID"].notna() & raw["InvoiceNo"].str.startswith("C")).sum()
    )
    assert quality["input"]["sha256"] and quality["input"]["format"] == "parquet"
    assert quality["customers"] == len(pd.read_csv(outputs / "customers.csv"))


def test_model_json_scores_customers_like_the_run(outputs: Path) -> None:
    model_record = json.loads((outputs / "model.json").read_text())
    model = SegmentModel.from_dict(model_record)
    customers = pd.read_csv(outputs / "customers.csv")
    predicted = model.predict(customers[model_record["features"]].to_numpy(dtype=float))
    assert (predicted == customers["cluster"].to_numpy()).all()
    assert [model.personas[c] for c in predicted] == customers["persona"].tolist()


def test_same_input_gives_byte_identical_outputs(
    outputs: Path, synthetic: Path, tmp_path: Path
) -> None:
    write_outputs(segment(synthetic, load_settings(None, {})), tmp_path)
    for name in OUTPUT_FILES:
        if name == "audiences":
            for file in (outputs / name).iterdir():
                assert (tmp_path / name / file.name).read_bytes() == file.read_bytes(), file
        elif name != "run_log.json":
            assert (tmp_path / name).read_bytes() == (outputs / name).read_bytes(), name


def test_failed_write_leaves_folder_as_it_was(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = segment(synthetic, load_settings(None, {"model": {"k": 3}}))
    (tmp_path / "segments.csv").write_text("previous run\n")
    (tmp_path / "run_log.json").write_text("{}\n")  # an earlier version's run

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(UserError, match="No space left on device"):
        write_outputs(result, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_log.json", "segments.csv"]
    assert (tmp_path / "segments.csv").read_text() == "previous run\n"


def test_fixed_k_and_too_large_k(synthetic: Path, tiny_csv: Path) -> None:
    result = segment(synthetic, load_settings(None, {"model": {"k": 11, "k_max": 6}}))
    assert result.model["k"] == 11 and len(result.segments) == 11
    # A fixed k is the only one scored: its scores explain it, the others would cost.
    assert result.k_table["k"].tolist() == [11]
    assert result.k_table["chosen"].tolist() == [True]
    with pytest.raises(
        UserError, match=r"only 3 customer\(s\) left|--k 3 is not smaller than the 3 customers"
    ):
        segment(tiny_csv, load_settings(None, {"model": {"k": 3}}))


def test_large_customer_counts_sweep_on_a_sample_then_refit(tmp_path: Path) -> None:
    from custseg.synth import write_synthetic

    path = tmp_path / "orders.parquet"
    write_synthetic(path, customers=3000, seed=1)
    full = segment(path, load_settings(None, {}))
    sampled = segment(
        path,
        load_settings(None, {"model": {"sweep_max_customers": 1000, "silhouette_max_exact": 500}}),
    )
    sel = sampled.model["k_selection"]
    assert sel["sweep_sample_size"] == 1000 and sel["silhouette_sample_size"] == 500
    assert "seeded sample of 1,000 of" in sel["sweep_note"]
    assert sampled.model["k"] == full.model["k"] == 4
    # Every customer is assigned by the refit on all of them; the well-separated latent
    # types give the same partition as the full sweep.
    assert len(sampled.customers) == len(full.customers)
    pd.testing.assert_series_equal(sampled.customers["persona"], full.customers["persona"])
    model = SegmentModel.from_dict(sampled.model)
    assert (
        model.predict(sampled.customers[["recency_days", "frequency", "monetary"]].to_numpy(float))
        == sampled.customers["cluster"].to_numpy()
    ).all()


def test_a_small_memory_limit_still_works(tmp_path: Path) -> None:
    from custseg.synth import write_synthetic

    path = tmp_path / "orders.parquet"
    write_synthetic(path, customers=25_000, seed=2)  # about 2M order lines
    settings = load_settings(
        None,
        {
            "engine": {
                "memory_limit": "64MB",
                "temp_directory": str(tmp_path / "spill"),
                "threads": 1,
            },
            "model": {"k": 4, "k_max": 4},
        },
    )
    limited = segment(path, settings)
    free = segment(path, load_settings(None, {"model": {"k": 4, "k_max": 4}}))
    assert limited.quality["rows_read"] > 1_500_000
    pd.testing.assert_frame_equal(limited.customers, free.customers)
    assert limited.quality == free.quality


def test_tiny_data_lowers_the_k_range_with_warnings(tmp_path: Path) -> None:
    # Five customers, one order each: frequency is constant, k can be at most 4.
    path = tmp_path / "five.csv"
    rows = [
        f"{i},c{i},2011-01-0{i} 10:00,1,{p}"
        for i, p in zip(range(1, 6), [2, 9, 40, 3, 77], strict=True)
    ]
    path.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + "\n".join(rows))
    result = segment(path, load_settings(None, {}))
    selection = result.model["k_selection"]
    assert list(result.k_table["k"]) == [2, 3, 4]
    assert selection["k_range"] == [2, 4]
    assert selection["warnings"] == [
        "Tiny data: k was scored up to 4 instead of 10 (--k-max) because there are only "
        "5 customers.",
        "frequency is 1 for every customer, so it cannot separate segments (it is scaled to 0 "
        "and ignored by K-Means).",
    ]
    assert set(result.customers["frequency"]) == {1}
    assert np.all(result.scaled[:, 1] == 0.0)
    assert "Tiny data: k was scored up to 4" in render_report(result)


def test_personas_stay_with_the_same_customers_across_seeds_when_k_is_stable(
    synthetic: Path,
) -> None:
    runs = [
        segment(synthetic, load_settings(None, {"model": {"k": 4, "k_max": 5, "seed": seed}}))
        for seed in (0, 1, 2)
    ]
    first = runs[0]
    stable = first.k_table.set_index("k").loc[4, "stability"]
    assert stable >= 0.9
    for other in runs[1:]:
        pd.testing.assert_series_equal(other.customers["persona"], first.customers["persona"])


def test_a_second_run_removes_its_old_audiences_and_keeps_the_users(
    synthetic: Path, tmp_path: Path
) -> None:
    write_outputs(
        segment(synthetic, load_settings(None, {"model": {"k": 4, "k_max": 4}})), tmp_path
    )
    four = {p.name for p in (tmp_path / "audiences").iterdir()}
    assert len(four) == 4
    (tmp_path / "audiences" / "my-list.csv").write_text("mine\n")  # the user's own file
    result = segment(synthetic, load_settings(None, {"model": {"k": 2, "k_max": 2}}))
    write_outputs(result, tmp_path)
    names = {p.name for p in (tmp_path / "audiences").iterdir()}
    assert len(names) == 3 and "my-list.csv" in names  # two audiences and the user's file
    assert (tmp_path / "audiences" / "my-list.csv").read_text() == "mine\n"
    assert not list(tmp_path.glob(".custseg-*-*"))  # no staging or set-aside folder left


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
    json.dumps(result.model.to_dict())  # still serialisable


@pytest.mark.parametrize("returns", ["drop", "net"])
def test_times_with_offsets_give_the_wall_clock_segments(
    synthetic: Path, tmp_path: Path, returns: str
) -> None:
    # The synthetic lines written as Berlin times with their offsets: read as instants with
    # the Berlin calendar, they are the same orders. Recency is elapsed days between
    # instants, so a customer whose last order was in summer time may be a day apart.
    frame = pd.read_parquet(synthetic)
    berlin = frame["InvoiceDate"].dt.tz_localize("Europe/Berlin", nonexistent="shift_forward")
    frame["InvoiceDate"] = berlin.dt.strftime("%Y-%m-%d %H:%M:%S%z")
    path = tmp_path / "berlin.csv"
    frame.to_csv(path, index=False)
    base = {"model": {"k": 3}, "cleaning": {"returns": returns}}
    wall = segment(synthetic, load_settings(None, base))
    aware = segment(path, load_settings(None, {**base, "columns": {"timezone": "Europe/Berlin"}}))
    assert aware.quality["input"]["timezone"] == "Europe/Berlin"
    assert aware.quality["rows_kept"] == wall.quality["rows_kept"]
    cols = ["customer_id", "frequency", "monetary", "persona"]
    pd.testing.assert_frame_equal(aware.customers[cols], wall.customers[cols])
    # The holdout's cut-off is 90 Berlin days before the as-of date (an hour apart in UTC
    # across the change from summer time); the same customers had bought before it.
    as_of = dt.datetime.fromisoformat(aware.quality["as_of"])
    assert as_of == dt.datetime.fromisoformat(wall.quality["as_of"]) - dt.timedelta(hours=1)
    cutoff = dt.datetime.fromisoformat(aware.model.holdout["cutoff"])
    assert cutoff == as_of - dt.timedelta(days=90, hours=1)
    assert sum(r["customers"] for r in aware.model.holdout["table"]) == sum(
        r["customers"] for r in wall.model.holdout["table"]
    )


def test_with_clv_adds_the_predictions_and_filters_audiences(
    synthetic: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app
    from custseg.predictions import RUN_COLUMNS

    out, clv_out = tmp_path / "run", tmp_path / "clv"
    config = tmp_path / "params.yml"
    config.write_text(
        "predictions:\n  audience_tiers: ['top 1%', '1-5%', '5-10%']\n  audience_max_churn: 0.5\n"
    )
    result = CliRunner().invoke(
        app, ["run", str(synthetic), "--with-clv", "--config", str(config), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    assert list(customers.columns[-len(RUN_COLUMNS) :]) == RUN_COLUMNS
    assert customers["expected_revenue"].notna().all()
    segments = pd.read_csv(out / "segments.csv")
    per = customers.groupby("persona")["expected_revenue"].sum()
    for row in segments.itertuples():
        assert row.expected_revenue == pytest.approx(per[row.persona])
    # The same predictions as custseg clv without --calibration-end.
    assert CliRunner().invoke(app, ["clv", str(synthetic), "--out", str(clv_out)]).exit_code == 0
    clv = pd.read_csv(clv_out / "clv.csv", dtype={"customer_id": str}).set_index("customer_id")
    mine = customers.set_index("customer_id").loc[clv.index]
    np.testing.assert_allclose(mine["clv"], clv["clv"], rtol=1e-9)
    assert (mine["value_tier"] == clv["value_tier"]).all()
    # Audience files keep the top 10% by value with a churn risk of at most 50%.
    audiences = pd.concat(pd.read_csv(p) for p in (out / "audiences").glob("*.csv"))
    top = customers[customers["value_tier"].isin(["top 1%", "1-5%", "5-10%"])]
    assert len(audiences) == int((top["churn_probability"] <= 0.5).sum()) > 0
    assert set(audiences["value_tier"]) <= {"top 1%", "1-5%", "5-10%"}
    report = (out / "report.html").read_text()
    assert "in the next 90 days; " in report


def test_an_unknown_value_tier_is_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "params.yml"
    config.write_text("predictions:\n  audience_tiers: ['top 2%']\n")
    with pytest.raises(UserError, match=r"unknown value tier\(s\) 'top 2%'; the tiers are top 1%"):
        load_settings(config, {})


def test_with_clv_on_four_days_skips_the_predictions_in_one_line(tmp_path: Path) -> None:
    # Too short to hold out a quarter of the days: the segments are written, the
    # predictions are skipped with the reason, and no library warning reaches stderr.
    import subprocess
    import sys

    rng = np.random.default_rng(4)
    rows = [
        f"{n},c{rng.integers(40)},2011-01-0{1 + n % 4} 10:00,{1 + n % 3},{2.5 + n % 7}"
        for n in range(400)
    ]
    path = tmp_path / "four_days.csv"
    path.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + "\n".join(rows))
    exe = Path(sys.executable).with_name("custseg")
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(exe), "run", str(path), "--with-clv", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    skipped = [line for line in proc.stderr.splitlines() if "clv      skipped" in line]
    assert len(skipped) == 1
    assert "The purchase days run from 2011-01-01 to 2011-01-04: too short" in skipped[0]
    assert "Warning:" not in proc.stderr and "RuntimeWarning" not in proc.stderr
    customers = pd.read_csv(out / "customers.csv")
    assert "clv" not in customers.columns and customers["customer_id"].nunique() == 40


def test_work_alongside_runs_while_the_holdout_is_checked(
    synthetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import custseg.commands.run as run_module
    from custseg.commands.run import fit_model
    from custseg.progress import StageTimer
    from custseg.session import Session

    settings = load_settings(None, {"model": {"k": 3}})
    with Session(synthetic, settings) as session:
        alone = fit_model(session, settings, StageTimer())
    # A handshake: the check waits for the work alongside, which waits for the check; each
    # side goes on only if both run at the same time.
    checking, alongside_running = threading.Event(), threading.Event()
    check = run_module.holdout_check

    def waiting_check(*args: object, **kwargs: object) -> dict[str, object]:
        checking.set()
        assert alongside_running.wait(timeout=30), "the work alongside did not run meanwhile"
        return check(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(run_module, "holdout_check", waiting_check)
    seen: list[int] = []

    def alongside(fit: object) -> None:
        alongside_running.set()
        assert checking.wait(timeout=30), "the holdout was not being checked meanwhile"
        seen.append(fit.k)  # type: ignore[attr-defined]

    timer = StageTimer()
    with Session(synthetic, settings) as session:
        fitted = fit_model(session, settings, timer, alongside=alongside)
    assert seen == [3]
    assert fitted.holdout == alone.holdout and fitted.holdout["table"]
    assert timer.timings["holdout"] > 0

    # Work alongside that fails: its error goes on once the check has finished.
    finished = threading.Event()

    def finishing_check(*args: object, **kwargs: object) -> dict[str, object]:
        out = check(*args, **kwargs)  # type: ignore[arg-type]
        finished.set()
        return out

    def failing(fit: object) -> None:
        raise RuntimeError("cohorts failed")

    monkeypatch.setattr(run_module, "holdout_check", finishing_check)
    with Session(synthetic, settings) as session, pytest.raises(RuntimeError, match="cohorts"):
        fit_model(session, settings, StageTimer(), alongside=failing)
    assert finished.is_set()


def test_a_stage_timed_elsewhere_is_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from custseg.progress import StageTimer

    timer = StageTimer()
    with caplog.at_level(logging.INFO, logger="custseg"):
        timer.record("holdout", 0.25, ["first.", "second."])
        timer.record("holdout", 0.5, [])
    assert timer.timings == {"holdout": 0.75}
    assert [r.getMessage() for r in caplog.records] == [
        "holdout  first; second. (0.25 s)",
        "holdout  done (0.50 s)",
    ]


def test_with_clv_says_when_the_data_is_shorter_than_the_horizon(
    synthetic: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    out = tmp_path / "run"
    config = tmp_path / "params.yml"
    config.write_text("predictions:\n  horizon_days: 400\n")  # the data spans about a year
    result = CliRunner().invoke(
        app, ["run", str(synthetic), "--with-clv", "--config", str(config), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "The models learn from" in line]
    assert len(said) == 1 and said[0].startswith("warning  The models learn from "), said
    assert "day(s) of purchases" in said[0] and "to predict 400:" in said[0]
