"""A forked process that imports scikit-learn while the command reads its input.

Importing scikit-learn takes 1 to 2 s (``scipy.stats`` alone, which it always imports,
about 0.7 s), and an import holds the interpreter lock: a thread that imports it in the
background (:mod:`custseg.lazy`) only overlaps it with the reading of a workbook, which
runs in Rust, not with pandas' import, DuckDB's scan of a Parquet cache or the writing of
outputs. A command that will fit K-Means therefore forks a worker as it starts (the
console script forks it before it imports the command line, :mod:`custseg.launch`; the
command keeps or ends it, :func:`fit_ahead`, before pandas is imported): the worker
imports scikit-learn on the second core, then waits; the command calls the fits through it
(:func:`call`), and never imports scikit-learn itself. On the real workbook with its cache
warm, ``custseg run`` took 0.91x the time it took without (median of 10 pairs; 3.69 s
against 3.89 s), ``cohorts`` 0.94x, and 20M lines 0.95x. Code that calls the library
itself (the dashboard, a notebook, a script) forks no worker and fits in its own process.

What crosses the pipes is pickled: the function (by name), its arguments, its progress
steps, warnings, and its result or exception. Results hold numpy arrays and pandas
frames only (:class:`custseg.clustering.Solution`, not a ``KMeans``), so unpickling them
imports nothing new. The worker runs the same code on the same inputs, so its results are
those of the command's own process, to the bit (a test compares every output file).

The worker is forked only where that is safe and useful: on Linux, from a process with a
single thread, before scikit-learn is imported (a fork after OpenMP has started its threads
can hang the child), and unless ``CUSTSEG_WORKER=0``. Otherwise, and if the worker dies,
:func:`call` runs the function in this process, as before.

Two more savings live here. The worker defers ``scipy.stats`` before it imports
scikit-learn (:func:`custseg.lazy.defer`: K-Means never uses it), and its first job, the
k sweep, may fork a second process for half of the k values (:func:`share`), because two
threads of small fits mostly wait for each other's interpreter lock. Together: ``custseg
run`` on the workbook with its cache warm took 0.77x the time of the code before them
(median of 10 pairs; 4.07 s against 5.06 s on a slow day of this machine). It also
skips the ``__init__`` of three scikit-learn packages that import every algorithm and
metric (:func:`import_for_fits`): 0.2 s less import, and the same run 0.91x the time
(median of 8 pairs; 2.60 s against 2.78 s on the AMD machine).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from custseg.progress import logger

__all__ = [
    "ENABLED",
    "MAX_INPUT_BYTES",
    "Share",
    "call",
    "fit_ahead",
    "import_for_fits",
    "running",
    "share",
    "start",
    "stop",
]

T = TypeVar("T")

#: Switched off by the tests that run commands in the test process (see tests/conftest.py).
ENABLED = True
#: Inputs above this size are read long enough for the background thread to import
#: scikit-learn during the scan, and a worker would only add its memory to the scan's peak
#: (100M lines: 24.0 s and 1.44 GiB for the process tree with one, 21.9 s and 1.33 GiB
#: without).
MAX_INPUT_BYTES = 256 * 2**20


class _Worker:
    """The parent's end of one forked worker: its pid and the two pipes."""

    def __init__(self, pid: int, requests: IO[bytes], replies: IO[bytes]) -> None:
        self.pid = pid
        self.requests = requests
        self.replies = replies
        self.lock = threading.Lock()
        self.closed = False

    def close(self) -> None:
        # The worker first, so that a call in flight reads the end of its pipe; that call
        # closes the pipes itself (closing them under its read could fail the read halfway).
        self.closed = True
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        if self.lock.acquire(blocking=False):
            try:
                self.close_pipes()
            finally:
                self.lock.release()

    def close_pipes(self) -> None:
        for pipe in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                pipe.close()


_current: _Worker | None = None
#: In the worker: true from its start to the end of its first job, while no OpenMP thread
#: has started in it, so that job may fork a second process (:func:`share`).
_pristine = False
#: In the worker: the file descriptors of its pipes to the command (a second process
#: closes its copies, so the command still sees the end of the pipe if the worker dies).
_own_pipes: tuple[int, ...] = ()


def _allowed() -> bool:
    return (
        ENABLED
        and os.environ.get("CUSTSEG_WORKER", "1") != "0"
        and sys.platform == "linux"
        and hasattr(os, "fork")
        and "sklearn" not in sys.modules
        and threading.active_count() == 1
    )


def start(modules: Sequence[str]) -> bool:
    """Fork a worker that imports ``modules`` and then serves :func:`call`.

    Parameters
    ----------
    modules : sequence of str
        What the worker imports at once (scikit-learn's modules).

    Returns
    -------
    bool
        Whether a worker is running (one already started counts); False where forking is
        not safe or switched off (then :func:`call` runs in this process).
    """
    global _current
    if _current is not None:
        return True
    if not _allowed():
        return False
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its work is checked through call()
        code = 0
        try:
            os.close(request_w)
            os.close(reply_r)
            _serve(modules, os.fdopen(request_r, "rb"), os.fdopen(reply_w, "wb"))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(request_r)
    os.close(reply_w)
    _current = _Worker(pid, os.fdopen(request_w, "wb"), os.fdopen(reply_r, "rb"))
    atexit.unregister(stop)
    atexit.register(stop)
    return True


