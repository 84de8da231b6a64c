"""A working folder for dashboard tests: no real data, a small synthetic default."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def app_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dashboard-home")
    (home / "conf" / "base").mkdir(parents=True)
    (home / "conf" / "base" / "parameters.yml").write_text("synthetic_customers: 600\n")
    return home
