"""custseg export's library: contacts from ids or order lines, the files, the refusals."""

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from custseg.commands.export import (
    check_options,
    contacts_from_orders,
    export_audiences,
    read_customers,
    write_exports,
)
from custseg.errors import UserError
from custseg.io.writers import write_csv
from tests.xlsx import write_xlsx


def _run_dir(folder: Path, ids: list[str], personas: list[str] | None = None) -> Path:
    """A run folder with customers.csv as custseg run writes it (formula guard included)."""
    n = len(ids)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "recency_days": list(range(1, n + 1)),
            "frequency": [1] * n,
            "monetary": [10.0 * (i + 1) for i in range(n)],
            "cluster": [0] * n,
            "persona": personas or ["Champions"] * n,
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(customers, folder / "customers.csv")
    return folder


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_formula_guard_of_customers_csv_is_undone(tmp_path: Path) -> None:
    ids = ["+447700900123", "-5", "@x", "=1", " +1", "\t2", "12346", "ann@example.com"]
    run = _run_dir(tmp_path, ids)
    written = (run / "customers.csv").read_text()
    assert "'+447700900123" in written and "'=1" in written  # as custseg run writes it
    assert read_customers(run)["customer_id"].tolist() == ids
    assert read_customers(run).columns.tolist() == [
        "customer_id",
        "persona",
        "recency_days",
        "frequency",
        "monetary",
    ]


def test_ids_that_look_missing_stay_ids(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, ["NA", "null", "00123"])
    assert read_customers(run)["customer_id"].tolist() == ["NA", "null", "00123"]


def test_customers_parquet_is_read_where_there_is_no_csv(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, ["ann@example.com"])
    frame = pd.read_csv(run / "customers.csv")
    frame.to_parquet(run / "customers.parquet")
    (run / "customers.csv").unlink()
    assert read_customers(run)["customer_id"].tolist() == ["ann@example.com"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", r"RUN_DIR .*missing is not a folder: give the output folder of custseg run\."),
        ("empty", r"has no customers\.csv: give the output folder of custseg run\."),
        ("columns", r"customers\.csv has no persona, recency_days column: is .* custseg run\?"),
    ],
)
def test_a_folder_without_a_run_is_refused(tmp_path: Path, setup: str, message: str) -> None:
    run = tmp_path / "missing"
    if setup != "none":
        run = tmp_path / "run"
        run.mkdir()
    if setup == "columns":
        (run / "customers.csv").write_text("customer_id,frequency,monetary\n1,1,1.0\n")
    with pytest.raises(UserError, match=message):
        read_customers(run)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"fmt": "tiktok"},
            "Invalid value for --format: 'tiktok' (use csv, klaviyo, google or meta).",
        ),
        (
            {"fmt": "klaviyo", "hashed": True},
            "--hash does not apply to --format klaviyo: Klaviyo imports plain values (use "
            "--format google or meta for hashed files).",
        ),
        (
            {"fmt": "csv", "hashed": True},
            "--hash does not apply to --format csv, which holds plain values (use --format "
            "google or meta for hashed files).",
        ),
        (
            {"fmt": "csv", "email_col": "Email"},
            "--email-col names a column of the order lines: give them with --orders FILE.",
        ),
        (
            {"fmt": "csv", "orders": Path("o.csv")},
            "--orders is read for contacts: name its email or phone column with --email-col "
            "or --phone-col.",
        ),
        (
            {"fmt": "csv", "country_code": "044"},
            "Invalid value for --default-country-code: '044' (give 1 to 3 digits, such as 44 "
            "or 1).",
        ),
    ],
)
def test_options_that_do_not_go_together(args: dict[str, object], message: str) -> None:
    with pytest.raises(UserError) as caught:
        check_options(**args)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_a_country_code_may_be_given_with_its_plus() -> None:
    assert check_options("google", country_code="+44") == "44"
    assert check_options("google", country_code="1") == "1"
    assert check_options("google") is None