def fit_ahead(input_path: str | Path | None) -> bool:
    """Fork the worker now, first thing in a command that will fit K-Means.

    Called before the command imports pandas, so that both imports run at once; not for
    an input file over :data:`MAX_INPUT_BYTES`, a folder or a URL (None: the command's
    default input, a workbook or the synthetic data). A worker the console script forked
    before it knew the input (:mod:`custseg.launch`) is kept, or ended for such an input.

    Returns
    -------
    bool
        Whether a worker runs.
    """
    from custseg.lazy import FITTING

    if input_path is not None:
        path = Path(input_path)
        if "://" in str(input_path) or not path.is_file() or path.stat().st_size > MAX_INPUT_BYTES:
            stop()
            return False
    return start(FITTING)


def running() -> bool:
    """Return whether a worker is running."""
    return _current is not None


def stop() -> None:
    """End the worker, if one runs (at exit, and when a call is interrupted or fails)."""
    global _current
    job, _current = _current, None
    if job is not None:
        job.close()


def call(
    func: Callable[..., T], *args: Any, on_step: Callable[[Any], None] | None = None, **kwargs: Any
) -> T:
    """Return ``func(*args, **kwargs)``, computed by the worker when one runs.

    Parameters
    ----------
    func : callable
        A module-level function (pickled by its name).
    *args, **kwargs
        Its arguments (pickled).
    on_step : callable, optional
        Passed to ``func`` as ``on_step``; in the worker each call is sent back and made
        here, so progress bars advance as the work does.

    Returns
    -------
    object
        What ``func`` returned. Warnings it gave are given again here; an exception it
        raised is raised here.
    """
    steps = {} if on_step is None else {"on_step": on_step}
    job = _current
    if job is None:
        return func(*args, **kwargs, **steps)
    lost: BaseException | None = None
    with job.lock:
        try:
            pickle.dump((func, args, kwargs, on_step is not None), job.requests, protocol=5)
            job.requests.flush()
            while True:
                kind, value = pickle.load(job.replies)
                if kind != "step":
                    break
                if on_step is not None:
                    on_step(value)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            lost = exc
        except BaseException:
            # Interrupted here (Ctrl-C, a failing progress bar): the worker is mid-job.
            stop()
            raise
    if lost is not None:
        if job.closed:  # stopped on purpose (the command is ending): no fit here either
            job.close_pipes()
            raise RuntimeError("the fitting worker was stopped during a call") from lost
        logger.debug("the fitting worker ended (%s); fitting in this process", lost)
        stop()
        return func(*args, **kwargs, **steps)
    result, caught = value
    for message, category, filename, lineno in caught:
        warnings.warn_explicit(message, category, filename, lineno)
    if kind == "error":
        raise result
    return result  # type: ignore[no-any-return]


