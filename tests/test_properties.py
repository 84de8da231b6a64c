"""Property-based checks of cleaning and RFM on random small order tables (hypothesis)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.config import Settings
from custseg.session import Session

START = dt.datetime(2011, 1, 1)

line = st.fixed_dictionaries(
    {
        "InvoiceNo": st.sampled_from(["1", "2", "3", "4", "C5", "C6", "7", ""]),
        "CustomerID": st.one_of(st.none(), st.sampled_from([10.0, 11.0, 12.0, 13.0])),
        "InvoiceDate": st.integers(0, 60 * 24 * 30).map(lambda m: START + dt.timedelta(minutes=m)),
        "Quantity": st.integers(-3, 12),
        "UnitPrice": st.sampled_from([0.0, 0.5, 1.25, 2.0, 9.99, -1.0]),
    }
)


def _run(frame: pd.DataFrame) -> tuple[object, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.parquet"
        frame.to_parquet(path, index=False)
        with Session(path, Settings()) as session:
            try:
                cleaned = session.cleaning()
            except Exception as exc:  # only the documented "0 valid purchases" error is allowed
                assert "0 valid purchases" in str(exc)
                return None, pd.DataFrame()
            return cleaned, session.rfm()


@settings(max_examples=60, deadline=None)
@given(st.lists(line, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_counts_rfm_and_order_invariance(rows: list[dict[str, object]], rnd: object) -> None:
    frame = pd.DataFrame(rows)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    cleaned, table = _run(frame)
    if cleaned is None:
        return
    assert cleaned.rows_kept + sum(cleaned.dropped.values()) == cleaned.rows_read == len(frame)  # type: ignore[attr-defined]
    # The same rules by hand: what survives them, per customer.
    keep = (
        frame["CustomerID"].notna()
        & ~frame["InvoiceNo"].str.startswith("C")
        & (frame["Quantity"] > 0)
        & (frame["UnitPrice"] > 0)
    )
    kept = frame[keep]
    assert cleaned.rows_kept == len(kept)  # type: ignore[attr-defined]
    assert (table["recency_days"] >= 0).all()
    per_customer = kept.assign(amount=kept["Quantity"] * kept["UnitPrice"]).groupby(
        kept["CustomerID"].astype(int).astype(str)
    )
    assert sorted(table["customer_id"]) == sorted(per_customer.groups)
    indexed = table.set_index("customer_id")
    for cid, group in per_customer:
        assert indexed.loc[cid, "frequency"] <= len(group)
        assert indexed.loc[cid, "frequency"] == group["InvoiceNo"].replace("", np.nan).nunique()
        assert abs(indexed.loc[cid, "monetary"] - group["amount"].sum()) < 1e-9
    shuffled = frame.sample(frac=1.0, random_state=rnd.randint(0, 2**31))  # type: ignore[attr-defined]
    _, again = _run(shuffled.reset_index(drop=True))
    pd.testing.assert_frame_equal(again, table)
