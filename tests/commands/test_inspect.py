"""custseg inspect: how a file is read, said before anything is computed, and saved."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from custseg.cli import app
from custseg.commands.inspect import inspect_input, save_mapping
from custseg.config import Settings, load_settings
from custseg.errors import UserError
from custseg.session import Session
from tests.io.exports import SHOPIFY

runner = CliRunner()


def test_a_shop_export_is_described_and_saved(tmp_path: Path) -> None:
    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY)
    found = inspect_input(path, Settings())
    rows = dict(found.rows)
    assert rows["layout"] == "shopify"
    assert rows["column customer"] == "Email" and rows["column invoice"] == "Name"
    assert rows["time zone"] == "UTC offsets: instants, calendar in UTC"
    assert rows["currency"] == "USD"
    assert rows["encoding"] == "utf-8" and rows["decimal separator"] == "."
    saved = tmp_path / "shop.yml"
    save_mapping(found, saved)
    assert yaml.safe_load(saved.read_text()) == {
        "columns": {"layout": "shopify", "timezone": "UTC"},
        "cleaning": {"currency": "USD"},
    }
    # The saved file reads the export the same way.
    again = Session(path, load_settings(saved, {}))
    assert again.input.mapping.layout == "shopify" and again.currency == "USD"
    # Saved again over its own file: fine; over the user's parameters: refused, untouched.
    save_mapping(found, saved)
    mine = tmp_path / "mine.yml"
    mine.write_text("model: {k: 3}\n")
    with pytest.raises(
        UserError, match=r"--save .*mine.yml exists and is not marked as a parameter file"
    ):
        save_mapping(found, mine)
    assert mine.read_text() == "model: {k: 3}\n"
    # On the command line: refused before the input is read (no table printed).
    said = runner.invoke(app, ["inspect", str(path), "--save", str(mine)])
    assert said.exit_code == 2 and "How custseg reads it" not in said.output
    assert "mine.yml exists and is not marked as a parameter file" in said.output


def test_a_decimal_comma_file_saves_its_dialect(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_bytes(
        "InvoiceNo;Quantity;InvoiceDate;UnitPrice;CustomerID\n"
        "1;6;01/12/2010 08:26;2,55;Jos\xe9\n2;2;13/12/2010 08:26;1,50;8\n".encode("cp1252")
    )
    found = inspect_input(path, Settings())
    rows = dict(found.rows)
    assert rows["decimal separator"] == ", (detected)"
    assert rows["dates"] == "%d/%m/%Y %H:%M"
    assert rows["encoding"] == "cp1252"
    assert found.parameters["csv"] == {
        "decimal": ",",
        "encoding": "cp1252",
        "date_format": "%d/%m/%Y %H:%M",
    }
    assert found.parameters["columns"]["customer"] == "CustomerID"


def test_cli_inspect_and_dry_run_write_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY)
    result = runner.invoke(app, ["inspect", str(path), "--save", str(tmp_path / "m.yml")])
    assert result.exit_code == 0, result.output
    assert "How custseg reads it" in result.stdout and "shopify" in result.stdout
    assert (tmp_path / "m.yml").is_file()
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--dry-run", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "How custseg reads it" in result.stdout
    assert not out.exists()
    result = runner.invoke(app, ["inspect", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2


def test_a_workbook_names_the_sheets_read(tmp_path: Path) -> None:
    import datetime as dt

    from tests.io import ONLINE_RETAIL
    from tests.xlsx import write_xlsx

    row = ["1", "A", "d", 2, dt.datetime(2011, 1, 1, 10), 1.5, "7", "UK"]
    book = tmp_path / "book.xlsx"
    write_xlsx(book, {"Year 2010": [ONLINE_RETAIL, row], "Year 2011": [ONLINE_RETAIL, row]})
    rows = dict(inspect_input(book, Settings()).rows)
    assert rows["sheets read"] == "Year 2010, Year 2011"
    assert rows["dates"].startswith("typed (timestamp")


def test_a_date_format_for_typed_dates_is_neither_shown_nor_saved(tmp_path: Path) -> None:
    import datetime as dt

    import pandas as pd

    path = tmp_path / "typed.parquet"
    pd.DataFrame(
        {
            "InvoiceNo": ["1", "2"],
            "Quantity": [1, 2],
            "InvoiceDate": [dt.datetime(2011, 1, 1, 10), dt.datetime(2011, 2, 1, 9)],
            "UnitPrice": [1.5, 2.0],
            "CustomerID": ["7", "8"],
        }
    ).to_parquet(path)
    found = inspect_input(path, Settings(csv={"date_format": "%d/%m/%Y"}))
    assert dict(found.rows)["dates"] == "typed (timestamp)"
    assert "csv" not in found.parameters
