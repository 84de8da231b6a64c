from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from custseg.config import load_settings
from custseg.errors import UserError
from custseg.pipeline import segment
from custseg.synth import LATENT_TYPES, generate_orders, truth_path, write_synthetic
from tests.io import ONLINE_RETAIL


def test_default_synthetic_data_is_recovered(tmp_path: Path) -> None:
    out = tmp_path / "orders.parquet"
    write_synthetic(out, customers=4000, seed=0)
    result = segment(out, load_settings(None, {}))
    truth = pd.read_csv(truth_path(out), dtype=str)
    merged = result.customers.merge(truth, on="customer_id", how="inner")
    assert len(merged) == len(result.customers)
    assert adjusted_rand_score(merged["segment"], merged["cluster"]) >= 0.8
    assert result.model["k"] == len(LATENT_TYPES)


def test_lines_have_the_online_retail_layout_and_noise() -> None:
    lines, truth = generate_orders(500, seed=1)
    assert list(lines.columns) == ONLINE_RETAIL
    assert lines["CustomerID"].isna().sum() > 0
    assert lines["InvoiceNo"].str.startswith("C").sum() > 0
    assert ((lines["Quantity"] < 0) & ~lines["InvoiceNo"].str.startswith("C")).sum() > 0
    assert (lines["UnitPrice"] == 0).sum() > 0
    assert sorted(truth["segment"].unique()) == sorted(t.name for t in LATENT_TYPES)
    assert len(truth) == 500 and truth["customer_id"].is_unique


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv.gz"
    write_synthetic(a, customers=50, seed=4)
    write_synthetic(b, customers=50, seed=4)
    assert pd.read_csv(a).equals(pd.read_csv(b))
    assert truth_path(b) == tmp_path / "b_truth.csv"
    assert truth_path(a).read_bytes() == truth_path(b).read_bytes()


def test_bad_extension() -> None:
    with pytest.raises(UserError, match=r"use a \.parquet, \.csv or \.csv\.gz"):
        write_synthetic(Path("x.xlsx"), customers=20)


def test_only_an_earlier_synth_pair_is_replaced(tmp_path: Path) -> None:
    # A user's own export has the same header as synth's lines: the truth file beside them
    # is what marks the pair as custseg's.
    mine = tmp_path / "orders.csv"
    mine.write_text("InvoiceNo,StockCode\n1,A\n")
    with pytest.raises(
        UserError, match=r"orders.csv exists and is not marked as a synthetic order file"
    ):
        write_synthetic(mine, customers=20)
    assert mine.read_text() == "InvoiceNo,StockCode\n1,A\n"
    notes = tmp_path / "new_truth.csv"
    notes.write_text("my notes\n")
    with pytest.raises(UserError, match=r"new_truth.csv exists and is not marked as a truth file"):
        write_synthetic(tmp_path / "new.csv", customers=20)
    assert notes.read_text() == "my notes\n" and not (tmp_path / "new.csv").exists()
    folder = tmp_path / "d.parquet"
    folder.mkdir()
    with pytest.raises(UserError, match=r"d.parquet is a folder"):
        write_synthetic(folder, customers=20)
    # Its own pair, written again with other settings: replaced.
    ours = tmp_path / "s.parquet"
    write_synthetic(ours, customers=20, seed=1)
    write_synthetic(ours, customers=30, seed=2)
    assert pd.read_csv(truth_path(ours)).shape[0] == 30
    # x.csv and x.parquet share x_truth.csv: the truth file no longer says which one is
    # custseg's. A user's Parquet file beside a synth CSV stays; a marked one is replaced.
    write_synthetic(tmp_path / "x.csv", customers=20)
    user = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(user)
    before = user.read_bytes()
    with pytest.raises(UserError, match=r"^--out \S+x.parquet exists and is not marked as a"):
        write_synthetic(user, customers=20)
    assert user.read_bytes() == before
    user.unlink()
    write_synthetic(user, customers=20, option="target")  # marked in its schema metadata
    write_synthetic(user, customers=30, option="target")
    assert pd.read_csv(truth_path(user)).shape[0] == 30
