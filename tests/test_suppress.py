"""--suppress: customers who objected are dropped before any feature, counted, and nowhere else."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg.cli import app
from custseg.config import CleaningConfig, Settings
from custseg.session import Session
from custseg.sql import DUCKDB
from custseg.suppress import read_suppression, suppressed_sql
from tests.conftest import TINY_CSV
from tests.io.exports import SHOPIFY, STRIPE, WOOCOMMERCE

TINY_II = TINY_CSV.replace(
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
    "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country",
)
ORDERS = (
    "order_id,customer_id,order_date,total\n"
    "1,client-a,2024-01-02,10\n2,client-b,2024-01-03,5\n3,Client-B,2024-01-05,7\n"
    "4,client-c,2024-01-06,3\n"
)


LAYOUT_OF = {
    "tiny.csv": "online-retail",
    "online_retail_II.csv": "online-retail-ii",
    "orders.csv": "orders",
    "orders_export.csv": "shopify",
    "woo.csv": "woocommerce",
    "unified_payments.csv": "stripe",
}


def test_the_list_is_read_as_keys_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "objected.txt"
    path.write_text(
        "\ufeff12346\n# a comment\n\n  Ann@Example.COM ,Ann,UK\n12347.0\n"
        '9007199254740993\n"bo@x.org";Bo\n1_000\n'
    )
    found = read_suppression(path)
    assert found.texts == {
        "12346", "ann@example.com", "12347.0", "9007199254740993", "bo@x.org", "1_000"
    }  # fmt: skip
    assert found.integers == {12346, 12347, 9007199254740993}  # exact, beyond 2**53 too
    assert found.numbers == {12346.0, 12347.0, 9007199254740992.0}
    assert found.as_written() == found.texts | {"12347"}
    assert suppressed_sql("c", "DOUBLE", found, DUCKDB) == (
        "coalesce(CAST(c AS DOUBLE) IN (12346.0, 12347.0, 9007199254740992.0), false)"
    )
    assert suppressed_sql("c", "BIGINT", found, DUCKDB) == (
        "coalesce(CAST(c AS DECIMAL(38, 0)) IN (12346, 12347, 9007199254740993), false)"
    )
    assert suppressed_sql("c", "VARCHAR", found, DUCKDB).startswith(
        "coalesce(lower(CAST(c AS STRING)) IN ('12346', '12347.0', '1_000', "
    )
    assert suppressed_sql("c", "VARCHAR", None, DUCKDB) == "false"


def _suppressed(tmp_path: Path, text: str, name: str, keys: str, **extra: object) -> Session:
    data, listing = tmp_path / name, tmp_path / "objected.txt"
    data.write_text(text, encoding="utf-8")
    listing.write_text(keys)
    cleaning = CleaningConfig(suppress=str(listing), **extra)  # type: ignore[arg-type]
    return Session(data, Settings(cleaning=cleaning))


@pytest.mark.parametrize(
    ("text", "name", "keys", "lines", "gone", "left"),
    [
        # Online Retail: numeric ids; "1" and "3.0" name customers 1 and 3 (4 lines: 1001
        # twice and 1002 of customer 1 are kept lines, C1003 is also theirs: 4; 1006-1008 x2
        # of customer 3: 4 lines).
        (TINY_CSV, "tiny.csv", "1\n3.0\n", 8, {"1", "3"}, {"2"}),
        # Online Retail II: the same lines under its own column names.
        (TINY_II, "online_retail_II.csv", "4\n2\n", 2, {"2", "4"}, {"1", "3"}),
        # A plain order table (customer, order, date, total): text ids, any case.
        (ORDERS, "orders.csv", "CLIENT-B\n", 2, {"client-b"}, {"client-a", "client-c"}),
        # Shopify: the key is the email, whatever its case in the list.
        (
            SHOPIFY,
            "orders_export.csv",
            "BOB@example.com\n",
            3,
            {"bob@example.com"},
            {"alice@example.com", "carol@example.com"},
        ),
        # WooCommerce: the customer's email.
        (
            WOOCOMMERCE,
            "woo.csv",
            "a@example.com\n",
            3,
            {"a@example.com"},
            {"b@example.com", "d@example.com"},
        ),
        # Stripe: the customer id (cus_...), or the email where there is none.
        (
            STRIPE,
            "unified_payments.csv",
            "cus_b\nc@example.com\n",
            3,
            {"cus_B", "c@example.com"},
            {"cus_A"},
        ),
    ],
)
def test_every_layout_drops_the_listed_customers_first(
    tmp_path: Path, text: str, name: str, keys: str, lines: int, gone: set[str], left: set[str]
) -> None:  # fmt: skip
    extra = {"currency": "EUR"} if name == "woo.csv" else {}
    session = _suppressed(tmp_path, text, name, keys, **extra)
    cleaned = session.cleaning()
    assert session.input.mapping.layout == LAYOUT_OF[name]  # every layout custseg reads
    assert cleaned.dropped["suppressed"] == lines
    customers = set(session.rfm()["customer_id"])
    assert customers == left and not customers & gone
    rules = [r["reason"] for r in session.quality_record(cleaned, 0).rules]
    assert rules[:2] == ["missing_customer_id", "suppressed"]


def test_suppressed_customers_appear_in_no_output_and_leave_the_history(
    tmp_path: Path,
) -> None:
    from custseg.synth import generate_orders

    lines, _ = generate_orders(200, 5)
    source = tmp_path / "lines.csv"
    lines.to_csv(source, index=False)
    ids = lines["CustomerID"].dropna().astype(int).astype(str).unique()
    objected = tmp_path / "objected.txt"
    objected.write_text("\n".join(ids[:3]) + "\n")
    db = tmp_path / "results.db"
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(source), "--out", str(tmp_path / "a"), "--to-db",
                                f"sqlite:///{db}", "-q"])  # fmt: skip
    assert first.exit_code == 0, first.output
    out = tmp_path / "b"
    second = runner.invoke(app, ["run", str(source), "--out", str(out), "--suppress",
                                 str(objected), "--to-db", f"sqlite:///{db}", "-q"])  # fmt: skip
    assert second.exit_code == 0, second.output
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json", ".html"):
            text = path.read_text(encoding="utf-8")
            for key in ids[:3]:
                assert f'"{key}"' not in text and f"\n{key}," not in text, (path.name, key)
    con = sqlite3.connect(db)
    history = {r[0] for r in con.execute("SELECT customer_id FROM custseg_persona_history")}
    runs = con.execute("SELECT count(*) FROM custseg_runs").fetchone()[0]
    con.close()
    assert runs == 2 and not history & set(ids[:3]) and set(ids[3:]) <= history


def test_a_list_that_matches_nobody_is_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.WARNING):
        session = _suppressed(tmp_path, TINY_CSV, "tiny.csv", "someone@else.com\n")
        assert session.cleaning().dropped["suppressed"] == 0
    assert "no line of" in caplog.text and "belongs to a customer of" in caplog.text
