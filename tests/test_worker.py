"""The fitting worker: a forked process that runs functions and answers as this one would.

The test process has imported scikit-learn and runs threads, so it never forks a worker
itself (and tests/conftest.py switches it off): each test runs a small script in a fresh
interpreter, where the worker forks as it does in a command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from custseg import worker
from custseg.clustering import Solution, fit_kmeans, relabel, solve_kmeans

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the worker forks on Linux only")

HEADER = """
import json, os, signal, sys, threading, time, warnings
from custseg import worker
from custseg.errors import UserError

def where(x, on_step=None):
    for i in range(3):
        if on_step is not None:
            on_step(i)
    return os.getpid(), x * 2

def fails():
    raise UserError("the data cannot be segmented into 9 clusters.")

def unpicklable():
    return threading.Lock()

class Odd(UserWarning):
    pass

def warns():
    warnings.warn("careful", RuntimeWarning)
    warnings.warn("odd", Odd)
    return 1

def halves(on_step=None):
    def work(step):
        if step is not None:
            step("there")
        return os.getpid()
    other = worker.share(work, on_step)
    return None if other is None else (os.getpid(), other.result())

def shared(kind):
    parent = os.getpid()
    def work(step):
        if kind == "dies" and os.getpid() != parent:
            os._exit(3)
        if kind == "fails":
            raise UserError("the second process failed.")
        if kind == "warns":
            warnings.warn("careful there", RuntimeWarning)
        return os.getpid() == parent
    return worker.share(work).result()

facts = {}
"""


def _script(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> dict[str, object]:
    script = tmp_path / "script.py"
    script.write_text(HEADER + body + "\nprint(json.dumps(facts))\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    facts: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


def test_a_call_runs_in_the_worker_and_relays_its_steps_and_result(tmp_path: Path) -> None:
    facts = _script(
        tmp_path,
        """
facts["started"] = worker.start(["json"])
steps = []
pid, doubled = worker.call(where, 21, on_step=steps.append)
facts.update(other=pid != os.getpid(), doubled=doubled, steps=steps)
pid2, _ = worker.call(where, 1)
facts["same_worker"] = pid2 == pid
worker.stop()
facts["running"] = worker.running()
try:
    os.kill(pid, 0)
    facts["reaped"] = False
except ProcessLookupError:
    facts["reaped"] = True
""",
    )
    assert facts == {
        "started": True,
        "other": True,
        "doubled": 42,
        "steps": [0, 1, 2],
        "same_worker": True,
        "running": False,
        "reaped": True,
    }


def test_errors_and_warnings_of_the_worker_reach_the_caller(tmp_path: Path) -> None:
    facts = _script(
        tmp_path,
        """
worker.start(["json"])
try:
    worker.call(fails)
except UserError as exc:
    facts["error"] = str(exc)
try:
    worker.call(unpicklable)
except RuntimeError as exc:
    facts["unpicklable"] = str(exc).startswith("lock: <unlocked _thread.lock object")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    facts["value"] = worker.call(warns)
facts["warnings"] = [[w.category.__name__, str(w.message)] for w in caught]
facts["still_there"] = worker.call(where, 2)[1]
""",
    )
    assert facts == {
        "error": "the data cannot be segmented into 9 clusters.",
        "unpicklable": True,
        "value": 1,
        # A category the caller may not have imported arrives as a built-in one, named.
        "warnings": [["RuntimeWarning", "careful"], ["UserWarning", "Odd: odd"]],
        "still_there": 4,
    }


def test_the_workers_first_job_may_share_its_work_with_a_second_process(tmp_path: Path) -> None:
    facts = _script(
        tmp_path,
        """
facts["outside"] = worker.share(lambda step: 1) is None
worker.start(["json"])
steps = []
worker_pid, second_pid = worker.call(halves, on_step=steps.append)
facts["three_processes"] = len({os.getpid(), worker_pid, second_pid}) == 3
facts["steps"] = steps
facts["second_gone"] = not os.path.exists(f"/proc/{second_pid}")
facts["second_job"] = worker.call(halves)
""",
    )
    assert facts == {
        "outside": True,
        "three_processes": True,
        "steps": ["there"],
        "second_gone": True,
        # OpenMP may have started its threads in the first job: no fork after it.
        "second_job": None,
    }


def test_a_shared_works_error_warnings_and_death_reach_the_caller(tmp_path: Path) -> None:
    facts = _script(
        tmp_path,
        """
def fresh(kind):
    worker.stop()
    worker.start(["json"])
    return worker.call(shared, kind)

facts["done_there"] = fresh("done") is False
facts["dead_done_here"] = fresh("dies") is True
try:
    fresh("fails")
except UserError as exc:
    facts["error"] = str(exc)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fresh("warns")
