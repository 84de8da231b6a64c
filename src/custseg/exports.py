"""Audience files in the formats campaign tools import: contacts normalised, hashed on request.

``custseg export`` (:mod:`custseg.commands.export`) writes one file per persona in one of
:data:`FORMATS`. This module holds what does not read or write files: recognising emails and
phone numbers, normalising them as each platform specifies, hashing them, and laying out
a persona's customers as the platform's import file (:func:`audience_table`).

* ``csv``: ``customer_id, persona, email, phone, recency_days, frequency, monetary``.
* ``klaviyo`` (list import): ``Email``, ``Phone Number``, ``External ID`` (the customer id)
  and the custom property ``custseg persona``; plain values, phones in E.164.
* ``google`` (Customer Match): ``Email``, ``Phone``; emails trimmed and lowercased, phones
  in E.164 with the ``+``; with ``hashed`` the SHA-256 of those, as lowercase hex.
* ``meta`` (custom audience customer list): ``email``, ``phone``, ``extern_id``; emails
  trimmed and lowercased, phones as digits with the country code and no ``+``; with
  ``hashed`` their SHA-256 as lowercase hex (``extern_id`` is never hashed, and is left
  out when the customer ids are themselves the contacts).

A contact column appears only when the export has that kind of contact (emails, phones or
both). The tools' files are not passed through the spreadsheet formula guard
(:func:`custseg.io.writers.csv_safe`): a phone stays ``+447700900123``, as the tools expect;
the plain ``csv``, meant for a spreadsheet, is (when written).
Carriage returns, line feeds and NULs in text still become spaces, so that a cell never
breaks a record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import pandas as pd

__all__ = [
    "AUDIENCE_COLUMNS",
    "CONTACTS",
    "FORMATS",
    "HASHABLE",
    "audience_table",
    "e164",
    "header",
    "is_email",
    "is_phone",
    "meta_phone",
    "needs_country_code",
    "no_breaks",
    "normalise_email",
    "sha256_hex",
]

#: The formats ``custseg export`` writes.
FORMATS = ("csv", "klaviyo", "google", "meta")

#: The formats whose contacts may be hashed (``--hash``).
HASHABLE = ("google", "meta")

#: The kinds of contact, in the order their columns appear.
CONTACTS = ("email", "phone")

#: The columns of an audience file of run and clv (CLV columns are added where they are
#: known); the plain csv export has them too, with the contacts.
AUDIENCE_COLUMNS = (
    "customer_id",
    "persona",
    "rfm_segment",
    "recency_days",
    "frequency",
    "monetary",
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
#: What a phone number may be written with: digits, a leading +, and separators.
_PHONE = re.compile(r"\+?[0-9][0-9\s\-.()/]*")
_NOT_DIGIT = re.compile(r"\D")
#: Digits in an E.164 number, country code included.
_MIN_DIGITS, _MAX_DIGITS = 8, 15
_BREAKS = re.compile("[\r\n\x00]")


def normalise_email(value: str) -> str | None:
    """Return an email trimmed and lowercased, or None when it is not an email address.

    Gmail's dots and ``+tags`` are kept: Google and Meta ask for trim and lowercase only.

    Parameters
    ----------
    value : str
        The address as written.

    Returns
    -------
    str or None
        The normalised address.

    Examples
    --------
    >>> normalise_email("  Ann.Lee@Example.COM ")
    'ann.lee@example.com'
    >>> normalise_email("ann@localhost") is None
    True
    """
    text = value.strip().lower()
    return text if _EMAIL.fullmatch(text) else None


def is_email(value: str) -> bool:
    """Return whether ``value`` is an email address (an ``@`` with a dotted domain after it)."""
    return normalise_email(value) is not None


def _digits(value: str) -> tuple[str, str] | None:
    """Return (the text without a UK-style ``(0)``, its digits), or None if not a phone."""
    text = value.strip().replace("(0)", "")
    if not _PHONE.fullmatch(text):
        return None
    return text, _NOT_DIGIT.sub("", text)


def _valid(digits: str) -> str | None:
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS or digits.startswith("0"):
        return None
    return "+" + digits


def e164(value: str, country_code: str | None = None) -> str | None:
    """Return a phone number in E.164 (``+`` and 8 to 15 digits), or None when it is not one.

    Separators (spaces, ``-``, ``.``, ``/``, brackets) and a ``(0)`` after the country code
    are dropped; a ``00`` prefix becomes ``+``. A number with neither has no country code:
    with ``country_code`` it is prefixed (its one leading ``0``, the trunk prefix, dropped),
    else it cannot be made E.164 (see :func:`needs_country_code`).

    Parameters
    ----------
    value : str
        The number as written.
    country_code : str, optional
        Digits of the country code for numbers written without one (``"44"``).

    Returns
    -------
    str or None
        The number in E.164.

    Examples
    --------
    >>> e164("+44 (0)7700 900123")
    '+447700900123'
    >>> e164("0044 7700 900123")
    '+447700900123'
    >>> e164("07700 900123") is None
    True
    >>> e164("07700 900123", "44")
    '+447700900123'
    """
    found = _digits(value)
    if found is None:
        return None
    text, digits = found
    if text.startswith("+"):
        return _valid(digits)
    if digits.startswith("00"):
        return _valid(digits[2:])
    if country_code is None:
        return None
    return _valid(country_code + (digits[1:] if digits.startswith("0") else digits))


def needs_country_code(value: str) -> bool:
    """Return whether ``value`` is a phone number written without a country code.

    Such a number becomes E.164 only with a country code (``--default-country-code``).

    Examples
    --------
    >>> needs_country_code("07700 900123"), needs_country_code("+447700900123")
    (True, False)
    """
    found = _digits(value)
    if found is None:
        return False
    text, digits = found
    if text.startswith("+") or digits.startswith("00"):
        return False
    national = digits[1:] if digits.startswith("0") else digits
    return _MIN_DIGITS - 1 <= len(national) <= _MAX_DIGITS - 1


def is_phone(value: str) -> bool:
    """Return whether a customer id is a phone number.

    That is: ``+`` (or ``00``) and 8 to 15 digits, or 8 to 15 digits alone (a number
    without its country code); separators are allowed.

    Examples
    --------
    >>> is_phone("+447700900123"), is_phone("07700900123"), is_phone("12346")
    (True, True, False)
    """
    found = _digits(value)
    if found is None:
        return False
    text, digits = found
    if digits.startswith("00") and not text.startswith("+"):
        digits = digits[2:]
    return _MIN_DIGITS <= len(digits) <= _MAX_DIGITS


def meta_phone(number: str) -> str:
    """Return an E.164 number as Meta asks: digits only, country code first, no ``+``.

    Examples
    --------
    >>> meta_phone("+447700900123")
    '447700900123'
    """
    return number.removeprefix("+")


def sha256_hex(text: str) -> str:
    """Return the SHA-256 of ``text`` (UTF-8) as 64 lowercase hexadecimal characters.

    Examples
    --------
    >>> sha256_hex("ann@example.com")[:16]
    '71d4f55f72fa128d'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def no_breaks(values: pd.Series) -> pd.Series:
    r"""Return text with carriage returns, line feeds and NULs replaced by spaces.

    Examples
    --------
    >>> no_breaks(pd.Series(["a\r\nb", "c"])).tolist()
    ['a  b', 'c']
    """
    out: pd.Series = values.map(lambda v: _BREAKS.sub(" ", v) if isinstance(v, str) else v)
    return out


