"""The console script: it forks the fitting worker before the command line is imported."""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from custseg import launch
from custseg.launch import fits_ahead


def test_the_docstring_examples_run() -> None:
    failed, tried = doctest.testmod(launch)
    assert tried == 3 and failed == 0


@pytest.mark.parametrize(
    ("args", "fits"),
    [
        (["run"], True),  # the default input
        (["run", "orders.csv", "--k", "4"], True),
        (["run", "orders.csv", "--dry-run"], False),
        (["clv", "orders.csv"], True),
        (["clv", "orders.csv", "--model", "clv_params.json"], True),  # clv still fits personas
        (["cohorts", "orders.csv"], True),
        (["cohorts", "orders.csv", "--model", "model.json"], False),
        (["cohorts", "orders.csv", "-m", "model.json"], False),
        (["cohorts", "orders.csv", "--model=model.json"], False),
        (["migrate", "orders.csv", "--as-of", "2011-06-01", "--as-of", "2011-12-01"], True),
        (["migrate", "orders.csv", "-m", "model.json"], False),
        (["cohorts", "--help"], False),
        (["score", "orders.csv"], False),
        (["inspect", "orders.csv"], False),
        (["--help"], False),
        ([], False),
    ],
)
def test_the_script_forks_ahead_exactly_for_a_command_that_will_fit(
    args: list[str], fits: bool
) -> None:
    assert fits_ahead(args) is fits


CALLS = """
import atexit, json, sys
from custseg import worker
seen = []
real = worker.start
def start(modules):
    seen.append({"typer": "typer" in sys.modules, "pandas": "pandas" in sys.modules})
    return real(modules)
worker.start = start
atexit.register(lambda: print(json.dumps(seen)))
sys.argv = ["custseg", *sys.argv[1:]]
from custseg.launch import main
main()
"""


@pytest.mark.e2e  # whole commands in other processes
@pytest.mark.skipif(sys.platform != "linux", reason="the worker forks on Linux only")
@pytest.mark.parametrize("command", ["cohorts", "inspect"])
def test_the_worker_is_forked_before_the_command_line_is_imported(
    tmp_path: Path, synthetic: Path, command: str
) -> None:
    script = tmp_path / "custseg_script.py"
    script.write_text(CALLS, encoding="utf-8")
    out = tmp_path / "out"
    args = [command, str(synthetic)]
    if command != "inspect":
        args += ["--out", str(out), "--quiet"]
    env = {k: v for k, v in os.environ.items() if k != "CUSTSEG_WORKER"}
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    if command == "inspect":
        assert seen == []  # fits nothing: no worker at all
        return
    # First by the script, before Typer and pandas; then the command's own call keeps it.
    assert seen[0] == {"typer": False, "pandas": False}
    assert len(seen) == 2
    log = json.loads((out / "run_log.json").read_text(encoding="utf-8"))
    assert log["fitting_process"] == "a forked worker"