def test_ids_that_are_neither_emails_nor_phones_are_refused(tmp_path: Path) -> None:
    run = _run_dir(tmp_path / "run", ["1", "2", "ann@example.com"])
    with pytest.raises(UserError) as caught:
        export_audiences(run, "google")
    assert str(caught.value) == (
        f"{run}'s customer ids are neither emails nor phone numbers (2 of 3, such as '1'): "
        "give --orders FILE with --email-col or --phone-col."
    )


def _read(folder: Path, name: str) -> str:
    return (folder / "audiences" / name).read_text(encoding="utf-8")


def test_email_and_phone_ids_as_every_format(tmp_path: Path) -> None:
    ids = ["Ann@Example.com", "+44 7700 900123", "07700 900456"]
    run = _run_dir(tmp_path / "run", ids, ["Champions", "Champions", "Can't Lose Them"])
    expected = {
        "csv": (
            # A customers.csv without rfm_segment: the column is empty.
            "customer_id,persona,rfm_segment,email,phone,recency_days,frequency,monetary\n"
            "Ann@Example.com,Champions,,ann@example.com,,1,1,10.0\n"
            "'+44 7700 900123,Champions,,,'+447700900123,2,1,20.0\n",  # guarded
            "customer_id,persona,rfm_segment,email,phone,recency_days,frequency,monetary\n"
            "07700 900456,Can't Lose Them,,,'+447700900456,3,1,30.0\n",
        ),
        "klaviyo": (
            "Email,Phone Number,External ID,custseg persona\n"
            "ann@example.com,,Ann@Example.com,Champions\n"
            ",+447700900123,+44 7700 900123,Champions\n",
            "Email,Phone Number,External ID,custseg persona\n"
            ",+447700900456,07700 900456,Can't Lose Them\n",
        ),
        "google": (
            "Email,Phone\nann@example.com,\n,+447700900123\n",
            "Email,Phone\n,+447700900456\n",
        ),
        "meta": (
            "email,phone,extern_id\nann@example.com,,Ann@Example.com\n"
            ",447700900123,+44 7700 900123\n",
            "email,phone,extern_id\n,447700900456,07700 900456\n",
        ),
    }
    for fmt, (champions, cant_lose) in expected.items():
        out = tmp_path / fmt
        result = export_audiences(run, fmt, country_code="44")
        written = write_exports(result, out)
        assert [p.name for p in written] == [
            "champions.csv",
            "cant-lose-them.csv",
            "export_log.json",
        ]
        assert _read(out, "champions.csv") == champions, fmt
        assert _read(out, "cant-lose-them.csv") == cant_lose, fmt


def test_hashed_files_hold_no_raw_contact(tmp_path: Path) -> None:
    ids = ["Ann@Example.com", "+44 7700 900123", "07700 900456", "bo@example.org"]
    run = _run_dir(tmp_path / "run", ids, ["Champions", "Lost", "Lost", "Lost"])
    for fmt in ("google", "meta"):
        out = tmp_path / fmt
        write_exports(export_audiences(run, fmt, hashed=True, country_code="44"), out)
        texts = [p.read_text() for p in sorted(out.rglob("*")) if p.is_file()]
        assert len(texts) == 4  # two audiences, the log, custseg's manifest
        raw = [*ids, "ann@example.com", "+447700900123", "447700900123", "7700900123"]
        raw += ["+447700900456", "447700900456", "7700900456", "900456", "example", "@"]
        for text in texts:
            for value in raw:
                assert value not in text, (fmt, value)
    google = _read(tmp_path / "google", "lost.csv").splitlines()
    assert google == [
        "Email,Phone",
        f",{_sha('+447700900123')}",
        f",{_sha('+447700900456')}",
        f"{_sha('bo@example.org')},",
    ]
    meta = _read(tmp_path / "meta", "champions.csv").splitlines()
    # The ids are the contacts: extern_id would write them raw, so it is left out.
    assert meta == ["email,phone", f"{_sha('ann@example.com')},"]
    assert _read(tmp_path / "meta", "lost.csv").splitlines()[1] == f",{_sha('447700900123')}"