def header(fmt: str, contacts: Sequence[str], *, with_id: bool = True) -> list[str]:
    """Return the columns of a ``fmt`` file for an export with these kinds of contact.

    Parameters
    ----------
    fmt : str
        One of :data:`FORMATS`.
    contacts : sequence of str
        The kinds of contact the export has (of :data:`CONTACTS`); the plain CSV always has
        both columns.
    with_id : bool
        Meta only: add ``extern_id`` (False when the customer ids are the contacts).

    Returns
    -------
    list of str
        The header, in order.

    Examples
    --------
    >>> header("klaviyo", ["phone"])
    ['Phone Number', 'External ID', 'custseg persona']
    >>> header("meta", ["email", "phone"])
    ['email', 'phone', 'extern_id']
    """
    has = [kind for kind in CONTACTS if kind in contacts]
    if fmt == "csv":  # run's audience columns, the contacts after the names
        return [*AUDIENCE_COLUMNS[:3], *CONTACTS, *AUDIENCE_COLUMNS[3:]]
    if fmt == "klaviyo":
        names = {"email": "Email", "phone": "Phone Number"}
        return [names[kind] for kind in has] + ["External ID", "custseg persona"]
    if fmt == "google":
        return [kind.capitalize() for kind in has]
    if fmt == "meta":
        return has + (["extern_id"] if with_id else [])
    raise ValueError(f"unknown format {fmt!r}")


