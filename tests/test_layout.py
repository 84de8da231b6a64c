"""The tests mirror the package: each module has its test module, or a stated reason not to."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "custseg"

#: Modules tested through another test module, and where.
ELSEWHERE = {
    "__main__.py": "tests/cli/test_commands.py (python -m custseg)",
    "errors.py": "every test of a one-sentence error",
    "progress.py": "tests/cli/test_commands.py (progress bars, stage logs)",
    "charts.py": "tests/test_reporting.py (every figure of the report)",
    "cli/__init__.py": "tests/cli/test_commands.py",
    "cli/console.py": "tests/cli/test_commands.py (messages, exit codes, progress)",
    "cli/tools.py": "tests/cli/test_commands.py (synth), tests/test_download.py (download), "
    "tests/io/test_cache.py (clear-cache)",
    "commands/__init__.py": "a docstring only",
    "commands/to_db.py": "tests/io/test_db_out.py (--to-db on run, clv, cohorts and migrate)",
    "io/__init__.py": "re-exports only",
    "dashboard/__init__.py": "tests/dashboard/test_apptest.py and test_browser.py",
    "dashboard/pages.py": "tests/dashboard/test_apptest.py",
    "dashboard/clv_tab.py": "tests/dashboard/test_apptest.py (the Lifetime value tab)",
    "dashboard/sidebar.py": "tests/dashboard/test_apptest.py",
    "dashboard/state.py": "tests/dashboard/test_apptest.py",
    "dashboard/views.py": "tests/dashboard/test_apptest.py",
    "spark.py": "tests/spark/ (needs PySpark)",
    "mllib.py": "tests/spark/test_spark.py (needs PySpark)",
}


def test_every_module_has_its_tests() -> None:
    missing = []
    for module in sorted(PACKAGE.rglob("*.py")):
        rel = module.relative_to(PACKAGE)
        if str(rel) == "__init__.py" or str(rel) in ELSEWHERE:
            continue
        mirror = ROOT / "tests" / rel.parent / f"test_{rel.name}"
        if not mirror.is_file():
            missing.append(f"{rel} -> {mirror.relative_to(ROOT)}")
    assert not missing, "modules without tests: " + "; ".join(missing)


def test_no_module_is_too_long() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700
    }
    assert not long, long


def test_every_module_said_to_be_tested_elsewhere_exists_without_its_mirror() -> None:
    for rel in ELSEWHERE:
        assert (PACKAGE / rel).is_file(), f"{rel} is listed in ELSEWHERE but does not exist"
        mirror = ROOT / "tests" / Path(rel).parent / f"test_{Path(rel).name}"
        assert not mirror.is_file(), f"{rel} has {mirror.relative_to(ROOT)}: drop it from ELSEWHERE"
