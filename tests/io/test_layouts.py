"""Export layouts: recognised by their header, each platform's conventions honoured.

Every expectation below is computed by hand from the fixtures in tests/io/exports.py.
"""

import datetime as dt
from pathlib import Path

import pytest

from custseg.config import CleaningConfig, ColumnsConfig, Settings
from custseg.errors import UserError
from custseg.io.layouts import choose_layout
from custseg.session import Session
from tests.io import ONLINE_RETAIL, ONLINE_RETAIL_II
from tests.io.exports import SHOPIFY, STRIPE, WOOCOMMERCE


def _session(tmp_path: Path, text: str, name: str, **settings: object) -> Session:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Session(path, Settings(**settings))  # type: ignore[arg-type]


def _rfm(session: Session) -> dict[str, tuple[int, int, float]]:
    frame = session.rfm().set_index("customer_id")
    return {
        str(c): (int(r.recency_days), int(r.frequency), round(float(r.monetary), 6))
        for c, r in frame.iterrows()
    }


def test_layouts_are_recognised_by_their_header() -> None:
    header = SHOPIFY.splitlines()[0].split(",")
    assert choose_layout(header, None, "f").name == "shopify"
    assert choose_layout(WOOCOMMERCE.splitlines()[0].split(","), None, "f").name == "woocommerce"
    assert choose_layout(STRIPE.splitlines()[0].split(","), None, "f").name == "stripe"
    assert choose_layout(ONLINE_RETAIL, None, "f").name == "online-retail"
    assert choose_layout(ONLINE_RETAIL_II, None, "f").name == "online-retail-ii"
    assert choose_layout(["Order ID", "Customer ID", "Order Date", "Sales"], None, "f").name == (
        "orders"
    )
    assert choose_layout(header, "none", "f").name == "none"
    with pytest.raises(
        UserError, match=r"--layout stripe needs the columns 'Created \(UTC\)', 'Amount'"
    ):
        choose_layout(header, "stripe", "f")


def test_shopify_export_read_without_flags(tmp_path: Path) -> None:
    session = _session(tmp_path, SHOPIFY, "orders_export.csv")
    cleaned = session.cleaning()
    assert session.input.mapping.layout == "shopify"
    assert cleaned.rows_read == 9
    assert cleaned.dropped["cancelled_order"] == 2  # #1003 voided, #1005 refunded in full
    assert cleaned.rows_kept == 7
    # Offsets are instants: the last is #1006 at 02:00 UTC on the 14th.
    assert cleaned.as_of == dt.datetime(2023, 3, 15, 2, 0)
    # #1001: lines 40, 25 (after its 5.00 discount) and 35; the order's other 10.00 spread
    # pro rata: 36 + 22.5 + 31.5 = 90. Bob: #1002 50 and #1004 80 (the partial refund stays
    # with --returns drop), last at 11:10 UTC on the 12th.
    assert _rfm(session) == {
        "alice@example.com": (4, 1, 90.0),
        "bob@example.com": (2, 2, 130.0),
        "carol@example.com": (1, 1, 15.0),
    }
    record = session.quality_record(session.cleaning(), 0)
    assert record.input.layout == "shopify" and record.input.currency == "USD"
    assert record.input.timezone == "UTC"
    assert record.input.mapping["customer"] == "Email"
    assert record.input.mapping["invoice"] == "Name"


def test_shopify_partial_refund_is_netted_only_with_returns_net(tmp_path: Path) -> None:
    session = _session(
        tmp_path, SHOPIFY, "orders_export.csv", cleaning=CleaningConfig(returns="net")
    )
    # #1004: 80 less its 20.00 refund = 60; #1003 and #1005 are still counted out.
    assert session.cleaning().dropped["cancelled_order"] == 2
    assert _rfm(session)["bob@example.com"] == (2, 2, 110.0)


def test_calendar_days_follow_the_timezone(tmp_path: Path) -> None:
    utc = _session(tmp_path, SHOPIFY, "a.csv").daily()
    la = _session(
        tmp_path, SHOPIFY, "b.csv", columns=ColumnsConfig(timezone="America/Los_Angeles")
    ).daily()

    def days(frame: object) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for row in frame.itertuples():  # type: ignore[attr-defined]
            out.setdefault(row.customer_id, []).append(f"{row.day:%Y-%m-%d}")
        return out

    # Carol's #1006, 02:00 UTC on the 14th, is the evening of the 13th in Los Angeles. Bob's
    # two orders, at 00:30 PST and 04:10 PDT (either side of the change), are one day.
    assert days(utc)["carol@example.com"] == ["2023-03-14"]
    assert days(la)["carol@example.com"] == ["2023-03-13"]
    assert days(la)["bob@example.com"] == ["2023-03-12"]
    assert la.set_index("customer_id").loc["bob@example.com", "spend"] == 130.0