def audience_table(
    customers: pd.DataFrame,
    fmt: str,
    contacts: Sequence[str],
    *,
    hashed: bool = False,
    with_id: bool = True,
) -> pd.DataFrame:
    """Lay out one persona's customers as a ``fmt`` import file.

    Parameters
    ----------
    customers : pandas.DataFrame
        ``customer_id``, ``persona``, ``rfm_segment`` (optional: csv only),
        ``email`` (normalised, or missing), ``phone`` (E.164,
        or missing), ``recency_days``, ``frequency``, ``monetary``.
    fmt : str
        One of :data:`FORMATS`.
    contacts : sequence of str
        The kinds of contact the export has (its columns; see :func:`header`).
    hashed : bool
        Write the SHA-256 of the normalised contacts (only for :data:`HASHABLE` formats).
    with_id : bool
        Meta only: add ``extern_id``.

    Returns
    -------
    pandas.DataFrame
        The file's rows: every customer for ``csv``; for the platforms, those with at least
        one contact among ``contacts`` (the others cannot be matched).

    Raises
    ------
    ValueError
        For an unknown format, or ``hashed`` with a format that imports plain values.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    if hashed and fmt not in HASHABLE:
        raise ValueError(f"{fmt} files hold plain values")
    columns = header(fmt, contacts, with_id=with_id)
    email = customers["email"].astype(object).where(customers["email"].notna(), None)
    phone = customers["phone"].astype(object).where(customers["phone"].notna(), None)
    ids = no_breaks(customers["customer_id"].astype(str))
    if fmt == "csv":
        plain = pd.DataFrame(
            {
                "customer_id": ids,
                "persona": no_breaks(customers["persona"].astype(str)),
                # Each customer's own reading beside the segment's name (empty for a
                # customers file without it).
                "rfm_segment": customers.get("rfm_segment"),
                "email": email,
                "phone": phone,
                "recency_days": customers["recency_days"],
                "frequency": customers["frequency"],
                "monetary": customers["monetary"],
            }
        )
        rows: pd.DataFrame = plain.reset_index(drop=True)
        return rows
    values = {"email": email, "phone": phone}
    if fmt == "meta":
        values["phone"] = phone.map(meta_phone, na_action="ignore")
    if hashed:
        values = {kind: v.map(sha256_hex, na_action="ignore") for kind, v in values.items()}
    has = [kind for kind in CONTACTS if kind in contacts]
    table = pd.DataFrame({name: values[kind] for name, kind in zip(columns, has, strict=False)})
    if fmt == "klaviyo":
        table["External ID"] = ids
        table["custseg persona"] = no_breaks(customers["persona"].astype(str))
    elif fmt == "meta" and with_id:
        table["extern_id"] = ids
    reachable = pd.Series(False, index=customers.index)
    for kind in has:
        reachable |= values[kind].notna()
    kept: pd.DataFrame = table.loc[reachable, columns].reset_index(drop=True)
    return kept
