"""SIGTERM and SIGHUP: staging removed, a message, exit 128 + signal; never a half-moved set."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custseg.io import writers
from custseg.io.writers import remove_stale_staging, staged_folder
from custseg.signals import Terminated, deferred, install

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def handlers():  # type: ignore[no-untyped-def]
    from custseg import signals

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    install()
    yield
    for s, h in saved.items():
        signal.signal(s, h)
    signals._received.clear()


def test_a_signal_inside_a_duckdb_query_still_ends_as_stopped(handlers) -> None:  # type: ignore[no-untyped-def]
    import threading

    import duckdb
    import typer

    from custseg.cli.console import user_errors

    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    with pytest.raises(typer.Exit) as ended, user_errors():
        # DuckDB turns the pending signal into its own "Query interrupted" error.
        con = duckdb.connect()  # as custseg's engines run queries
        con.execute("SELECT count(*) FROM range(3000000000) t(i) WHERE i % 7 = 3").fetchall()
    timer.join()
    assert ended.value.exit_code == 143


def test_sigterm_while_writing_leaves_the_old_outputs_and_no_debris(
    handlers, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "customers.csv").write_text("old")
    (out / "run_log.json").write_text("{}")  # an earlier version's outputs
    with pytest.raises(Terminated) as stopped, staged_folder(out, "--out") as stage:
        (stage / "customers.csv").write_text("new")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler raises here
    assert stopped.value.signum == signal.SIGTERM
    assert sorted(p.name for p in out.iterdir()) == ["customers.csv", "run_log.json"]
    assert (out / "customers.csv").read_text() == "old"


def test_a_stop_a_library_swallowed_is_not_committed(handlers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from custseg import signals

    out = tmp_path / "out"
    with pytest.raises(Terminated), staged_folder(out, "--out") as stage:
        (stage / "customers.csv").write_text("new")
        signals._received.append(signal.SIGTERM)  # received, then caught by a library
    assert not (out / "customers.csv").exists()
    assert [p.name for p in out.iterdir()] == []


STUCK = """
import sys, time
from pathlib import Path
from custseg.io.writers import staged_folder
from custseg.signals import Terminated, install
install()
with staged_folder(Path(sys.argv[1]), "--out") as stage:
    (stage / "customers.csv").write_text("half")
    said = False
    while True:  # stuck: a first stop is caught and ignored, as a hung library would
        try:
            if not said:  # said inside the try: a signal right after it is caught too
                said = True
                print("writing", flush=True)
            time.sleep(0.05)
        except Terminated:
            print("ignored", flush=True)
"""


def test_a_second_signal_ends_a_stuck_run_at_once_without_debris(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.readline().strip() == "ignored"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert "stopped by SIGTERM (asked twice)" in (proc.stderr.read() if proc.stderr else "")
    assert list(out.iterdir()) == []  # the staging folder went with it


def test_a_signal_during_the_move_waits_for_the_whole_set(
    handlers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    real_replace = os.replace
    calls = []

    def replace(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGHUP)  # arrives after the first file moved
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(writers.os, "replace", replace)
    with pytest.raises(Terminated) as stopped, staged_folder(out, "--out") as stage:
        for name in ("a.csv", "b.csv", "c.csv"):
            (stage / name).write_text(name)
    assert stopped.value.signum == signal.SIGHUP
    assert sorted(p.name for p in out.iterdir()) == [
        ".custseg-outputs.json",
        "a.csv",
        "b.csv",
        "c.csv",
    ]
    assert out in writers.COMMITTED


def test_deferred_without_a_signal_is_transparent(handlers) -> None:
    with deferred():
        pass


def test_stale_staging_of_a_dead_run_is_removed(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    dead = tmp_path / f".custseg-staging-{int(done.stdout)}-x1"
    dead.mkdir()
    (dead / "customers.csv").write_text("partial")
    legacy = tmp_path / ".custseg-staging-k2j9"  # named by an earlier version, no pid
    legacy.mkdir()
    running = tmp_path / f".custseg-staging-{os.getpid()}-y2"
    running.mkdir()
    mine = tmp_path / "notes.txt"
    mine.write_text("keep")
    assert sorted(remove_stale_staging(tmp_path)) == sorted([dead, legacy])
    assert running.exists() and mine.exists()


@pytest.mark.parametrize("stage", ["input:", "rfm", "k-select"])
def test_the_command_says_how_it_was_stopped(tmp_path: Path, stage: str) -> None:
    # A run stopped by SIGTERM as soon as it reports a stage: while it reads, while it
    # scales and sweeps k, while it fits and writes. A timer would race the run's speed.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = "from custseg.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", command, "run", "--out", str(tmp_path / "o")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = []
    while not (seen and seen[-1].lstrip().startswith(stage)):
        line = proc.stderr.readline()
        assert line, "".join(seen)  # the run ended without reporting the stage
        seen.append(line)
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=120)
    stderr = "".join(seen) + rest
    if any(line.lstrip().startswith("outputs ") for line in stderr.splitlines()):
        pytest.skip("the run finished before the signal")  # a very fast machine
    assert proc.returncode == 143, stderr
    assert "stopped by SIGTERM;" in stderr
    assert "Traceback" not in stderr
    assert not any(p.name.startswith(".custseg-") for p in tmp_path.rglob("*"))