class Share:
    """Work running in a second process forked from the worker (see :func:`share`)."""

    def __init__(
        self,
        pid: int,
        replies: IO[bytes],
        work: Callable[..., Any],
        on_step: Callable[[Any], None] | None,
    ) -> None:
        self.pid = pid
        self.work = work
        self.on_step = on_step
        self.reply: tuple[str, Any] | None = None
        self.lost: BaseException | None = None
        self.relayed: list[Any] = []  # the steps already made here
        self.replies = replies
        self.relay = threading.Thread(target=self._relay, name="custseg-share", daemon=True)
        self.relay.start()

    def _relay(self) -> None:
        # Progress steps as they come (the worker's own sender takes a lock), then the reply.
        try:
            while True:
                kind, value = pickle.load(self.replies)
                if kind != "step":
                    self.reply = (kind, value)
                    return
                self.relayed.append(value)
                if self.on_step is not None:
                    try:
                        self.on_step(value)
                    except Exception:  # the command's end is gone: the result still counts
                        self.on_step = None
        except (EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
            self.lost = exc
        finally:
            self.replies.close()

    def result(self) -> Any:
        """Wait for the work's result; compute it here if the second process died.

        Warnings it gave are given again here; an exception it raised is raised here.
        """
        self.relay.join()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        if self.reply is None:
            logger.debug("the second fitting process ended (%s); its share runs here", self.lost)
            return self.work(None if self.on_step is None else self._new_steps)
        kind, (value, caught) = self.reply
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        if kind == "error":
            raise value
        return value

    def _new_steps(self, value: Any) -> None:
        """Make a step of the work done again here, unless the second process made it."""
        if value in self.relayed:
            self.relayed.remove(value)  # made once there, once here: counted once
        elif self.on_step is not None:
            self.on_step(value)

    def cancel(self) -> None:
        """End the second process (the work around it failed: its result is not wanted)."""
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        self.relay.join()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def share(work: Callable[..., Any], on_step: Callable[[Any], None] | None = None) -> Share | None:
    """Start ``work(on_step)`` in a second process, where the worker's first job may fork one.

    The k sweep's fits hold the interpreter lock for much of their time, so two threads
    share one core's worth of Python (on the real data: 1.46 to 1.73 s on two threads
    against 1.63 to 2.02 s on one). Two processes do not. The worker may fork a second one
    only during its first job: it has started no OpenMP thread yet (a fork after OpenMP has
    started its threads can hang the child), and it runs a single thread. The second
    process runs ``work`` on the same data with the same seeds, so its results are those
    the worker would compute, to the bit; it sends its progress steps and its result back
    through a pipe and exits.

    Parameters
    ----------
    work : callable
        Called with ``on_step`` (or None) in the second process; its result is pickled.
    on_step : callable, optional
        Called here with each progress step the work makes there.

    Returns
    -------
    Share or None
        The running work (call :meth:`Share.result`, or :meth:`Share.cancel` when the work
        around it failed); None where no second process may be forked (outside the
        worker's first job, with threads running, on one core): run the work here.
    """
    global _pristine
    if not (_pristine and threading.active_count() == 1 and len(os.sched_getaffinity(0)) > 1):
        return None
    _pristine = False
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the second process; its work is checked by result()
        code = 0
        try:
            os.close(read_end)
            for fd in _own_pipes:  # the command reads the worker's end, not this copy
                os.close(fd)
            replies = os.fdopen(write_end, "wb")

            def step(value: Any) -> None:
                pickle.dump(("step", value), replies, protocol=5)
                replies.flush()

            with warnings.catch_warnings(record=True) as caught:
                try:
                    kind, value = "done", work(step if on_step is not None else None)
                except Exception as exc:
                    kind, value = "error", exc
            replies.write(_reply(kind, value, caught))
            replies.flush()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return Share(pid, os.fdopen(read_end, "rb"), work, on_step)


# ------------------------------------------------------------------------------ the child


def import_for_fits(modules: Sequence[str]) -> None:
    """Import ``modules`` as the worker does: what K-Means and its scores need, no more.

    ``scipy.stats`` is deferred (:func:`custseg.lazy.defer`), and the ``__init__`` of
    ``sklearn.cluster``, ``sklearn.metrics`` and ``sklearn.preprocessing`` skipped
    (:func:`custseg.lazy.skip_init`): any name of theirs still works, and runs them.
    """
    from custseg.lazy import FITTING_DIRECT, defer, skip_init

    defer("scipy.stats")  # scikit-learn imports it, K-Means never uses it (see defer)
    for package, direct in FITTING_DIRECT.items():  # every algorithm, every metric
        skip_init(package, direct)
    sources = {source for direct in FITTING_DIRECT.values() for source in direct.values()}
    for name in [*sorted(sources), *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # the job's own import reports it, in its place
            break


def _serve(
    modules: Sequence[str], requests: IO[bytes], replies: IO[bytes]
) -> None:  # pragma: no cover
    """Import ``modules``, then answer jobs until the parent closes its end (the worker)."""
    # The parent handles signals and ends the worker; Ctrl-C reaches the whole process
    # group and must end the worker without a traceback of its own.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    import_for_fits(modules)
    global _pristine, _own_pipes
    _pristine, _own_pipes = True, (requests.fileno(), replies.fileno())
    lock = threading.Lock()

    def write(data: bytes) -> None:  # progress steps come from the job's threads
        with lock:
            replies.write(data)
            replies.flush()

    def send(message: tuple[str, Any]) -> None:
        write(pickle.dumps(message, protocol=5))

    while True:
        try:
            func, args, kwargs, stepped = pickle.load(requests)
        except EOFError:
            return
        if stepped:
            kwargs["on_step"] = lambda value: send(("step", value))
        with warnings.catch_warnings(record=True) as caught:
            try:
                kind, value = "done", func(*args, **kwargs)
            except Exception as exc:
                kind, value = "error", exc
        _pristine = False
        write(_reply(kind, value, caught))


def _reply(kind: str, value: Any, caught: list[warnings.WarningMessage]) -> bytes:
    """Pickle a job's outcome and its warnings (an unpicklable one is said in words)."""
    given = [_portable(w) for w in caught]
    try:
        return pickle.dumps((kind, (value, given)), protocol=5)
    except Exception as exc:  # an unpicklable result or exception: say what it was
        error = RuntimeError(f"{type(value).__name__}: {value} (not picklable: {exc})")
        return pickle.dumps(("error", (error, given)), protocol=5)


def _portable(
    caught: warnings.WarningMessage,
) -> tuple[str, type[Warning], str, int]:  # pragma: no cover
    """Return a warning's parts with a built-in category (a library's class would import it)."""
    category = caught.category
    if category.__module__ != "builtins":
        text = f"{category.__name__}: {caught.message}"
        category = RuntimeWarning if issubclass(category, RuntimeWarning) else UserWarning
    else:
        text = str(caught.message)
    return text, category, caught.filename, caught.lineno