facts["warnings"] = [[w.category.__name__, str(w.message)] for w in caught]
""",
    )
    assert facts == {
        "done_there": True,
        "dead_done_here": True,
        "error": "the second process failed.",
        "warnings": [["RuntimeWarning", "careful there"]],
    }


def test_the_k_sweep_split_over_two_processes_scores_as_two_threads_do(tmp_path: Path) -> None:
    marker = tmp_path / "forked"
    facts = _script(
        tmp_path,
        f"""
import numpy as np
from custseg.lazy import FITTING
from custseg.model_selection import score_k_range

real_share = worker.share
def share(work, on_step=None):
    got = real_share(work, on_step)
    open({str(marker)!r}, "a").write(str(got is not None))
    return got
worker.share = share

worker.start(FITTING)
x = np.random.default_rng(7).normal(size=(400, 3))
ks = [2, 3, 4, 5, 6]
args = dict(seed=3, n_init=3, stability_resamples=4, stability_ks=[3, 4, 5])
steps = []
there = worker.call(score_k_range, x, ks, on_step=steps.append, **args)
worker.stop()
here = score_k_range(x, ks, **args)
facts["k"] = there.table["k"].tolist()
facts["table"] = there.table.equals(here.table)
facts["models"] = all(
    np.array_equal(there.models[k].cluster_centers_, here.models[k].cluster_centers_)
    and np.array_equal(there.models[k].labels_, here.models[k].labels_)
    for k in ks
)
facts["steps"] = sorted(steps)
facts["stability"] = int(here.table["stability"].notna().sum())
""",
    )
    # The worker forked its second process; here, outside the worker, two threads ran.
    assert marker.read_text() == "TrueFalse"
    assert facts == {
        "k": [2, 3, 4, 5, 6],
        "table": True,
        "models": True,
        "steps": [2, 3, 4, 5, 6],
        "stability": 3,
    }


def test_the_worker_imports_what_k_means_and_its_scores_need_and_no_more(
    tmp_path: Path,
) -> None:
    facts = _script(
        tmp_path,
        """
from custseg.lazy import FITTING
worker.import_for_fits(FITTING)
names = ["sklearn.cluster._kmeans", "sklearn.metrics.cluster._unsupervised",
         "custseg.model_selection", "sklearn.cluster._dbscan", "scipy.optimize",
         "scipy.stats._stats_py", "sklearn.neighbors"]
facts["imported"] = [name for name in names if name in sys.modules]
import numpy as np
from custseg.model_selection import score_k_range
x = np.random.default_rng(7).normal(size=(300, 3))
facts["k"] = score_k_range(x, [2, 3], seed=3, n_init=2, stability_resamples=2).table[
    "k"].tolist()
facts["still_skipped"] = "sklearn.cluster._dbscan" in sys.modules
""",
    )
    assert facts == {
        "imported": [
            "sklearn.cluster._kmeans",
            "sklearn.metrics.cluster._unsupervised",
            "custseg.model_selection",
        ],
        "k": [2, 3],
        "still_skipped": False,
    }


def test_a_worker_that_died_is_replaced_by_this_process(tmp_path: Path) -> None:
    facts = _script(
        tmp_path,
        """
worker.start(["json"])
pid, _ = worker.call(where, 1)
os.kill(pid, signal.SIGKILL)
time.sleep(0.2)
here, doubled = worker.call(where, 5)
facts.update(here=here == os.getpid(), doubled=doubled, running=worker.running())
""",
    )
    assert facts == {"here": True, "doubled": 10, "running": False}


def test_a_call_cut_short_by_stopping_the_worker_is_not_run_again_here(tmp_path: Path) -> None:
    facts = _script(
        tmp_path,
        """
def slow():
    time.sleep(5)
    return os.getpid()

worker.start(["json"])
threading.Timer(0.5, worker.stop).start()
try:
    facts["value"] = worker.call(slow)
except RuntimeError as exc:
    facts["error"] = str(exc)
facts["running"] = worker.running()
""",
    )
    assert facts == {"error": "the fitting worker was stopped during a call", "running": False}


@pytest.mark.parametrize(
    ("prelude", "env"),
    [
        ("", {"CUSTSEG_WORKER": "0"}),
        ("import sklearn\n", {}),
        ("threading.Thread(target=time.sleep, args=(2,), daemon=True).start()\n", {}),
    ],
    ids=["switched-off", "sklearn-imported", "threads-running"],
)
def test_no_worker_is_forked_where_it_is_unsafe_or_refused(
    tmp_path: Path, prelude: str, env: dict[str, str]
) -> None:
    facts = _script(
        tmp_path,
        prelude
        + """
facts["started"] = worker.start(["json"])
facts["here"] = worker.call(where, 1)[0] == os.getpid()
""",
        env,
    )
    assert facts == {"started": False, "here": True}


def test_the_worker_ends_when_its_parent_does(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = tmp_path / "exit.py"
    script.write_text(
        HEADER
        + f"""
