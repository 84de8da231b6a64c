"""Audience layouts: normalised contacts, hashes and headers, each worked out by hand."""

import doctest
import hashlib

import pandas as pd
import pytest

import custseg.exports
from custseg.exports import (
    audience_table,
    e164,
    header,
    is_email,
    is_phone,
    meta_phone,
    needs_country_code,
    no_breaks,
    normalise_email,
    sha256_hex,
)

ANN = "71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476"


def test_the_docstring_examples_hold() -> None:
    failed, tried = doctest.testmod(custseg.exports)
    assert tried >= 10 and failed == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.Lee+news@Example.COM\t", "ann.lee+news@example.com"),  # dots and tags kept
        ("first.last@gmail.com", "first.last@gmail.com"),  # no Gmail dot removal
        ("ann@localhost", None),
        ("ann@example.", None),
        ("ann@.com", None),
        ("ann example@example.com", None),
        ("a@b@example.com", None),
        ("", None),
    ],
)
def test_emails_are_trimmed_and_lowercased(raw: str, expected: str | None) -> None:
    assert normalise_email(raw) == expected
    assert is_email(raw) is (expected is not None)


@pytest.mark.parametrize(
    ("raw", "code", "expected"),
    [
        ("+447700900123", None, "+447700900123"),
        ("+44 7700 900123", None, "+447700900123"),
        ("+44 (0)7700 900123", None, "+447700900123"),
        ("+1 (555) 010-9999", None, "+15550109999"),
        ("0044 7700 900123", None, "+447700900123"),
        ("0033 6 12 34 56 78", None, "+33612345678"),
        ("07700 900123", None, None),  # no country code, none given
        ("07700 900123", "44", "+447700900123"),  # one trunk 0 dropped
        ("555.010.9999", "1", "+15550109999"),
        ("+44 7700 900123", "33", "+447700900123"),  # its own code wins
        ("+4412", None, None),  # too short
        ("+1234567890123456", None, None),  # 16 digits: too long for E.164
        ("+0447700900123", None, None),  # no country code starts with 0
        ("ext. 12", None, None),
        ("+44 7700 900123 ext 4", None, None),
        ("", "44", None),
    ],
)
def test_phones_become_e164(raw: str, code: str | None, expected: str | None) -> None:
    assert e164(raw, code) == expected


def test_meta_wants_digits_with_the_country_code_and_no_plus() -> None:
    assert meta_phone("+447700900123") == "447700900123"
    assert meta_phone(e164("0044 (0)7700-900-123") or "") == "447700900123"


@pytest.mark.parametrize(
    ("raw", "phone", "national"),
    [
        ("+447700900123", True, False),
        ("0044 7700 900123", True, False),
        ("07700900123", True, True),
        ("12345678", True, True),  # eight digits: a number without its country code
        ("1234567", False, True),  # too short for an id, but a national number
        ("12346", False, False),
        ("C-123", False, False),
        ("ann@example.com", False, False),
    ],
)
def test_phone_ids_and_numbers_without_a_country_code(
    raw: str, phone: bool, national: bool
) -> None:
    assert is_phone(raw) is phone
    assert needs_country_code(raw) is national


def test_sha256_is_lowercase_hex_of_the_utf8_text() -> None:
    assert sha256_hex("ann@example.com") == ANN
    assert hashlib.sha256(b"ann@example.com").hexdigest() == ANN
    assert sha256_hex("+447700900123") == hashlib.sha256(b"+447700900123").hexdigest()
    assert sha256_hex("é@example.com") == hashlib.sha256("é@example.com".encode()).hexdigest()


@pytest.mark.parametrize(
    ("fmt", "contacts", "with_id", "expected"),
    [
        (
            "csv",
            ["email"],
            True,
            "customer_id persona rfm_segment email phone recency_days frequency monetary",
        ),
        ("klaviyo", ["email", "phone"], True, "Email|Phone Number|External ID|custseg persona"),
        ("klaviyo", ["email"], True, "Email|External ID|custseg persona"),
        ("klaviyo", ["phone"], True, "Phone Number|External ID|custseg persona"),
        ("google", ["email", "phone"], True, "Email Phone"),
        ("google", ["phone"], True, "Phone"),
        ("meta", ["phone", "email"], True, "email phone extern_id"),
        ("meta", ["email"], False, "email"),
    ],
)
def test_each_format_has_its_header(
    fmt: str, contacts: list[str], with_id: bool, expected: str
) -> None:
    sep = "|" if "|" in expected else " "
    assert header(fmt, contacts, with_id=with_id) == expected.split(sep)


