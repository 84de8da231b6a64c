"""Which column holds each field."""

import pytest

from custseg.config import ColumnsConfig
from custseg.errors import UserError
from custseg.io import ColumnMapping, resolve_columns
from tests.io import ONLINE_RETAIL, ONLINE_RETAIL_II


def test_resolves_online_retail_names() -> None:
    assert resolve_columns(ONLINE_RETAIL, ColumnsConfig(), "f") == ColumnMapping(
        customer="CustomerID",
        date="InvoiceDate",
        invoice="InvoiceNo",
        quantity="Quantity",
        price="UnitPrice",
        layout="online-retail",
        cancelled_pattern="C[0-9]+",
        product="StockCode",
    )


def test_resolves_online_retail_ii_names() -> None:
    assert resolve_columns(ONLINE_RETAIL_II, ColumnsConfig(), "f") == ColumnMapping(
        customer="Customer ID",
        date="InvoiceDate",
        invoice="Invoice",
        quantity="Quantity",
        price="Price",
        layout="online-retail-ii",
        cancelled_pattern="C[0-9]+",
        product="StockCode",
    )


def test_resolves_plain_order_table_with_amount() -> None:
    mapping = resolve_columns(["customer_id", "order_date", "amount"], ColumnsConfig(), "f")
    assert mapping == ColumnMapping(
        customer="customer_id", date="order_date", amount="amount", layout="orders"
    )
    # With --layout none the columns are the same; no layout is named.
    named = resolve_columns(
        ["customer_id", "order_date", "amount"], ColumnsConfig(layout="none"), "f"
    )
    assert named.layout == "none" and named.cancelled_pattern is None


def test_messy_headers_match_ignoring_case_spaces_and_bom() -> None:
    cols = ["\ufeffinvoice no", " Quantity ", "INVOICE_DATE", "unit price", "customer id"]
    mapping = resolve_columns(cols, ColumnsConfig(), "f")
    assert (mapping.invoice, mapping.customer, mapping.price) == (
        "\ufeffinvoice no",
        "customer id",
        "unit price",
    )


def test_explicit_column_missing_names_it_and_suggests() -> None:
    with pytest.raises(UserError) as err:
        resolve_columns(ONLINE_RETAIL, ColumnsConfig(customer="CustomerId2"), "orders.csv")
    msg = str(err.value)
    assert "'CustomerId2' (--customer-col) not found" in msg
    assert "Did you mean 'CustomerID'?" in msg and "orders.csv" in msg


def test_missing_money_columns_say_what_to_do() -> None:
    with pytest.raises(UserError, match=r"no price column found.*--amount-col"):
        resolve_columns(["CustomerID", "InvoiceDate", "Quantity"], ColumnsConfig(), "f")
    with pytest.raises(UserError, match=r"no customer column found.*--customer-col"):
        resolve_columns(["InvoiceDate", "amount"], ColumnsConfig(), "f")


def test_undetected_column_with_a_near_miss_is_suggested() -> None:
    with pytest.raises(
        UserError,
        match=r"no customer column found among .*--customer-col\. Did you mean 'Customr ID'\?",
    ):
        resolve_columns(
            ["Invoice", "Customr ID", "InvoiceDate", "Price", "Quantity"], ColumnsConfig(), "f"
        )
    with pytest.raises(UserError) as err:
        resolve_columns(["when", "amount"], ColumnsConfig(), "f")
    assert "Did you mean" not in str(err.value)


def test_a_second_column_with_a_known_name_is_said(caplog: pytest.LogCaptureFixture) -> None:
    columns = ["customer", "customer_id", "Date", "OrderDate", "amount"]
    with caplog.at_level("WARNING", logger="custseg"):
        mapping = resolve_columns(columns, ColumnsConfig(), "amb.csv")
    assert (mapping.customer, mapping.date) == ("customer_id", "OrderDate")
    notes = [r.getMessage() for r in caplog.records]
    assert notes == [
        "note     amb.csv: the customer column is 'customer_id' (a known name); 'customer' has "
        "a known name too: name the one to use with --customer-col",
        "note     amb.csv: the date column is 'OrderDate' (a known name); 'Date' has a known "
        "name too: name the one to use with --date-col",
    ]
    # Named, or with one column per field (the real workbooks), nothing is said.
    caplog.clear()
    with caplog.at_level("WARNING", logger="custseg"):
        resolve_columns(columns, ColumnsConfig(customer="customer", date="Date"), "amb.csv")
        resolve_columns(ONLINE_RETAIL, ColumnsConfig(), "f")
        resolve_columns(ONLINE_RETAIL_II, ColumnsConfig(), "f")
    assert caplog.records == []
