"""What commands share: audience files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from custseg.config import load_settings
from custseg.pipeline import segment, write_outputs


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


def test_a_churn_range_over_an_uninformative_p_alive_is_said() -> None:
    from custseg.commands.common import churn_filter_warning
    from custseg.config import PredictionsConfig

    churn = pd.Series([1e-9, 2e-4, 0.28, 0.6])
    at_risk = PredictionsConfig(audience_min_churn=0.5)
    assert churn_filter_warning(at_risk, False, churn) == (
        "the audiences keep churn_probability 0.5 to 1 (predictions.audience_min_churn/"
        "audience_max_churn), a risk this model cannot measure here (P(alive) is not "
        "informative): the range keeps 1 of 4 customers"
    )
    safe = PredictionsConfig(audience_max_churn=0.3)
    assert str(churn_filter_warning(safe, False, churn)).endswith("keeps 3 of 4 customers")
    # Not said: a model that tells active from lapsed, or the default range (no filter).
    assert churn_filter_warning(at_risk, True, churn) is None
    assert churn_filter_warning(PredictionsConfig(), False, churn) is None


@pytest.mark.realdata
@pytest.mark.slow
def test_an_at_risk_audience_on_the_real_data_is_said_to_keep_nobody(
    real_parquet: Path, tmp_path: Path
) -> None:
    # On the real data BG/NBD's dropout sits at its bound: P(alive) about 1 for everyone.
    from typer.testing import CliRunner

    from custseg.cli import app

    config = tmp_path / "p.yml"
    config.write_text("predictions:\n  audience_min_churn: 0.5\n")
    out = tmp_path / "clv"
    args = ["clv", str(real_parquet), "--config", str(config), "--out", str(out)]
    got = CliRunner().invoke(app, args)
    assert got.exit_code == 0, got.output
    said = " ".join(got.stderr.split())
    churn = pd.read_csv(out / "clv.csv")["churn_probability"]
    assert float(churn.max()) < 0.5  # nobody at risk by this model
    assert f"the range keeps 0 of {len(churn):,} customers" in said
    assert not list((out / "audiences").glob("*.csv"))  # what the warning said