def test_an_unknown_format_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        header("tiktok", ["email"])
    with pytest.raises(ValueError, match="plain values"):
        audience_table(_customers(), "klaviyo", ["email"], hashed=True)


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["1", "2", "3"],
            "persona": ["Champions", "Champions", "Champions"],
            "email": ["ann@example.com", None, None],
            "phone": ["+447700900123", "+33612345678", None],
            "recency_days": [1, 6, 2],
            "frequency": [2, 1, 1],
            "monetary": [18.0, 7.5, 16.0],
        }
    )


def _rows(table: pd.DataFrame) -> list[list[object]]:
    return table.astype(object).where(table.notna(), None).values.tolist()


def test_plain_csv_keeps_every_customer() -> None:
    table = audience_table(_customers(), "csv", ["email", "phone"])
    assert _rows(table) == [
        ["1", "Champions", None, "ann@example.com", "+447700900123", 1, 2, 18.0],
        ["2", "Champions", None, None, "+33612345678", 6, 1, 7.5],
        ["3", "Champions", None, None, None, 2, 1, 16.0],
    ]
    # With the rule-based segment of each customer (customers.csv of a run has it).
    segments = _customers().assign(rfm_segment=["Champions", "Promising", "Can't Lose Them"])
    table = audience_table(segments, "csv", ["email", "phone"])
    assert table["rfm_segment"].tolist() == ["Champions", "Promising", "Can't Lose Them"]
    assert list(table.columns) == header("csv", ["email", "phone"])


def test_klaviyo_is_plain_with_e164_phones_and_the_persona() -> None:
    table = audience_table(_customers(), "klaviyo", ["email", "phone"])
    assert list(table.columns) == ["Email", "Phone Number", "External ID", "custseg persona"]
    assert _rows(table) == [  # customer 3 has no contact: Klaviyo could not import it
        ["ann@example.com", "+447700900123", "1", "Champions"],
        [None, "+33612345678", "2", "Champions"],
    ]


def test_google_plain_and_hashed() -> None:
    plain = audience_table(_customers(), "google", ["email", "phone"])
    assert _rows(plain) == [["ann@example.com", "+447700900123"], [None, "+33612345678"]]
    hashed = audience_table(_customers(), "google", ["email", "phone"], hashed=True)
    assert _rows(hashed) == [
        [ANN, hashlib.sha256(b"+447700900123").hexdigest()],
        [None, hashlib.sha256(b"+33612345678").hexdigest()],
    ]


def test_meta_plain_and_hashed() -> None:
    plain = audience_table(_customers(), "meta", ["email", "phone"])
    assert _rows(plain) == [
        ["ann@example.com", "447700900123", "1"],
        [None, "33612345678", "2"],
    ]
    hashed = audience_table(_customers(), "meta", ["email", "phone"], hashed=True)
    assert _rows(hashed) == [  # the phone's digits are hashed, without the +
        [ANN, hashlib.sha256(b"447700900123").hexdigest(), "1"],
        [None, hashlib.sha256(b"33612345678").hexdigest(), "2"],
    ]
    no_id = audience_table(_customers(), "meta", ["phone"], hashed=True, with_id=False)
    assert list(no_id.columns) == ["phone"] and len(no_id) == 2


def test_only_the_contacts_of_the_export_count() -> None:
    # An export of emails: a customer with only a phone is not in it.
    table = audience_table(_customers(), "google", ["email"])
    assert _rows(table) == [["ann@example.com"]]


def test_record_breaks_become_spaces_and_nothing_is_formula_guarded() -> None:
    customers = _customers().assign(
        customer_id=["1\r\n", "=2", "3"], persona=["A\x00B", "A\x00B", "A\x00B"]
    )
    table = audience_table(customers, "klaviyo", ["email", "phone"])
    assert _rows(table) == [
        ["ann@example.com", "+447700900123", "1  ", "A B"],
        [None, "+33612345678", "=2", "A B"],
    ]
    assert no_breaks(pd.Series(["x\ny", None])).tolist()[0] == "x y"


def test_an_empty_persona_gives_a_header_only_table() -> None:
    table = audience_table(_customers().iloc[:0], "meta", ["email"])
    assert list(table.columns) == ["email", "extern_id"] and table.empty
