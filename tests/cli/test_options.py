"""The input, cleaning, as-of and segment options: declared once, taken by every command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg.cli import app
from custseg.cli.options import CleaningOptions, InputOptions, ModelOptions
from custseg.synth import generate_orders

INPUT_FLAGS = [
    "--customer-col",
    "--invoice-col",
    "--date-col",
    "--quantity-col",
    "--price-col",
    "--amount-col",
    "--sheet",
    "--delimiter",
    "--decimal",
    "--encoding",
    "--date-format",
    "--engine",
    "--spark-master",
    "--memory-limit",
    "--temp-dir",
    "--threads",
    "--no-cache",
    "--config",
]


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic order lines under other names, semicolons and decimal commas."""
    lines, _ = generate_orders(80, seed=5)
    lines = lines.rename(
        columns={
            "InvoiceNo": "Order",
            "CustomerID": "Client",
            "InvoiceDate": "When",
            "Quantity": "Units",
            "UnitPrice": "Each",
        }
    )
    path = tmp_path_factory.mktemp("renamed") / "orders.csv"
    lines["When"] = lines["When"].dt.strftime("%d/%m/%Y %H:%M")
    lines.to_csv(path, sep=";", decimal=",", index=False)
    return path


MAPPING = [
    "--customer-col", "Client", "--invoice-col", "Order", "--date-col", "When",
    "--quantity-col", "Units", "--price-col", "Each", "--delimiter", ";", "--decimal", ",",
    "--date-format", "%d/%m/%Y %H:%M",
]  # fmt: skip


def _run(*args: str) -> None:
    result = CliRunner().invoke(app, [*args, "--quiet"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["run", "score", "migrate", "clv", "cohorts"])
def test_every_reading_command_lists_the_input_options(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for flag in INPUT_FLAGS:
        assert flag in result.output, (command, flag)
    assert "Input: file, columns, dialect, engine" in result.output
    has_cleaning = command != "score"  # score takes its rules from the model
    assert ("--keep-cancelled" in result.output) is has_cleaning
    assert ("--k-max" in result.output) is (command in ("run", "migrate", "clv", "cohorts"))


def test_every_command_reads_a_renamed_semicolon_file(renamed: Path, tmp_path: Path) -> None:
    _run("run", str(renamed), "--out", str(tmp_path / "run"), *MAPPING, "--k", "3")
    model = tmp_path / "run" / "model.json"
    _run("score", str(renamed), "--model", str(model), "--out", str(tmp_path / "s"), *MAPPING)
    _run("clv", str(renamed), "--out", str(tmp_path / "clv"), *MAPPING, "--k", "3")
    _run("cohorts", str(renamed), "--out", str(tmp_path / "co"), *MAPPING, "--k", "3")
    dates = ["--as-of", "2011-06-01", "--as-of", "2011-12-10"]
    _run("migrate", str(renamed), *dates, "--out", str(tmp_path / "m"), *MAPPING, "--k", "3")
    scored = (tmp_path / "s" / "customers.csv").read_text()
    assert scored == (tmp_path / "run" / "customers.csv").read_text()
    quality = json.loads((tmp_path / "s" / "data_quality.json").read_text())
    assert quality["input"]["mapping"]["customer"] == "Client"
    assert quality["input"]["reader_options"]["decimal_separator"] == ","
    for folder in ("clv", "co"):
        log = json.loads((tmp_path / folder / "run_log.json").read_text())
        assert log["input_scans"] == 1


def test_cleaning_and_as_of_options_reach_cohorts(tiny_csv: Path, tmp_path: Path) -> None:
    _run("cohorts", str(tiny_csv), "--out", str(tmp_path / "a"), "--k", "2")
    _run(
        "cohorts", str(tiny_csv), "--out", str(tmp_path / "b"), "--k", "2",
        "--drop-duplicates", "--as-of", "2011-01-10",
    )  # fmt: skip
    # By default: 1001 + 1002 (18), 1004 (7.5), both 1008 lines (16). With the options,
    # 1002 (01-10 09:00) is after the as-of date and one 1008 line is a duplicate. January
    # is the last month and the data end before its end: partial.
    assert "2011-01,0,2011-01,3,3,1.0,41.5,True" in (tmp_path / "a" / "cohorts.csv").read_text()
    assert "2011-01,0,2011-01,3,3,1.0,28.5,True" in (tmp_path / "b" / "cohorts.csv").read_text()


def test_groups_turn_into_settings_overrides() -> None:
    inputs = InputOptions(customer_col="Client", engine="spark", temp_dir="/tmp/x")
    assert inputs.overrides()["columns"]["customer"] == "Client"
    assert inputs.overrides()["engine"] == {
        "name": "spark",
        "spark_master": None,
        "memory_limit": None,
        "temp_directory": "/tmp/x",
        "threads": None,
        "cache": None,
    }
    assert (
        CleaningOptions(drop_returns=False).overrides()["cleaning"]["drop_non_positive_quantity"]
        is False
    )
    assert ModelOptions(k="4").overrides() == {
        "model": {"k": "4", "k_min": None, "k_max": None, "seed": None}
    }


def test_given_names_the_options_as_typed() -> None:
    assert CleaningOptions(drop_cancelled=False, drop_duplicates=True).given() == [
        "--keep-cancelled",
        "--drop-duplicates",
    ]
    assert ModelOptions(k="4", seed=1).given() == ["--k", "--seed"]
    assert ModelOptions(k="4", k_max=6).given("k_min", "k_max") == ["--k-max"]
    assert InputOptions(spark_master="local", cache=False, threads=2).given(
        "spark_master", "cache"
    ) == ["--spark-master", "--no-cache"]


@pytest.mark.parametrize(
    ("args", "code"), [(["--help"], 0), (["run", "--help"], 0), (["run", "--k-min", "x"], 2)]
)
def test_help_and_usage_errors_import_nothing_heavy(args: list[str], code: int) -> None:
    # Read at exit (main leaves through the exit handlers, see custseg.cli.console.leave).
    script = (
        "import atexit, sys; from custseg.cli import main; sys.argv = ['custseg', *sys.argv[1:]]\n"
        "heavy = ('pandas', 'sklearn', 'duckdb', 'scipy', 'plotly', 'pyarrow')\n"
        "atexit.register(lambda: print(sorted(m for m in heavy if m in sys.modules), "
        "file=sys.stderr))\n"
        "main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    assert out.returncode == code, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr


def test_help_shows_the_spark_extra_as_typed() -> None:
    got = CliRunner().invoke(app, ["run", "--help"], terminal_width=100)
    assert got.exit_code == 0 and "'custseg[spark]'" in got.output
