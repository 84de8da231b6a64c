"""The Python API: the commands' results from ``import custseg``, options checked alike."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import custseg
from custseg import api
from custseg.errors import UserError


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return custseg.synthetic_orders(
        tmp_path_factory.mktemp("api") / "orders.parquet", customers=400, seed=2
    )


def test_the_docstring_examples_run() -> None:
    failed, tried = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert tried >= 8 and failed == 0


def test_import_custseg_stays_light() -> None:
    code = (
        "import sys, custseg; print('pandas' in sys.modules, 'importlib.metadata' in "
        "sys.modules, callable(custseg.segment))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_the_version_is_the_installed_packages() -> None:
    from importlib.metadata import version

    assert custseg.__version__ == version("custseg")
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        custseg.nonsense  # noqa: B018


def test_segment_equals_the_command(lines: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    result = custseg.segment(lines, k=3, drop_duplicates=True, seed=1)
    args = ["--k", "3", "--drop-duplicates", "--seed", "1", "--out", str(tmp_path / "cli")]
    cli = CliRunner().invoke(app, ["run", str(lines), *args, "-q"])
    assert cli.exit_code == 0, cli.output
    written = result.write(tmp_path / "api")
    assert sorted(p.name for p in written) == sorted(
        p.name for p in (tmp_path / "cli").iterdir() if not p.name.startswith(".")
    )
    for name in ("customers.csv", "segments.csv", "k_selection.csv", "cohorts.csv"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    assert result.model["k"] == 3 and len(result.segments) == 3
    assert result.model["settings"]["cleaning"]["drop_duplicates"] is True
    assert list(result.k_selection["k"]) == [3]
    assert isinstance(result.customers, pd.DataFrame)


def test_the_other_commands(lines: Path, tmp_path: Path) -> None:
    value = custseg.lifetime_value(lines, draws=0)
    assert {"customer_id", "clv", "p_alive"} <= set(value.customers.columns)
    assert value.params["choice"]["chosen"] in ("bg_nbd", "mbg_nbd", "pareto_nbd")
    assert "clv.csv" in [p.name for p in value.write(tmp_path / "clv")]
    months = custseg.cohort_retention(lines, k=3)
    assert months.cohorts["cohort"].nunique() > 3 and not months.persona_retention.empty
    moved = custseg.migrate(lines, "2011-06-01", "2011-12-01", k=3)
    assert int(moved.matrix["customers"].sum()) > 0 and "moved" in moved.sentence
    assert "migration.csv" in [p.name for p in moved.write(tmp_path / "migration")]


def test_options_are_checked_as_on_the_command_line(lines: Path) -> None:
    with pytest.raises(UserError, match="unknown option 'colour'"):
        custseg.segment(lines, colour="blue")
    with pytest.raises(UserError, match="returns"):
        custseg.segment(lines, returns="sometimes")
    with pytest.raises(UserError, match="'Mars/Olympus' is not an IANA time zone"):
        custseg.segment(lines, timezone="Mars/Olympus")
    assert set(api.OPTIONS) >= {"customer_col", "k", "as_of", "table", "suppress", "returns"}
    assert api.OPTIONS["customer_col"] == ("columns", "customer")
