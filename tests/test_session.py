"""The session: one scan of the input, every table derived from it, by hand and by property.

The property-based checks (hypothesis) compare the session with an independent pandas
computation on random small order tables: counts, RFM as of any date, and the net rule.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.config import Settings
from custseg.errors import UserError
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
        # The counts are what is tested: no rule stops the run, however much it drops.
        with Session(path, Settings(cleaning={"allow_large_drops": True})) as session:
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


def _by_hand(frame: pd.DataFrame, as_of: dt.datetime | None, net: bool) -> pd.DataFrame:
    """RFM per customer, written independently in pandas, as of a date (the rules' text)."""
    frame = frame[frame["InvoiceDate"] < as_of] if as_of is not None else frame
    known = frame[frame["CustomerID"].notna()]
    returned = known["InvoiceNo"].str.startswith("C") | (known["Quantity"] < 0)
    amount = known["Quantity"] * known["UnitPrice"]
    if net:
        # Cancellations and negative quantities are returns (their value subtracted);
        # quantity 0 and price <= 0 lines are dropped.
        keep = (known["Quantity"] != 0) & (known["UnitPrice"] > 0)
        value = amount.where(~returned, -amount.abs())
    else:
        keep = ~returned & (known["Quantity"] > 0) & (known["UnitPrice"] > 0)
        value = amount
    lines = known[keep].assign(value=value[keep], ret=returned[keep])
    per = lines.groupby(lines["CustomerID"].astype(int).astype(str))
    spend = per["value"].sum()
    buys = per["ret"].apply(lambda r: int((~r).sum()))
    good = spend[(spend > 1e-9) & (buys > 0)].index
    lines = lines[lines["CustomerID"].astype(int).astype(str).isin(good)]
    purchases = lines[~lines["ret"]]
    end = as_of or purchases["InvoiceDate"].max() + dt.timedelta(days=1)
    out = pd.DataFrame(
        {
            "recency_days": purchases.groupby(purchases["CustomerID"].astype(int).astype(str))[
                "InvoiceDate"
            ]
            .max()
            .map(lambda t: (end - t).days),
            "frequency": purchases.groupby(purchases["CustomerID"].astype(int).astype(str))[
                "InvoiceNo"
            ].apply(lambda s: s.replace("", np.nan).nunique()),
            "monetary": lines.groupby(lines["CustomerID"].astype(int).astype(str))["value"].sum(),
        }
    )
    return out.sort_index(key=lambda ids: ids.astype(int))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(line, min_size=2, max_size=40),
    st.integers(0, 60 * 24 * 30),
    st.booleans(),
)
def test_any_as_of_and_the_net_rule_from_one_scan(
    rows: list[dict[str, object]], minutes: int, net: bool
) -> None:
    frame = pd.DataFrame(rows)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    as_of = START + dt.timedelta(minutes=minutes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.parquet"
        frame.to_parquet(path, index=False)
        cleaning = {"returns": "net" if net else "drop", "allow_large_drops": True}
        with Session(path, Settings(cleaning=cleaning)) as session:
            for when in (as_of, None):
                expected = _by_hand(frame, when, net)
                try:
                    got = session.rfm(when)
                except Exception as exc:  # nothing kept as of that date (two sentences)
                    said = str(exc)
                    assert "0 valid purchases" in said or "no purchase comes before it" in said
                    assert expected.empty
                    continue
                got = got.set_index("customer_id")
                assert list(got.index) == list(expected.index)
                assert got["recency_days"].tolist() == expected["recency_days"].tolist()
                assert got["frequency"].tolist() == expected["frequency"].tolist()
                assert np.allclose(got["monetary"], expected["monetary"], atol=1e-9)
            # Every snapshot came from the one scan.
            assert session.scans == 1


def test_every_table_comes_from_one_scan(synthetic: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="custseg")
    with Session(synthetic, Settings()) as session:
        cleaned = session.cleaning()
        first = session.rfm()
        cutoff = cleaned.as_of - dt.timedelta(days=90)
        with_cut = session.rfm(cutoff=cutoff)
        earlier = session.rfm(cutoff)
        # The second snapshot's cleaning line says what it is.
        assert f"(another snapshot, as of {cutoff:%Y-%m-%d %H:%M})" in caplog.text
        days = session.daily()
        cohorts, _ = session.cohorts()
        assert session.scans == 1
        # The cut-off columns of the same query equal the RFM as of the cut-off.
        before = with_cut.loc[with_cut["cut_frequency"] > 0]
        assert before["customer_id"].tolist() == earlier["customer_id"].tolist()
        assert before["cut_frequency"].astype(int).tolist() == earlier["frequency"].tolist()
        assert np.allclose(before["cut_monetary"], earlier["monetary"])
        # Each table is computed once: asking again returns the same values.
        pd.testing.assert_frame_equal(session.rfm(), first)
        assert (
            days.groupby("customer_id")["spend"]
            .sum()
            .round(6)
            .sort_index()
            .equals(first.set_index("customer_id")["monetary"].round(6).sort_index())
        )
        assert int(cohorts.loc[cohorts["month_index"] == 0, "cohort_size"].sum()) == len(first)
        session.release_lines()
        pd.testing.assert_frame_equal(session.rfm(), first)  # kept results stay
        with pytest.raises(RuntimeError, match="released"):
            session.rfm(cleaned.as_of - dt.timedelta(days=1))


def test_examples_of_invalid_rows_take_a_second_pass(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,7,2011-01-01 10:00:00,2,1.5\n2,7,2011-01-02 10:00:00,x,1.5\n",
        encoding="utf-8",
    )
    with Session(path, Settings()) as session:
        cleaned = session.cleaning()
        assert cleaned.dropped["invalid_quantity"] == 1
        assert cleaned.examples["invalid_quantity"][0]["Quantity"] == "x"
        assert session.scans == 2
        log = session.log_record(session.timer, 0.0)
        assert log.input_scans == 2 and "csv_sniff" in log.facts
        assert list(log.to_dict())[:5] == [
            "started_at", "seconds", "engine", "workbook_cache", "input_scans"
        ]  # fmt: skip


def test_a_damaged_file_is_one_sentence(tmp_path: Path, synthetic: Path) -> None:
    data = synthetic.read_bytes()
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(data[: len(data) // 2] + bytes(len(data) // 2) + data[-8:])
    with (
        pytest.raises(UserError, match=r"broken\.parquet: cannot be read"),
        Session(broken, Settings()) as session,
    ):
        session.cleaning()


def test_input_columns_named_like_custseg_own_change_nothing(tmp_path: Path) -> None:
    plain = pd.DataFrame(
        {
            "InvoiceNo": ["1", "1", "1", "2", "C3", "4"],
            "CustomerID": [7.0, 7.0, 8.0, 8.0, 7.0, 8.0],
            "InvoiceDate": pd.to_datetime(["2011-01-01 10:00"] * 3 + ["2011-01-05 09:00"] * 3),
            "Quantity": ["2", "2", "1", "x", "-1", "3"],
            "UnitPrice": [1.5, 1.5, 4.0, 2.0, 1.5, 0.5],
        }
    )
    # Columns that share names with custseg's own, holding text where it keeps numbers.
    clashing = plain.assign(
        cs_r="junk", cs_n="junk", cs_customer="junk", cs_src_0="junk", micro="junk", r="x"
    )
    dedupe = Settings.model_validate(
        {"cleaning": {"drop_duplicates": True, "allow_large_drops": True}}
    )
    results = []
    for name, frame in (("plain", plain), ("clashing", clashing)):
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        with Session(path, dedupe) as session:
            cleaned = session.cleaning()
            results.append((cleaned.dropped, cleaned.examples, session.rfm()))
    (dropped, examples, rfm), (dropped2, examples2, rfm2) = results
    assert dropped == dropped2
    assert dropped["duplicate_row"] == 1 and dropped["invalid_quantity"] == 1
    assert examples["invalid_quantity"] == examples2["invalid_quantity"]
    assert examples["invalid_quantity"][0]["Quantity"] == "x"
    pd.testing.assert_frame_equal(rfm, rfm2)
    assert rfm["monetary"].tolist() == [3.0, 5.5]


def test_a_query_custseg_got_wrong_is_not_blamed_on_the_file(synthetic: Path) -> None:
    import duckdb

    with Session(synthetic, Settings()) as session:
        session.cleaning()
        with pytest.raises(duckdb.BinderException):
            session._guard(lambda: session.engine.rows("SELECT no_such_column FROM range(1)"))


def test_copies_of_a_huge_line_do_not_overflow_the_exact_sums(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    # A return of 9e11 is valid (under 1e12); its 20 copies, all counted as returns, hold
    # 20 x 9e17 millionths, past 2**63.
    lines = ["C1,7,2011-01-01 10:00:00,-1,900000000000"] * 20 + ["2,7,2011-01-02 10:00:00,2,1.5"]
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    dedupe = Settings.model_validate(
        {"cleaning": {"drop_duplicates": True, "allow_large_drops": True}}
    )
    with Session(path, dedupe) as session:
        cleaned = session.cleaning()
        assert cleaned.dropped["cancelled_invoice"] == 20
        assert cleaned.returns["return_lines"] == 20
        assert cleaned.returns["return_value"] == 20 * 9e11
        assert session.rfm()["monetary"].tolist() == [3.0]


def test_the_rfm_without_cut_off_comes_from_the_table_with_it(synthetic: Path) -> None:
    with Session(synthetic, Settings()) as session:
        expected = session.rfm()
    with Session(synthetic, Settings()) as session:
        as_of = session.cleaning().as_of
        with_cut = session.rfm(cutoff=as_of - dt.timedelta(days=90))
        queries = session.engine.frame
        session.engine.frame = None  # type: ignore[method-assign,assignment]  # no new query
        pd.testing.assert_frame_equal(session.rfm(), expected)
        session.engine.frame = queries  # type: ignore[method-assign]
        assert [c for c in with_cut.columns if c.startswith("cut_")] == [
            "cut_recency_days", "cut_frequency", "cut_monetary"
        ]  # fmt: skip


def test_zero_amount_lines_are_purchase_days_only_when_asked(tiny_csv: Path) -> None:
    # Line 1007 (customer 3, 2011-01-08, price 0) is dropped as non_positive_price for every
    # table, and counted in the cleaning record; custseg clv's purchase days include it
    # with no spend.
    with Session(tiny_csv, Settings()) as session:
        assert session.cleaning().dropped["non_positive_price"] == 1
        plain = session.daily()
        free = session.daily(zero_amount=True)
        rfm = session.rfm()
    three = free[free["customer_id"] == "3"]
    assert three["day"].dt.strftime("%Y-%m-%d").tolist() == ["2011-01-08", "2011-01-09"]
    assert three["spend"].tolist() == [0.0, 16.0]
    assert len(plain) == len(free) - 1 and "2011-01-08" not in set(
        plain["day"].dt.strftime("%Y-%m-%d")
    )
    assert rfm.set_index("customer_id").loc["3", "frequency"] == 1  # one paid order


def test_orders_without_an_invoice_column_are_said_to_be_customer_and_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer,date,amount\n"
        "a,2011-01-01 10:00,5\na,2011-01-01 10:00,7\na,2011-01-02 09:00,3\nb,2011-01-03 08:00,4\n"
    )
    with Session(path, Settings()) as session:
        cleaned = session.cleaning()
        quality = session.quality_record(cleaned, cleaned.customers)
    assert cleaned.orders == 3  # a's two lines at 10:00 are one order
    assert quality.orders_counted_as.startswith("distinct (customer, timestamp) pairs")
    from types import SimpleNamespace

    from custseg.reporting import quality_notes

    model = SimpleNamespace(k_selection=SimpleNamespace(warnings=[]))
    assert any("no invoice column" in n for n in quality_notes(quality, model))  # type: ignore[arg-type]


def test_a_table_handed_out_can_be_changed_without_changing_the_sessions(synthetic: Path) -> None:
    """rfm() and daily() hand out shallow copies under pandas 3's copy-on-write, deep before."""
    from custseg.features import COPY_ON_WRITE

    assert COPY_ON_WRITE is (int(pd.__version__.split(".")[0]) >= 3)
    with Session(synthetic, Settings()) as session:
        rfm, days = session.rfm(), session.daily()
        want_rfm, want_days = rfm.copy(deep=True), days.copy(deep=True)
        rfm["persona"] = "x"
        rfm["monetary"] *= 2
        rfm.loc[0, "frequency"] = -1
        rfm.iloc[1, 0] = "changed"
        days.loc[0, "spend"] = -1.0
        days["customer_id"] = "y"
        pd.testing.assert_frame_equal(session.rfm(), want_rfm)
        pd.testing.assert_frame_equal(session.daily(), want_days)
