"""Shared fixtures: a hand-computed order-line file and the real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custseg import worker

# Commands run inside the test process fit K-Means here: a forked worker would not see a
# test's monkeypatches. Commands run as subprocesses fork theirs (tests/test_worker.py and
# the worker scenarios of tests/e2e/test_golden.py).
worker.ENABLED = False

ROOT = Path(__file__).resolve().parents[1]
REAL_PARQUET = ROOT.parent / "shared" / "data" / "online_retail.parquet"
REAL_XLSX = ROOT.parent / "shared" / "data" / "online_retail.xlsx"
CDNOW = ROOT.parent / "shared" / "data" / "cdnow_sample.csv"

# Twelve order lines whose every figure is worked out by hand in the tests:
#   missing_customer_id 2 (1005, and C1010 which is counted there first), cancelled 1 (C1003),
#   non_positive_quantity 2 (1006, 1009), non_positive_price 1 (1007); 6 rows kept, 1 of
#   them an exact duplicate (1008). Last kept timestamp 2011-01-10 09:00, so the default
#   as-of date is 2011-01-11 09:00.
TINY_CSV = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1001,A,x,2,2011-01-01 10:00:00,5.0,1,UK
1001,B,y,1,2011-01-01 10:00:00,3.0,1,UK
1002,A,x,1,2011-01-10 09:00:00,5.0,1,UK
C1003,A,x,-1,2011-01-11 09:00:00,5.0,1,UK
1004,A,x,3,2011-01-05 12:00:00,2.5,2,UK
1005,A,x,1,2011-01-06 12:00:00,2.5,,UK
1006,A,x,0,2011-01-07 12:00:00,2.5,3,UK
1007,A,x,1,2011-01-08 12:00:00,0,3,UK
1008,A,x,2,2011-01-09 12:00:00,4.0,3,UK
1008,A,x,2,2011-01-09 12:00:00,4.0,3,UK
1009,A,x,-2,2011-01-02 08:00:00,4.0,4,UK
C1010,A,x,-1,2011-01-03 08:00:00,5.0,,UK
"""


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY_CSV, encoding="utf-8")
    return path


def _real(path: Path) -> Path:
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing on CI")
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def real_parquet() -> Path:
    return _real(REAL_PARQUET)


@pytest.fixture(scope="session")
def real_xlsx() -> Path:
    return _real(REAL_XLSX)


@pytest.fixture(scope="session")
def cdnow() -> Path:
    return _real(CDNOW)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic order file (300 customers) shared by the pipeline tests."""
    from custseg.synth import write_synthetic

    path = tmp_path_factory.mktemp("synth") / "orders.parquet"
    write_synthetic(path, customers=300, seed=3)
    return path


#: Test modules that run whole commands, the whole dashboard, other processes or a database
#: server, beside tests/e2e: end to end too (the unit tests of make test-fast took 6 min
#: with them on a slow day of this machine, 2.5 min without).
WHOLE = (
    "tests/dashboard/test_browser.py",
    "tests/dashboard/test_apptest.py",
    "tests/cli/test_commands.py",
    "tests/commands",
    "tests/io/test_database.py",
    "tests/io/test_db_out.py",
    "tests/test_signals.py",
    "tests/test_worker.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the end-to-end tests (whole commands, the notebook, the browser, benchmarks).

    ``make test-fast`` leaves them out (with the Spark tests); ``make test`` runs them all.
    """
    e2e = [ROOT / "tests" / "e2e", *(ROOT / w for w in WHOLE)]
    for item in items:
        where = Path(str(item.fspath))
        if any(where == p or p in where.parents for p in e2e):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """A real PostgreSQL server for this test session (see tests/postgres.py)."""
    from tests.postgres import start_server

    yield from start_server()