worker.start(["json"])
pid, _ = worker.call(where, 1)
open({str(pid_file)!r}, "w").write(str(pid))
os._exit(0)  # no atexit handler: the worker must see the closed pipe by itself
""",
        encoding="utf-8",
    )
    subprocess.run([sys.executable, str(script)], check=True, timeout=120)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _state(pid) != "gone" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _state(pid) == "gone"


def _state(pid: int) -> str:
    """Return "gone" once the process has exited (a zombie too: its parent has gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (OSError, IndexError):
        return "gone"
    return "gone" if state == "Z" else state


def test_without_a_worker_a_call_runs_here_and_gives_the_estimators_solution() -> None:
    assert not worker.running()
    x = np.random.default_rng(0).normal(size=(200, 3))
    got = worker.call(solve_kmeans, x, 3, seed=0, n_init=2)
    want = fit_kmeans(x, 3, seed=0, n_init=2)
    np.testing.assert_array_equal(got.cluster_centers_, want.cluster_centers_)
    np.testing.assert_array_equal(got.labels_, want.labels_)
    assert got.inertia_ == want.inertia_
    for mine, theirs in zip(relabel(got, x), relabel(want, x), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert Solution.of(got) is got


def test_a_command_forks_its_worker_for_a_file_input_of_moderate_size(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_text("a\n1\n", encoding="utf-8")
    big = tmp_path / "big.parquet"
    with big.open("wb") as fh:  # sparse: no disk is used
        fh.truncate(worker.MAX_INPUT_BYTES + 1)
    facts = _script(
        tmp_path,
        f"""
facts["big"] = worker.fit_ahead({str(big)!r})
facts["folder"] = worker.fit_ahead({str(tmp_path)!r})
facts["url"] = worker.fit_ahead("s3a://bucket/orders")
facts["missing"] = worker.fit_ahead({str(tmp_path / "absent.csv")!r})
facts["running"] = worker.running()
facts["small"] = worker.fit_ahead({str(small)!r})
facts["default"] = worker.fit_ahead(None)
facts["kept"] = worker.running()
facts["ended"] = worker.fit_ahead({str(big)!r})  # forked before the input was known
facts["after"] = worker.running()
""",
    )
    assert facts == {
        "big": False,
        "folder": False,
        "url": False,
        "missing": False,
        "running": False,
        "small": True,
        "default": True,
        "kept": True,
        "ended": False,
        "after": False,
    }


@pytest.mark.realdata
def test_a_command_whose_worker_fits_never_imports_scikit_learn_itself(
    tmp_path: Path, real_parquet: Path
) -> None:
    script = tmp_path / "command.py"
    script.write_text(
        "import atexit, sys\n"
        "atexit.register(lambda: print('sklearn' in sys.modules, 'scipy.stats' in sys.modules))\n"
        "from custseg.cli import main\n"
        f"sys.argv = ['custseg', 'cohorts', {str(real_parquet)!r}, '--out', "
        f"{str(tmp_path / 'out')!r}, '--quiet']\n"
        "main()\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "CUSTSEG_WORKER"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"
    log = json.loads((tmp_path / "out" / "run_log.json").read_text())
    assert log["fitting_process"] == "a forked worker"


def _share_reading(messages: list[tuple[str, object]], work: object, on_step: object) -> object:
    """A Share whose second process already wrote ``messages`` and exited."""
    import pickle

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as pipe:
        for message in messages:
            pickle.dump(message, pipe)
    done = subprocess.Popen(["true"])  # a child of this process to reap, as the fork's
    return worker.Share(done.pid, os.fdopen(read_end, "rb"), work, on_step).result()


def test_a_failing_progress_step_does_not_lose_the_shared_result() -> None:
    calls: list[object] = []

    def gone(value: object) -> None:
        calls.append(value)
        raise BrokenPipeError("the command's end of the pipe is closed")

    messages = [("step", 1), ("step", 2), ("done", (5, []))]
    assert _share_reading(messages, lambda step: 0, gone) == 5
    assert calls == [1]  # after the first failure no step is relayed


def test_a_second_process_that_ended_without_a_reply_leaves_the_work_here() -> None:
    steps: list[object] = []

    def work(step: object) -> str:
        return f"here, steps {'on' if step is not None else 'off'}"

    assert _share_reading([("step", 1)], work, steps.append) == "here, steps on"
    assert steps == [1]


def test_steps_the_second_process_made_before_it_died_are_not_counted_twice() -> None:
    steps: list[object] = []

    def work(step: Callable[[object], None] | None) -> str:
        assert step is not None
        for k in (3, 5, 7):  # the whole share again, here
            step(k)
        return "done here"

    assert _share_reading([("step", 3), ("step", 5)], work, steps.append) == "done here"
    assert steps == [3, 5, 7]  # a progress bar of three ks ends at three
    # Without a progress callback, the work runs without one.
    assert _share_reading([("step", 3)], lambda step: step is None, None) is True
