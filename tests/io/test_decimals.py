"""A decimal comma is found in the values, and refused where the values cannot tell."""

import logging
from pathlib import Path

import pytest

from custseg.config import CsvConfig, Settings
from custseg.errors import UserError
from custseg.session import Session

HEADER = "InvoiceNo;Quantity;InvoiceDate;UnitPrice;CustomerID\n"


def _rfm(path: Path, **settings: object) -> dict[str, float]:
    session = Session(path, Settings(**settings))  # type: ignore[arg-type]
    return session.rfm().set_index("customer_id")["monetary"].to_dict()


def test_a_decimal_comma_is_detected(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "eu.csv"
    path.write_text(
        HEADER + "1;6;2010-12-01 08:26;2,55;7\n2;2;2010-12-02 08:26;1.234,50;8\n"
        "3;N/A;2010-12-03 08:26;0,85;8\n"  # N/A is no number either way: invalid, not a vote
    )
    with caplog.at_level(logging.WARNING):
        monetary = _rfm(path)
    assert "read with a decimal comma" in caplog.text
    assert monetary == {"7": pytest.approx(15.3), "8": pytest.approx(2469.0)}
    session = Session(path, Settings())
    assert session.input.options["decimal"] == ", (detected)"


def test_a_decimal_point_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "uk.csv"
    path.write_text(HEADER + "1;6;2010-12-01 08:26;2.55;7\n2;2;2010-12-02 08:26;3;8\n")
    assert _rfm(path) == {"7": pytest.approx(15.3), "8": 6.0}


def test_both_readings_fitting_is_refused_unless_given(tmp_path: Path) -> None:
    path = tmp_path / "both.csv"
    # Text (N/A keeps the sniffer from typing the column), and 1.250 fits both readings.
    path.write_text(
        HEADER + "1;1;2010-12-01 08:26;1.250;7\n2;2;2010-12-02 08:26;2;8\n"
        "3;1;2010-12-02 09:00;N/A;8\n"
    )
    with pytest.raises(UserError, match=r"such as '1.250' read both .*--decimal \. or --decimal ,"):
        Session(path, Settings())
    assert _rfm(path, csv=CsvConfig(decimal="."))["7"] == 1.25
    assert _rfm(path, csv=CsvConfig(decimal=","))["7"] == 1250.0