def test_numbers_without_a_country_code_are_left_out_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = _run_dir(tmp_path / "run", ["+447700900123", "07700900456", "07700900789"])
    with caplog.at_level(logging.INFO, logger="custseg"):
        result = export_audiences(run, "google")
    assert result.files["champions.csv"]["Phone"].tolist() == ["+447700900123"]
    assert result.log["no_country_code"] == 2
    assert result.log["files"]["champions.csv"] == {
        "persona": "Champions",
        "customers": 1,
        "without_contact": 2,
    }
    assert (
        "note     2 customer(s) have a phone number without a country code (no + or 00), left "
        "out: give --default-country-code (e.g. 44)"
    ) in caplog.messages
    assert "export   champions.csv: 1 customer(s); 2 without a usable contact left out" in (
        caplog.messages
    )


ORDERS = """\
InvoiceNo,InvoiceDate,Quantity,UnitPrice,CustomerID,Email,Phone
1,2011-01-01,1,5.0,12346.0, Ann@Example.com ,+44 7700 900123
2,2011-01-02,1,5.0,12346.0,ann@example.com,+447700900123
3,2011-01-03,1,5.0,12346.0,ann@old.example.com,
4,2011-01-04,1,5.0,12347.0,,07700 900456
5,2011-01-05,1,5.0,12348.0,not an email,
6,2011-01-06,1,5.0,,nobody@example.com,+33612345678
"""


def test_contacts_come_from_the_order_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS)
    run = _run_dir(tmp_path / "run", ["12346", "12347", "12348", "99999"])
    with caplog.at_level(logging.INFO, logger="custseg"):
        result = export_audiences(
            run, "csv", orders=orders, email_col="email", phone_col="PHONE", country_code="44"
        )
    assert caplog.messages[:2] == [
        "note     1 customer(s) have more than one email in the order lines: the one on the "
        "most lines is used",
        "contacts emails in 'Email' and phones in 'Phone' read from "
        f"{orders} (customer column 'CustomerID')",
    ]
    assert "export   champions.csv: 4 customer(s); 2 without a usable contact" in caplog.messages
    # 12346: two lines of ann@example.com (once with spaces and capitals) beat one of
    # ann@old; 12348's email is not one; 99999 is not in the order lines.
    assert _read_table(result.files["champions.csv"]) == [
        ["12346", "ann@example.com", "+447700900123"],
        ["12347", None, "+447700900456"],
        ["12348", None, None],
        ["99999", None, None],
    ]
    assert result.log["contacts"] == {
        "from": str(orders),
        "email_col": "email",
        "phone_col": "PHONE",
        "kinds": ["email", "phone"],
        "default_country_code": "44",
    }
    assert result.log["files"]["champions.csv"]["without_contact"] == 2


def _read_table(table: pd.DataFrame) -> list[list[object]]:
    rows = table[["customer_id", "email", "phone"]]
    return rows.astype(object).where(rows.notna(), None).values.tolist()


def test_only_the_columns_given_are_contacts(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS)
    run = _run_dir(tmp_path / "run", ["12346", "12347"])
    result = export_audiences(run, "klaviyo", orders=orders, phone_col="Phone")
    # Without --default-country-code 12347's number cannot be made E.164.
    assert result.files["champions.csv"].values.tolist() == [
        ["+447700900123", "12346", "Champions"]
    ]
    assert result.log["no_country_code"] == 1


def test_a_missing_contact_column_is_named(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS)
    run = _run_dir(tmp_path / "run", ["12346"])
    with pytest.raises(UserError, match=r"column 'Mail' \(--email-col\) not found; the columns"):
        export_audiences(run, "csv", orders=orders, email_col="Mail")
    with pytest.raises(UserError, match=r"column 'Kunde' \(--customer-col\) not found"):
        export_audiences(run, "csv", orders=orders, email_col="Email", customer_col="Kunde")


def test_contacts_from_parquet_and_a_named_customer_column(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "client": [12346.0, 12347.0],
            "mail": ["ann@example.com", "bo@example.com"],
            "tel": [447700900123, 33612345678],  # numbers: no + (need a country code)
        }
    )
    orders = tmp_path / "orders.parquet"
    frame.to_parquet(orders)
    found, national, fold = contacts_from_orders(
        orders, email_col="mail", phone_col="tel", customer_col="client"
    )
    assert found["email"].to_dict() == {"12346": "ann@example.com", "12347": "bo@example.com"}
    assert found["phone"].empty and national == {"12346", "12347"} and not fold