def test_woocommerce_export_needs_one_currency(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"2 currencies: EUR \(6 lines\), USD \(1 line\).*EUR"):
        _session(tmp_path, WOOCOMMERCE, "woo.csv")
    session = _session(tmp_path, WOOCOMMERCE, "woo.csv", cleaning=CleaningConfig(currency="eur"))
    cleaned = session.cleaning()
    assert session.input.mapping.layout == "woocommerce"
    assert cleaned.dropped["cancelled_order"] == 2  # 102 refunded, 104 cancelled
    assert cleaned.dropped["other_currency"] == 1  # 105 in USD
    assert cleaned.rows_kept == 4
    # Item totals (before tax and shipping): 30 + 12.50; 103 at 60 (its 15.00 refund only
    # with --returns net). Times without offsets are wall-clock times.
    assert _rfm(session) == {
        "a@example.com": (28, 1, 42.5),
        "b@example.com": (1, 1, 60.0),
        "d@example.com": (4, 1, 8.0),
    }
    assert session.quality_record(session.cleaning(), 0).input.timezone is None
    net = _session(
        tmp_path,
        WOOCOMMERCE,
        "woo.csv",
        cleaning=CleaningConfig(currency="EUR", returns="net"),
    )
    assert _rfm(net)["b@example.com"] == (1, 1, 45.0)
    with pytest.raises(UserError, match=r"no line is in GBP \(--currency\); .* EUR, USD"):
        _session(tmp_path, WOOCOMMERCE, "woo.csv", cleaning=CleaningConfig(currency="GBP"))


def test_currency_without_a_currency_column_is_ignored_and_not_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "CustomerID,InvoiceNo,InvoiceDate,Quantity,UnitPrice\n1,10,2011-01-01 10:00,2,1.5\n"
    with caplog.at_level("WARNING", logger="custseg"):
        session = _session(tmp_path, text, "plain.csv", cleaning=CleaningConfig(currency="EUR"))
    assert "--currency is ignored: the input has no currency column" in caplog.text
    # The spend's currency is not known: the report must not say "spend in EUR".
    assert session.quality_record(session.cleaning(), 1).input.currency is None


def test_stripe_payments_export(tmp_path: Path) -> None:
    session = _session(tmp_path, STRIPE, "unified_payments.csv")
    cleaned = session.cleaning()
    assert session.input.mapping.layout == "stripe"
    assert cleaned.dropped["cancelled_order"] == 2  # ch_2 refunded in full, ch_4 failed
    # Created (UTC) is UTC: the as-of date is the last payment plus one day.
    assert cleaned.as_of == dt.datetime(2023, 5, 7, 9, 0)
    assert _rfm(session) == {
        "cus_A": (5, 1, 25.0),
        "cus_B": (2, 1, 30.0),
        "c@example.com": (1, 1, 12.0),  # no customer id: the email
    }
    assert session.quality_record(session.cleaning(), 0).input.currency == "USD"


def test_a_shopify_order_with_cancelled_at_alone_is_counted_out(tmp_path: Path) -> None:
    # #1006 is paid, but has a Cancelled at time: the layout's own column decides.
    text = SHOPIFY.replace(
        "2023-03-14 02:00:00 +0000,3,Card,5.00,CARD-1,0.00,,0.00,6",
        "2023-03-14 02:00:00 +0000,3,Card,5.00,CARD-1,0.00,2023-03-14 03:00:00 +0000,0.00,6",
    )
    session = _session(tmp_path, text, "orders_export.csv")
    cleaned = session.cleaning()
    assert cleaned.dropped["cancelled_order"] == 3  # #1003, #1005 and #1006
    assert "carol@example.com" not in _rfm(session)


def test_stripe_partial_refund_is_netted_only_with_returns_net(tmp_path: Path) -> None:
    session = _session(
        tmp_path, STRIPE, "unified_payments.csv", cleaning=CleaningConfig(returns="net")
    )
    # ch_3: 30.00 less its 10.00 refund; ch_2 (refunded in full) and ch_4 (failed) stay out.
    assert session.cleaning().dropped["cancelled_order"] == 2
    assert _rfm(session)["cus_B"] == (2, 1, 20.0)


def test_layout_none_reads_columns_by_name(tmp_path: Path) -> None:
    # Read as a plain table, Shopify's export has no customer column custseg knows.
    with pytest.raises(UserError, match=r"no customer column found"):
        _session(tmp_path, SHOPIFY, "s.csv", columns=ColumnsConfig(layout="none"))


def test_column_options_on_a_platform_export(tmp_path: Path) -> None:
    named = _session(
        tmp_path,
        SHOPIFY,
        "s.csv",
        columns=ColumnsConfig(customer="email", quantity="Lineitem quantity"),
    )
    assert named.input.mapping.as_dict()["customer"] == "Email"
    assert _rfm(named)["bob@example.com"] == (2, 2, 130.0)
    with pytest.raises(UserError, match=r"--amount-col does not apply to a Shopify orders export"):
        _session(tmp_path, SHOPIFY, "s.csv", columns=ColumnsConfig(amount="Total"))
    with pytest.raises(
        UserError, match=r"column 'Mail' \(--customer-col\) not found in the Shopify"
    ):
        _session(tmp_path, SHOPIFY, "s.csv", columns=ColumnsConfig(customer="Mail"))
