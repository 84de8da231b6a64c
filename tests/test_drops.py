"""The guard against mass drops, by hand."""

from __future__ import annotations

from custseg.cleaning import RULES
from custseg.drops import GUARDED, large_drop, large_drop_sentence
from custseg.io.columns import ColumnMapping

ORDER = [r.reason for r in RULES]


def test_a_rule_is_judged_on_the_rows_that_reach_it() -> None:
    # 100 rows: 40 without an id (40% of 100), then 31 cancelled of the 60 left (52%).
    assert large_drop({"missing_customer_id": 40, "cancelled_invoice": 31}, ORDER, 100) == (
        "cancelled_invoice",
        31,
        60,
    )
    # Exactly half is not more than half.
    assert large_drop({"missing_customer_id": 40, "cancelled_invoice": 30}, ORDER, 100) is None
    # The first rule over half is named, not the largest.
    assert large_drop({"missing_customer_id": 60, "invalid_date": 39}, ORDER, 100) == (
        "missing_customer_id",
        60,
        100,
    )
    # Choices, not misreadings: the as-of date, duplicates, netted customers.
    for reason in ("after_as_of", "duplicate_row", "net_non_positive_customer"):
        assert reason not in GUARDED
        assert large_drop({reason: 90}, ORDER, 100) is None
    assert set(GUARDED) < set(ORDER)


def test_the_sentence_names_rule_counts_values_and_options() -> None:
    mapping = ColumnMapping(
        customer="Customer ID", invoice="Order ID", date="Order Date", quantity="Qty", price=None,
        amount="Sales",
    )  # fmt: skip
    rows = [{"Order ID": "CA-1"}, {"Order ID": "CA-1"}, {"Order ID": "CA-2"}]
    assert large_drop_sentence("s.csv", mapping, "cancelled_invoice", 31, 60, rows) == (
        "s.csv: the rule cancelled_invoice drops 31 of the 60 rows that reach it (52%); e.g. "
        "Order ID 'CA-1' and 'CA-2'. The data may be read wrong: --cancelled-pattern sets the "
        "convention, --keep-cancelled keeps them; --allow-large-drops goes on as it is."
    )
    # With amounts, the price rule shows the amount; an empty id is said as such.
    rows = [{"Sales": "-4"}]
    assert "e.g. Sales '-4'." in large_drop_sentence("s", mapping, "non_positive_price", 3, 4, rows)
    rows = [{"Customer ID": None}, {"Customer ID": ""}]
    assert "e.g. Customer ID empty." in large_drop_sentence(
        "s", mapping, "missing_customer_id", 3, 4, rows
    )