def test_contacts_from_every_sheet_of_a_workbook(tmp_path: Path) -> None:
    book = tmp_path / "orders.xlsx"
    header = ["Invoice", "InvoiceDate", "Quantity", "Price", "Customer ID", "Email", "Phone"]
    write_xlsx(
        book,
        {
            "Year 2009-2010": [header, ["1", 40179.5, 1, 2.0, 12346.0, "ann@example.com", None]],
            "Year 2010-2011": [header, ["2", 40544.5, 1, 2.0, 12347, None, "+33 6 12 34 56 78"]],
        },
    )
    found, _, _ = contacts_from_orders(book, email_col="Email", phone_col="Phone")
    assert found["email"].to_dict() == {"12346": "ann@example.com"}
    assert found["phone"].to_dict() == {"12347": "+33612345678"}


def test_a_shop_exports_customer_emails_match_in_any_case(tmp_path: Path) -> None:
    orders = tmp_path / "shopify.csv"
    orders.write_text(
        "Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem price,Phone\n"
        "#1001,Alice@Example.com,paid,2023-03-10 10:00:00 -0800,1,20.00,+1 555 010 9999\n"
        "#1001,,,,1,30.00,\n"
    )
    run = _run_dir(tmp_path / "run", ["alice@example.com"])  # custseg lowercases the key
    result = export_audiences(run, "google", orders=orders, phone_col="Phone", hashed=True)
    assert result.files["champions.csv"].values.tolist() == [[_sha("+15550109999")]]


def test_the_persona_filter(tmp_path: Path) -> None:
    ids = ["a@example.com", "b@example.com", "c@example.com"]
    run = _run_dir(tmp_path / "run", ids, ["Champions", "Can't Lose Them", "Lost"])
    for wanted in (["Can't Lose Them"], ["can't lose them"], ["cant-lose-them"]):
        result = export_audiences(run, "google", personas=wanted)
        assert list(result.files) == ["cant-lose-them.csv"]
        assert result.files["cant-lose-them.csv"].values.tolist() == [["b@example.com"]]
    both = export_audiences(run, "csv", personas=["Lost", "Champions", "lost"])
    assert list(both.files) == ["lost.csv", "champions.csv"]
    with pytest.raises(UserError) as caught:
        export_audiences(run, "csv", personas=["Loyal"])
    assert str(caught.value) == (
        f"--persona 'Loyal' is not a persona of {run}; the personas are 'Champions', "
        "\"Can't Lose Them\", 'Lost'."
    )


def test_personas_of_one_file_name_get_two_files(tmp_path: Path) -> None:
    run = _run_dir(tmp_path / "run", ["a@example.com", "b@example.com"], ["At Risk", "At-Risk"])
    assert list(export_audiences(run, "google").files) == ["at-risk.csv", "at-risk-2.csv"]


def test_phones_stay_as_the_tools_read_them_and_records_do_not_break(tmp_path: Path) -> None:
    ids = ["+447700900123", "=1+1@example.com"]
    run = _run_dir(tmp_path / "run", ids, ["Big\r\nSpenders", "Big\r\nSpenders"])
    out = tmp_path / "out"
    write_exports(export_audiences(run, "klaviyo"), out)
    assert _read(out, "big-spenders.csv") == (
        "Email,Phone Number,External ID,custseg persona\n"
        ",+447700900123,+447700900123,Big  Spenders\n"
        "=1+1@example.com,,=1+1@example.com,Big  Spenders\n"
    )
    log = json.loads((out / "export_log.json").read_text())
    assert log["format"] == "klaviyo" and log["hashed"] is False
    assert log["contacts"]["kinds"] == ["email", "phone"]


def test_an_empty_contact_column_gives_no_contacts(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,date,amount,email\n1,2011-01-01,5.0,\n2,2011-01-02,5.0,\n")
    run = _run_dir(tmp_path / "run", ["1", "2"])
    result = export_audiences(run, "meta", orders=orders, email_col="email")
    assert result.files["champions.csv"].empty
    assert result.log["files"]["champions.csv"]["without_contact"] == 2
