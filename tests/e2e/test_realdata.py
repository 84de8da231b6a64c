"""The canonical figures of the UCI Online Retail data (../shared/data/README.md)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.config import load_settings
from custseg.pipeline import segment

pytestmark = pytest.mark.realdata

CANONICAL_DROPPED = {
    "missing_customer_id": 135_080,
    "suppressed": 0,
    "cancelled_invoice": 8_905,
    "cancelled_order": 0,
    "other_currency": 0,
    "non_product": 0,
    "non_positive_quantity": 0,
    "non_positive_price": 40,
    "invalid_date": 0,
    "invalid_quantity": 0,
    "invalid_price": 0,
    "invalid_amount": 0,
    "after_as_of": 0,
    "duplicate_row": 0,
    "net_non_positive_customer": 0,
}


def _kept_lines(raw: pd.DataFrame) -> pd.DataFrame:
    """The canonical cleaning, written independently in pandas."""
    kept: pd.DataFrame = raw[
        raw["CustomerID"].notna()
        & ~raw["InvoiceNo"].astype(str).str.startswith("C")
        & (raw["Quantity"] > 0)
        & (raw["UnitPrice"] > 0)
    ]
    return kept


@pytest.fixture(scope="module")
def parquet_run(real_parquet: Path):
    return segment(real_parquet, load_settings(None, {}))


def _check_canonical(quality: dict) -> None:
    assert quality["rows_read"] == 541_909
    assert quality["rows_kept"] == 397_884
    assert quality["dropped"] == CANONICAL_DROPPED
    assert quality["customers"] == 4_338
    assert quality["orders"] == 18_532
    assert quality["revenue"] == 8_911_407.904
    assert quality["last_purchase"] == "2011-12-09T12:50:00"
    assert quality["as_of"] == "2011-12-10T12:50:00"


def test_canonical_figures_from_parquet(parquet_run) -> None:
    _check_canonical(parquet_run.quality)


def test_canonical_figures_from_the_workbook(real_xlsx: Path) -> None:
    result = segment(real_xlsx, load_settings(None, {}))
    _check_canonical(result.quality)
    assert result.quality["input"]["format"] == "xlsx"


def test_duplicates_when_asked(real_parquet: Path) -> None:
    result = segment(
        real_parquet,
        load_settings(None, {"cleaning": {"drop_duplicates": True}, "model": {"k": 4, "k_max": 4}}),
    )
    assert result.quality["dropped"]["duplicate_row"] == 5_192
    assert result.quality["rows_kept"] == 392_692


def test_rfm_equals_an_independent_pandas_computation(real_parquet: Path, parquet_run) -> None:
    raw = pd.read_parquet(real_parquet)
    kept = _kept_lines(raw).copy()
    as_of = kept["InvoiceDate"].max() + pd.Timedelta(days=1)
    kept["amount"] = kept["Quantity"] * kept["UnitPrice"]
    expected = kept.groupby("CustomerID").agg(
        last=("InvoiceDate", "max"), frequency=("InvoiceNo", "nunique"), monetary=("amount", "sum")
    )
    expected["recency_days"] = ((as_of - expected["last"]) // pd.Timedelta(days=1)).astype("int64")
    expected.index = expected.index.astype("int64").astype(str)
    ours = parquet_run.customers.set_index("customer_id")
    assert list(ours.index) == list(expected.index)
    assert (ours["recency_days"] == expected["recency_days"]).all()
    assert (ours["frequency"] == expected["frequency"]).all()
    np.testing.assert_allclose(ours["monetary"], expected["monetary"], rtol=1e-9, atol=1e-6)
    # Calendar-day counting would differ for 2,269 customers: the floor matters.
    calendar = (as_of.normalize() - expected["last"].dt.normalize()).dt.days
    assert int((calendar != expected["recency_days"]).sum()) == 2_269


def test_k_table_matches_the_known_scores(parquet_run) -> None:
    k2 = parquet_run.k_table.set_index("k").loc[2]
    assert round(k2["silhouette"], 3) == 0.433
    assert round(k2["davies_bouldin"], 3) == 0.892
    chosen = parquet_run.k_table.loc[parquet_run.k_table["chosen"], "k"].tolist()
    assert len(chosen) == 1 and 3 <= chosen[0] <= 8
    assert parquet_run.segments.loc[0, "persona"] == "Champions"


def test_personas_unchanged_when_rows_are_shuffled(
    real_parquet: Path, parquet_run, tmp_path: Path
) -> None:
    raw = pd.read_parquet(real_parquet)
    shuffled = tmp_path / "shuffled.parquet"
    raw.sample(frac=1.0, random_state=7).to_parquet(shuffled, index=False)
    again = segment(shuffled, load_settings(None, {}))
    pd.testing.assert_frame_equal(again.customers, parquet_run.customers)
    pd.testing.assert_frame_equal(again.segments, parquet_run.segments)


def test_returns_netted_equal_an_independent_pandas_computation(real_parquet: Path) -> None:
    result = segment(
        real_parquet,
        load_settings(None, {"cleaning": {"returns": "net"}, "model": {"k": 4, "k_max": 4}}),
    )
    raw = pd.read_parquet(real_parquet)
    lines = raw[raw["CustomerID"].notna() & (raw["UnitPrice"] > 0) & (raw["Quantity"] != 0)].copy()
    lines["is_return"] = lines["InvoiceNo"].astype(str).str.startswith("C") | (
        lines["Quantity"] < 0
    )
    amount = (lines["Quantity"] * lines["UnitPrice"]).abs()
    lines["value"] = amount.where(~lines["is_return"], -amount)
    per = lines.groupby("CustomerID").agg(
        net=("value", "sum"), purchases=("is_return", lambda r: int((~r).sum()))
    )
    keep = per.index[(per["net"] > 1e-9) & (per["purchases"] > 0)]
    kept = lines[lines["CustomerID"].isin(keep)]
    bought = kept[~kept["is_return"]]
    as_of = bought["InvoiceDate"].max() + pd.Timedelta(days=1)
    expected = bought.groupby("CustomerID").agg(
        last=("InvoiceDate", "max"), frequency=("InvoiceNo", "nunique")
    )
    expected["monetary"] = kept.groupby("CustomerID")["value"].sum()
    expected["recency_days"] = ((as_of - expected["last"]) // pd.Timedelta(days=1)).astype("int64")
    expected.index = expected.index.astype("int64").astype(str)

    quality = result.quality
    assert quality["rows_kept"] == len(kept) == 406_197
    assert quality["dropped"]["cancelled_invoice"] == 0
    assert quality["dropped"]["net_non_positive_customer"] == len(lines) - len(kept) == 592
    assert quality["rows_kept"] + sum(quality["dropped"].values()) == 541_909
    assert quality["returns"]["customers_dropped"] == len(per) - len(keep) == 54
    returns = kept[kept["is_return"]]
    assert quality["returns"]["return_lines"] == len(returns) == 8_566
    assert quality["returns"]["return_value"] == pytest.approx(-returns["value"].sum(), abs=1e-6)
    assert quality["revenue"] == pytest.approx(kept["value"].sum(), abs=1e-6)
    ours = result.customers.set_index("customer_id")
    assert list(ours.index) == list(expected.index)
    assert (ours["recency_days"] == expected["recency_days"]).all()
    assert (ours["frequency"] == expected["frequency"]).all()
    np.testing.assert_allclose(ours["monetary"], expected["monetary"], rtol=1e-9, atol=1e-6)


def test_rfm_scores_equal_an_independent_count(parquet_run) -> None:
    customers = parquet_run.customers
    n = len(customers)
    for column, score, sign in [
        ("recency_days", "r_score", -1),
        ("frequency", "f_score", 1),
        ("monetary", "m_score", 1),
    ]:
        values = np.sort(sign * customers[column].to_numpy(dtype=float))
        below = np.searchsorted(values, sign * customers[column].to_numpy(dtype=float), "left")
        expected = 1 + (5 * below) // n
        assert (customers[score].to_numpy() == expected).all(), column
    assert customers["rfm_segment"].notna().all()
    assert customers.loc[customers["rfm_code"] == "555", "rfm_segment"].eq("Champions").all()


def test_persona_names_describe_segments_not_every_customer(parquet_run) -> None:
    """The figures of docs/segments.md: the medians fit the names, the edges do not."""
    customers = parquet_run.customers
    sizes = customers["persona"].value_counts().to_dict()
    assert sizes == {"Hibernating": 1_900, "Need Attention": 1_688, "Champions": 750}
    medians = customers.groupby("persona")[["recency_days", "frequency"]].median()
    assert medians.loc[["Champions", "Need Attention", "Hibernating"]].values.tolist() == [
        [9, 10],
        [30, 3],
        [157, 1],
    ]
    hibernating = customers[customers["persona"] == "Hibernating"]
    champions = customers[customers["persona"] == "Champions"]
    assert int((hibernating["recency_days"] <= 30).sum()) == 144
    assert int((champions["recency_days"] > 90).sum()) == 11
    row = customers.set_index("customer_id").loc["17850"]
    assert (row["recency_days"], row["frequency"], row["monetary"]) == (372, 34, 5391.21)
    assert (row["persona"], row["rfm_segment"]) == ("Champions", "Can't Lose Them")


def test_stable_k_keeps_personas_across_seeds(real_parquet: Path, parquet_run) -> None:
    k = int(parquet_run.model["k"])
    table = parquet_run.k_table.set_index("k")
    assert table.loc[k, "stability"] >= 0.9  # the auto rule picked a stable k
    again = segment(real_parquet, load_settings(None, {"model": {"seed": 7}}))
    assert again.model["k"] == k
    same = (again.customers["persona"] == parquet_run.customers["persona"]).mean()
    assert same >= 0.98, same
    assert set(again.segments["persona"]) == set(parquet_run.segments["persona"])


def test_holdout_check_equals_an_independent_count(real_parquet: Path, parquet_run) -> None:
    holdout = parquet_run.model["holdout"]
    assert holdout["cutoff"] == "2011-09-11T12:50:00" and holdout["days"] == 90
    table = pd.DataFrame(holdout["table"]).set_index("persona")
    # Champions buy again far more than the last persona: the names mean something.
    assert table["bought_again"].iloc[0] > 2 * table["bought_again"].iloc[-1]
    raw = pd.read_parquet(real_parquet)
    kept = _kept_lines(raw)
    cutoff = pd.Timestamp(holdout["cutoff"])
    earlier = set(kept.loc[kept["InvoiceDate"] < cutoff, "CustomerID"])
    later = set(kept.loc[kept["InvoiceDate"] >= cutoff, "CustomerID"])
    assert int(table["customers"].sum()) == len(earlier)
    returning = len(earlier & later)
    expected = (table["bought_again"] * table["customers"]).sum()
    assert abs(expected - returning) < 1.0  # shares are rounded to 4 decimals
