"""custseg benchmarks: the naive way beside ours, same machine, same run.

``python benchmarks/bench.py`` (``make bench``) rewrites BENCHMARKS.md;
``python benchmarks/bench.py --quick`` (``make bench-quick``, under two minutes, run by the
tests) writes reports/benchmarks-quick.md. Every measurement runs in a fresh subprocess: a
``custseg`` command as a user types it (imports included), or a child task of this file;
wall time is taken around it, CPU time comes from ``os.wait4``, peak RSS from it plus the
private memory of its children sampled every 100 ms (a command's fitting worker). Each row is the
median of several runs. The report opens with the goals of issue 15, computed from the rows
measured in this one run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers

ROOT = Path(__file__).resolve().parents[1]
REAL_XLSX = ROOT.parent / "shared" / "data" / "online_retail.xlsx"
REAL_PARQUET = ROOT.parent / "shared" / "data" / "online_retail.parquet"
#: The ``custseg`` command of the interpreter running this file (the project's virtualenv).
CUSTSEG = Path(sys.executable).with_name("custseg")
#: Order lines and customers (after cleaning) of the real data.
REAL_LINES, REAL_CUSTOMERS = 541_909, 4_338
#: The real data repeated this many times: 20,050,633 order lines, 160,506 customers.
COPIES = 37
#: Added to CustomerID per copy (the real ids are below 20,000).
CUSTOMER_OFFSET = 100_000
#: The size of the large end-to-end run (and of the largest clean + RFM row).
BIG = 100_000_000
#: How often a command's children's memory is read (see _sample_children). Every 10 ms
#: slowed the command it measured: `run --seed 1` on the workbook took 3.26 s against 2.66 s
#: at 100 ms and 2.57 s unsampled, and 20M lines 6.15 s against 5.78 s (medians of 5 and 3
#: rounds, taking turns), with the same peak memory read at both rates (0.40 and 0.59 GiB).
#: Reading a process's smaps_rollup walks its page tables under its memory-map lock.
SAMPLE_SECONDS = 0.1
#: Order lines per customer in custseg's synthetic data (measured: 16.67M lines / 200k).
LINES_PER_CUSTOMER = 83.3
#: One pass over memory at 27 GB/s (2 threads, measured) with ~45 bytes read per order line.
CEILING_ROWS_PER_S = 600e6
#: The largest clean + RFM input each pandas peer is given (the naive one runs out of memory).
PANDAS_LIMITS = {"pandas_naive": 10_000_000, "pandas_vectorised": 50_000_000}
#: The columns a clean + RFM needs.


# ----------------------------------------------------------------------------- child tasks
# Each runs in its own process and prints one JSON line. Heavy imports stay inside them.


def _task_repeat_real(source: str, copies: str, out: str) -> dict[str, Any]:
    """Write ``source`` repeated ``copies`` times (ids made distinct per copy); count it."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    target = Path(out)
    if not target.is_file():
        table = pq.read_table(source)
        names = table.schema.names
        tmp = target.with_name(f".{target.name}.tmp")
        with pq.ParquetWriter(tmp, table.schema) as writer:
            for copy in range(int(copies)):
                invoice = pc.binary_join_element_wise(table["InvoiceNo"], pa.scalar(str(copy)), "-")
                customer = pc.add(table["CustomerID"], float(CUSTOMER_OFFSET * copy))
                part = table.set_column(names.index("InvoiceNo"), "InvoiceNo", invoice)
                writer.write_table(
                    part.set_column(names.index("CustomerID"), "CustomerID", customer)
                )
        tmp.replace(target)
    rows, customers = (
        duckdb.connect()
        .execute(
            "SELECT count(*), count(DISTINCT CustomerID) FILTER (WHERE CustomerID IS NOT NULL "
            "AND NOT starts_with(InvoiceNo, 'C') AND Quantity > 0 AND UnitPrice > 0) "
            "FROM read_parquet(?)",
            [str(target)],
        )
        .fetchone()
    )
    return {"rows": rows, "customers": customers}


def _task_clean_rfm(path: str, engine: str) -> dict[str, Any]:
    if engine == "custseg":
        from custseg.config import Settings
        from custseg.session import Session

        with Session(path, Settings(engine={"cache": False})) as session:
            cleaned = session.cleaning()
            table = session.rfm()
            return {
                "customers": len(table),
                "rows": cleaned.rows_read,
                "input_scans": session.scans,
            }
    import pandas as pd

    df = pd.read_parquet(path, columns=peers.RFM_COLUMNS)
    rows = len(df)
    rfm = (
        peers.naive_rfm(peers.naive_clean(df))
        if engine == "pandas_naive"
        else peers.vectorised_rfm(df)
    )
    return {"customers": len(rfm), "rows": rows}


def _task_spark_clean_rfm(path: str, master: str) -> dict[str, Any]:
    """Clean + RFM through Spark SQL (the shared queries), timed after the session starts."""
    from custseg.config import Settings
    from custseg.session import Session
    from custseg.spark import spark_session

    started = time.perf_counter()
    spark_session(master)
    session_s = time.perf_counter() - started
    begin = time.perf_counter()
    settings = Settings(engine={"name": "spark", "spark_master": master})
    with Session(path, settings) as session:
        cleaned = session.cleaning()
        table = session.rfm()
    return {
        "customers": len(table),
        "rows": cleaned.rows_read,
        "inner_seconds": time.perf_counter() - begin,
        "session_seconds": session_s,
    }


def _synthetic_rfm(seed: int, count: int, spread: float) -> Any:
    """Standardised log RFM of ``count`` customers drawn around four typical centres."""
    import numpy as np

    from custseg.preprocessing import LogStandardScaler

    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 4, count)
    centres = np.array([[8, 25, 30000], [250, 1, 30], [220, 7, 2300], [13, 1.5, 150]])
    raw = np.abs(centres[kind] * rng.lognormal(0, spread, (count, 3)))
    return LogStandardScaler().fit_transform(raw)


def _task_ksweep(n: str) -> dict[str, Any]:
    from custseg.config import ModelConfig
    from custseg.model_selection import select_k_and_fit

    x = _synthetic_rfm(0, int(n), 0.35)
    start = time.perf_counter()
    choice = select_k_and_fit(x, list(range(2, 11)), ModelConfig())
    return {
        "customers": int(n),
        "k": choice.k,
        "sweep_sample": choice.sweep_sample_size,
        "silhouette_sample": choice.silhouette_sample_size,
        "inner_seconds": round(time.perf_counter() - start, 3),
    }


def _task_silhouette_error(n: str) -> dict[str, Any]:
    import numpy as np

    from custseg.clustering import fit_kmeans
    from custseg.model_selection import silhouettes

    x = _synthetic_rfm(1, int(n), 0.6)
    labels = [
        np.asarray(fit_kmeans(x, k, seed=0, n_init=3).labels_, dtype=np.int64) for k in range(2, 11)
    ]
    exact = silhouettes(x, labels)
    sampled = silhouettes(x, labels, sample_size=20_000, seed=0)
    errors = [abs(a - b) for a, b in zip(exact, sampled, strict=True)]
    same_order = [int(i) for i in np.argsort(exact)] == [int(i) for i in np.argsort(sampled)]
    return {
        "customers": int(n),
        "max_error": max(errors),
        "mean_error": float(np.mean(errors)),
        "same_ranking": same_order,
    }


def _task_synth(customers: str, out: str) -> dict[str, Any]:
    from custseg.synth import write_synthetic

    info = write_synthetic(Path(out), customers=int(customers), seed=0)
    return {"rows": info["rows"]}


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "naive_workbook": peers.task_naive_workbook,
    "naive_clv": peers.task_naive_clv,
    "naive_cohorts": peers.task_naive_cohorts,
    "naive_fixed_k": peers.task_naive_fixed_k,
    "repeat_real": _task_repeat_real,
    "clean_rfm": _task_clean_rfm,
    "ksweep": _task_ksweep,
    "synth": _task_synth,
    "silhouette_error": _task_silhouette_error,
    "spark_clean_rfm": _task_spark_clean_rfm,
}


# ----------------------------------------------------------------------------- measuring


@dataclass
class Probe:
    """One command to time in fresh processes.

    ``before`` runs before each run, outside the timing; ``read`` turns the stdout of the
    last run into facts (rows, customers, input scans); ``label`` names it on stdout.
    """

    argv: list[str]
    label: str
    read: Callable[[str], dict[str, Any]]
    before: Callable[[], None] = lambda: None


def _private_kib(pid: int) -> int:
    """Return the memory ``pid`` holds alone (KiB): its private pages, not those it shares.

    A forked child shares its parent's pages until either writes them, and a process's RSS
    counts shared pages: summing RSS would count the parent twice for every fork (the
    fitting worker, the ``lscpu`` that scikit-learn starts).
    """
    total = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1])
    except (OSError, ValueError):
        pass
    return total


def _children(pid: int) -> list[int]:
    """Return the descendants of ``pid`` (empty once it is gone)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *_children(int(child))]
    except (OSError, ValueError):
        pass
    return found


def _sample_children(pid: int, peak: list[int], done: threading.Event) -> None:
    """Keep in ``peak[0]`` the most private memory ``pid``'s descendants held (every 100 ms).

    A child counts from its second sample on, with the same command line: one that
    ``subprocess`` starts by ``vfork`` shares its parent's memory until it execs (scikit-
    learn runs ``lscpu`` so), and read in that instant it showed the parent's own pages
    (0.9 GiB at 100M lines).
    """
    before: dict[int, bytes] = {}
    while not done.wait(SAMPLE_SECONDS):
        now: dict[int, bytes] = {}
        for child in _children(pid):
            with contextlib.suppress(OSError):
                now[child] = Path(f"/proc/{child}/cmdline").read_bytes()
        steady = [child for child, cmd in now.items() if before.get(child) == cmd]
        peak[0] = max(peak[0], sum(_private_kib(child) for child in steady))
        before = now


def _run_once(probe: Probe) -> tuple[float, float, float, dict[str, Any]] | str:
    """Run ``probe`` once; return wall, CPU, peak RSS (GiB) and its facts, or the error.

    Peak RSS is the process's own maximum (``os.wait4``) plus the most private memory its
    children held at once, sampled every 100 ms: a command that forks its fitting worker
    (custseg.worker) holds both, and the worker's own pages are what it adds (an upper
    bound: the two peaks need not coincide).
    """
    probe.before()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(probe.argv, stdout=out, stderr=err, cwd=ROOT)
        peak, done = [0], threading.Event()
        sampler = threading.Thread(
            target=_sample_children, args=(proc.pid, peak, done), daemon=True
        )
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        text, error = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        return (error.strip().splitlines() or ["failed"])[-1][:200]
    rss = (usage.ru_maxrss + peak[0]) / 2**20  # KiB -> GiB
    try:
        facts = probe.read(text)
    except Exception as exc:  # no output, or not what was expected: that row's error
        return f"unreadable output: {exc}"[:200]
    return wall, usage.ru_utime + usage.ru_stime, rss, facts


#: Numbers the calls of :func:`side_by_side`: only rows of one call are paired by round.
_TOGETHER = itertools.count()


def side_by_side(probes: Sequence[Probe], repeats: int) -> list[dict[str, Any]]:
    """Run ``probes`` in turn, round after round (A B C A B C ...); return each one's medians.

    Taking turns keeps the rows of one table comparable when the machine's speed drifts
    during the run (a naive peer took 68.8 s in one run and 81.9 s in the one before): each
    row keeps its walls by round, and :func:`_speedup` takes the median of the per-round
    ratios. A probe that fails is not run again; its row says why.
    """
    together = next(_TOGETHER)
    walls: list[list[float]] = [[] for _ in probes]
    cpus: list[list[float]] = [[] for _ in probes]
    rss: list[list[float]] = [[] for _ in probes]
    infos: list[dict[str, Any]] = [{} for _ in probes]
    errors: dict[int, str] = {}
    for _ in range(repeats):
        for i, probe in enumerate(probes):
            if i in errors:
                continue
            got = _run_once(probe)
            if isinstance(got, str):
                errors[i] = got
                continue
            walls[i].append(got[0])
            cpus[i].append(got[1])
            rss[i].append(got[2])
            infos[i] = got[3]
    results: list[dict[str, Any]] = []
    for i, probe in enumerate(probes):
        if i in errors:
            print(f"  failed  {probe.label[:110]}: {errors[i]}", flush=True)
            results.append({"error": errors[i]})
            continue
        print(f"{statistics.median(walls[i]):8.2f} s  {probe.label[:110]}", flush=True)
        results.append(
            {
                **infos[i],
                "wall": statistics.median(walls[i]),
                "walls": walls[i],
                "together": together,
                "wall_max": max(walls[i]),
                "cpu": statistics.median(cpus[i]),
                "rss_gib": max(rss[i]),
                "runs": repeats,
            }
        )
    return results


def task_probe(task: str, *args: str) -> Probe:
    """Return the probe of a child task of this file (its facts: its last stdout line)."""
    return Probe(
        [sys.executable, __file__, "_child", task, *args],
        " ".join([task, *args]),
        read=lambda text: json.loads(text.strip().splitlines()[-1]),
    )


def measure(task: str, *args: str, repeats: int = 3) -> dict[str, Any]:
    """Run a child task of this file in fresh processes; return medians and its output."""
    return side_by_side([task_probe(task, *args)], repeats)[0]


def _cli_facts(out: Path | None) -> dict[str, Any]:
    """Read what a custseg command recorded in ``out``: input scans, cache, rows, fits."""
    if out is None:
        return {}

    def load(name: str) -> dict[str, Any]:
        path = out / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    log, quality, clv = load("run_log.json"), load("data_quality.json"), load("clv_params.json")
    facts = {
        "input_scans": log.get("input_scans"),
        "cache": log.get("workbook_cache"),
        "rows": quality.get("rows_read"),
        "customers": quality.get("customers"),
        "bg_nbd_ll": clv.get("bg_nbd", {}).get("log_likelihood"),
        "gamma_gamma_ll": clv.get("gamma_gamma", {}).get("log_likelihood"),
    }
    return {key: value for key, value in facts.items() if value is not None}


@dataclass
class Bench:
    """What every section needs: the mode, the work folder, repeats and the CLI's config.

    The ``custseg`` commands read ``parameters.yml`` in the work folder: the project's
    ``conf/base/parameters.yml`` with the workbook cache moved into the work folder, so that
    clearing it touches nothing else.
    """

    quick: bool
    work: Path
    repeats: int
    cache_dir: Path = field(init=False)
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        import yaml

        self.work.mkdir(parents=True, exist_ok=True)
        self.cache_dir = self.work / "cache"
        base = ROOT / "conf" / "base" / "parameters.yml"
        params = yaml.safe_load(base.read_text(encoding="utf-8")) if base.is_file() else {}
        params.setdefault("engine", {})["cache_dir"] = str(self.cache_dir)
        self.config = self.work / "parameters.yml"
        self.config.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")

    def task(self, task: str, *args: Any) -> dict[str, Any]:
        """Measure a child task of this file ``repeats`` times."""
        return measure(task, *map(str, args), repeats=self.repeats)

    def task_probe(self, task: str, *args: Any) -> Probe:
        """Return the probe of a child task of this file, for :meth:`together`."""
        return task_probe(task, *map(str, args))

    def cli_probe(
        self, args: list[Any], out: Path | None = None, *, before: Callable[[], None] = lambda: None
    ) -> Probe:
        """Return the probe of ``custseg ARGS --out OUT -q --config ...`` (``out`` emptied)."""
        argv = [str(CUSTSEG), *map(str, args)]
        if out is not None:
            argv += ["--out", str(out), "-q", "--config", str(self.config)]

        def prepare() -> None:
            if out is not None:
                shutil.rmtree(out, ignore_errors=True)
            before()

        return Probe(
            argv, " ".join(["custseg", *argv[1:]]), read=lambda _: _cli_facts(out), before=prepare
        )

    def cli(
        self,
        args: list[Any],
        out: Path | None = None,
        *,
        repeats: int | None = None,
        before: Callable[[], None] = lambda: None,
    ) -> dict[str, Any]:
        """Measure ``custseg ARGS --out OUT -q --config ...`` (``out`` emptied before each run)."""
        return side_by_side([self.cli_probe(args, out, before=before)], repeats or self.repeats)[0]

    def together(self, *probes: Probe) -> list[dict[str, Any]]:
        """Measure ``probes`` taking turns, ``repeats`` rounds (:func:`side_by_side`)."""
        return side_by_side(probes, self.repeats)

    def clear_cache(self) -> None:
        """Delete the workbook cache (the Parquet copies of workbooks read)."""
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    def real_input(self) -> Path | None:
        """Return the real workbook, or its Parquet copy in quick mode (or without it)."""
        if REAL_XLSX.is_file() and not self.quick:
            return REAL_XLSX
        return REAL_PARQUET if REAL_PARQUET.is_file() else None

    def synthetic(self, lines: int) -> Path:
        """Return the synthetic file of about ``lines`` order lines, written if absent."""
        data = self.work / f"synth-{lines}.parquet"
        if not data.is_file():
            customers = max(10, int(lines / LINES_PER_CUSTOMER))
            measure("synth", str(customers), str(data), repeats=1)
        return data


# ----------------------------------------------------------------------------- the report


@dataclass
class Goal:
    """One goal of issue 15 and what this run measured for it."""

    what: str
    target: str
    measured: str
    met: bool | None

    def row(self) -> str:
        """Return the markdown row of the Goals table."""
        met = {True: "yes", False: "**no**", None: "not measured"}[self.met]
        return f"| {self.what} | {self.target} | {self.measured} | {met} |"


def goal(
    what: str, value: float | None, target: float, unit: str, *, at_most: bool = False
) -> Goal:
    """Compare a measured ``value`` with its ``target`` (at least it, or ``at_most`` it)."""
    sign = "<=" if at_most else ">="
    wanted = f"{sign} {target:g}{unit}"
    if value is None:
        return Goal(what, wanted, "not measured", None)
    met = value <= target if at_most else value >= target
    return Goal(what, wanted, f"{value:,.2f}{unit}", met)


@dataclass
class Report:
    """The markdown lines of the sections and the goals they measured."""

    lines: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        """Append lines to the report."""
        self.lines.extend(lines)


def _fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "n/a"
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def _speedup(row: dict[str, Any], naive: dict[str, Any]) -> float | None:
    """Naive wall time over ``row``'s (None when either failed).

    Rows measured taking turns (:func:`side_by_side`) give the median of the per-round
    ratios; others the ratio of the medians.
    """
    if "wall" not in row or "wall" not in naive:
        return None
    ours, theirs = row.get("walls", []), naive.get("walls", [])
    paired = row.get("together") is not None and row.get("together") == naive.get("together")
    if paired and len(ours) == len(theirs):
        return float(statistics.median(t / o for o, t in zip(ours, theirs, strict=True)))
    return float(naive["wall"] / row["wall"])


def _failed(row: dict[str, Any], cells: int) -> str:
    return f"failed: {row.get('error')} |" + " |" * (cells - 1)


def _comparison(
    rows: list[tuple[str, dict[str, Any]]], naive: tuple[str, dict[str, Any]]
) -> list[str]:
    """Return a table of custseg rows and their naive peer, with each row's speed-up."""
    lines = [
        "| pipeline | wall | CPU | peak RSS | vs naive (wall) | input scans | workbook cache |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, row in [*rows, naive]:
        if "wall" not in row:
            lines.append(f"| {label} | {_failed(row, 6)}")
            continue
        ratio = _speedup(row, naive[1])
        lines.append(
            f"| {label} | {_fmt(row['wall'])} | {_fmt(row['cpu'])} | "
            f"{_fmt(row['rss_gib'], 'GiB')} | {'n/a' if ratio is None else f'{ratio:.1f}x'} | "
            f"{row.get('input_scans', 'n/a')} | {row.get('cache', 'n/a')} |"
        )
    return [*lines, ""]


def _input_name(data: Path) -> str:
    """Name the real input in words, and say how quick mode differs."""
    lines = f"{REAL_LINES:,} order lines (`../shared/data/{data.name}`)"
    if data.suffix == ".xlsx":
        return lines
    return f"{lines}, the Parquet copy of the workbook (quick mode: no workbook cache)"


def _naive_reader(data: Path) -> str:
    return "`read_excel` with openpyxl" if data.suffix == ".xlsx" else "`read_parquet`"


# ----------------------------------------------------------------------------- the sections


def real_data(bench: Bench, report: Report) -> None:
    """Measure ``custseg run``, ``clv`` and ``cohorts`` on the real data beside naive peers."""
    data = bench.real_input()
    if data is None:
        report.add("The real data (`../shared/data/online_retail.*`) is absent: not measured.", "")
        return
    folder = bench.work / "real"
    first, second, naive = bench.together(
        bench.cli_probe(["run", data], folder / "run-first", before=bench.clear_cache),
        bench.cli_probe(["run", data, "--seed", 1], folder / "run-second"),
        bench.task_probe("naive_workbook", data, folder / "naive-run"),
    )
    report.add(
        "## The real data, end to end",
        "",
        f"Input: {_input_name(data)}. Every default output of `custseg run` (customers CSV "
        "and Parquet, segments, k selection, data quality, model, report.html, holdout, "
        "cohorts, audiences), each row the `custseg` command in a fresh process, imports "
        "included. First run: the workbook cache is deleted before each run. Second run: the "
        "cache is warm but the analysis is recomputed (`--seed 1`, so nothing of the first "
        "run's results can be reused). The naive peer is written in the benchmark: pandas "
        f"{_naive_reader(data)}, the cleaning with boolean masks, RFM by groupby with "
        "lambdas, the same scikit-learn sweep (k 2..10, n_init 10, silhouette and "
        "Davies-Bouldin), one CSV out.",
        "",
        *_comparison(
            [("custseg run, first run", first), ("custseg run, second run (`--seed 1`)", second)],
            ("naive pandas", naive),
        ),
    )
    report.goals += [
        goal("real workbook end to end, first run, vs naive", _speedup(first, naive), 10, "x"),
        goal("real workbook end to end, second run, vs naive", _speedup(second, naive), 20, "x"),
    ]
    _clv(bench, report, data, folder)
    _cohorts(bench, report, data, folder, folder / "run-second" / "model.json")


def _clv(bench: Bench, report: Report, data: Path, folder: Path) -> None:
    ours, naive = bench.together(
        bench.cli_probe(["clv", data], folder / "clv"),
        bench.task_probe("naive_clv", data, folder / "naive-clv"),
    )
    report.add(
        "## Customer lifetime value (`custseg clv`), cache warm",
        "",
        "Lifetime value, 90 days predicted, on the same input (the workbook cache warm: see "
        "its column). custseg chooses the count model: BG/NBD, modified BG/NBD and "
        "Pareto/NBD (with Gamma-Gamma) are each fitted by maximum likelihood up to an "
        "automatic split and backtested on the days after it, and the winner is refitted on "
        "all the days; it also fits the personas (the k sweep) and writes clv.csv, "
        "clv_personas.csv, clv_params.json, clv.html and the audiences. The naive peer "
        f"fits BG/NBD and Gamma-Gamma once: {_naive_reader(data)}, the canonical cleaning, the "
        "purchase-day summary per customer by groupby with lambdas, both log-likelihoods "
        "written as the lifetimes library writes them, `scipy.optimize.minimize` "
        "(BFGS), the 90-day prediction, one CSV; it fits no personas.",
        "",
        *_comparison([("custseg clv", ours)], ("naive pandas + scipy", naive)),
    )
    if "bg_nbd_ll" in ours and "bg_nbd_ll" in naive:
        report.add(
            "The optima reached (log-likelihoods, custseg then naive): BG/NBD "
            f"{ours['bg_nbd_ll']:,.2f} and {naive['bg_nbd_ll']:,.2f}, Gamma-Gamma "
            f"{ours['gamma_gamma_ll']:,.2f} and {naive['gamma_gamma_ll']:,.2f}.",
            "",
        )
    report.goals.append(goal("`custseg clv`, cache warm, vs naive", _speedup(ours, naive), 15, "x"))


def _cohorts(bench: Bench, report: Report, data: Path, folder: Path, model: Path) -> None:
    fitted, saved, naive = bench.together(
        bench.cli_probe(["cohorts", data], folder / "cohorts"),
        bench.cli_probe(["cohorts", data, "--model", model], folder / "cohorts-model"),
        bench.task_probe("naive_cohorts", data, folder / "naive-cohorts"),
    )
    report.add(
        "## Cohort retention (`custseg cohorts`), cache warm",
        "",
        "Monthly cohorts (retention and revenue per cohort and month index) and a retention "
        "curve per persona, cohorts.html included. custseg fits the personas as `run` does, "
        "or assigns them from a saved model (`--model`, the model.json of the second run "
        f"above: no refit). The naive peer: {_naive_reader(data)}, the canonical cleaning, "
        "each customer's cohort month by groupby/transform, cohort x month-index pivots of "
        "distinct customers, retention and revenue, the naive k sweep for the personas and "
        "their retention curves, three CSVs.",
        "",
        *_comparison(
            [("custseg cohorts", fitted), ("custseg cohorts --model (no refit)", saved)],
            ("naive pandas", naive),
        ),
    )
    report.goals.append(
        goal("`custseg cohorts`, cache warm, vs naive", _speedup(fitted, naive), 40, "x")
    )


def repeated_real(bench: Bench, report: Report) -> None:
    """Measure ``custseg run --k 4`` on the real rows repeated 37 times beside pandas."""
    if not REAL_PARQUET.is_file():
        return
    copies = 2 if bench.quick else COPIES
    data = bench.work / f"real-x{copies}.parquet"
    built = measure("repeat_real", str(REAL_PARQUET), str(copies), str(data), repeats=1)
    expected = (REAL_LINES * copies, REAL_CUSTOMERS * copies)
    if "rows" not in built:
        report.add(f"The real data repeated {copies} times: failed: {built.get('error')}", "")
        return
    found = (built["rows"], built["customers"])
    check = "as expected" if found == expected else f"expected {expected[0]:,} and {expected[1]:,}"
    print(f"{data.name}: {found[0]:,} order lines, {found[1]:,} customers ({check})")
    folder = bench.work / f"real-x{copies}"
    ours, naive, done_well = bench.together(
        bench.cli_probe(["run", data, "--k", 4], folder / "run"),
        bench.task_probe("naive_fixed_k", data, folder / "naive", 4, "naive"),
        bench.task_probe("naive_fixed_k", data, folder / "vectorised", 4, "vectorised"),
    )
    report.add(
        f"## {expected[0]:,} order lines, k fixed",
        "",
        f"The real Parquet repeated {copies} times (CustomerID + {CUSTOMER_OFFSET:,} x copy, "
        f"InvoiceNo suffixed `-copy`): {found[0]:,} order lines, {found[1]:,} customers "
        f"after cleaning ({check}). `custseg run FILE --k 4` (every default output) against "
        "two pandas pipelines that write one customers CSV: the naive one of the workbook "
        "comparison (`read_parquet` of every column, masks one after another, RFM by groupby "
        "with lambdas, StandardScaler on log1p, `KMeans(4, n_init=10)`), and pandas done "
        "well (the five columns needed, one mask, built-in groupby aggregations).",
        "",
        *_comparison(
            [("custseg run --k 4", ours), ("pandas done well", done_well)],
            ("naive pandas", naive),
        ),
    )
    report.goals.append(
        goal(f"{expected[0]:,} lines, k = 4, vs naive pandas", _speedup(ours, naive), 6, "x")
    )
    report.goals.append(
        goal(
            f"{expected[0]:,} lines, k = 4, vs pandas done well (no goal set)",
            _speedup(ours, done_well),
            1,
            "x",
        )
    )


def big_end_to_end(bench: Bench, report: Report) -> None:
    """Measure ``custseg run`` with every default output on 100M synthetic order lines."""
    size = 200_000 if bench.quick else BIG
    row = bench.cli(["run", bench.synthetic(size)], bench.work / "run-big")
    report.add(
        f"## {size:,} order lines, end to end",
        "",
        f"`custseg run` on the {size:,}-line synthetic file: clean + RFM + k sweep + every "
        "default output (CSV, Parquet, JSON, report.html, cohorts, audiences).",
        "",
        "| lines | customers | wall | CPU | peak RSS | input scans |",
        "|---|---|---|---|---|---|",
        (
            f"| {row['rows']:,} | {row['customers']:,} | {_fmt(row['wall'])} | "
            f"{_fmt(row['cpu'])} | {_fmt(row['rss_gib'], 'GiB')} | "
            f"{row.get('input_scans', 'n/a')} |"
            if "wall" in row
            else f"| {size:,} | {_failed(row, 5)}"
        ),
        "",
    )
    report.goals += [
        goal(f"{size:,} lines end to end, wall", row.get("wall"), 30, " s", at_most=True),
        goal(f"{size:,} lines end to end, peak RSS", row.get("rss_gib"), 1.5, " GiB", at_most=True),
    ]


def clean_rfm_scaling(bench: Bench, report: Report) -> None:
    """Measure clean + RFM from 1M to 100M synthetic lines: custseg, naive and vectorised."""
    sizes = [200_000] if bench.quick else [1_000_000, 10_000_000, 50_000_000, BIG]
    report.add(
        "## Clean + RFM on synthetic order lines (Parquet)",
        "",
        "Read, clean (all rules counted) and aggregate RFM per customer; rows/s from the whole "
        "process's wall time. Naive pandas (groupby with lambdas) runs up to 10M lines: at 50M "
        "it needed 13.8 GiB and 113 s when measured for the issue, at 100M about 28 GiB, more "
        "than this machine has. Vectorised pandas runs up to 50M lines.",
        "",
        "| lines | engine | customers | wall | rows/s | share of the 600M rows/s ceiling | "
        "peak RSS | input scans |",
        "|---|---|---|---|---|---|---|---|",
    )
    ours: dict[int, dict[str, Any]] = {}
    for size in sizes:
        data = bench.synthetic(size)
        pandas = [engine for engine, limit in PANDAS_LIMITS.items() if size <= limit]
        for engine in ["custseg", *pandas]:
            row = bench.task("clean_rfm", data, engine)
            if engine == "custseg":
                ours[size] = row
            if "wall" not in row:
                report.add(f"| {size:,} | {engine} | | {_failed(row, 5)}")
                continue
            rate = row["rows"] / row["wall"]
            report.add(
                f"| {row['rows']:,} | {engine} | {row['customers']:,} | {_fmt(row['wall'])} | "
                f"{rate / 1e6:,.1f}M | {rate / CEILING_ROWS_PER_S:.1%} | "
                f"{_fmt(row['rss_gib'], 'GiB')} | {row.get('input_scans', 'n/a')} |"
            )
    largest = ours.get(max(sizes), {})
    rate = largest["rows"] / largest["wall"] / 1e6 if "wall" in largest else None
    if rate is not None and not bench.quick:
        ns = largest["wall"] / largest["rows"] * 1e9
        report.add(
            "",
            f"**1B order lines (extrapolated, not measured):** {ns:,.0f} s for clean + RFM, "
            f"from the measured per-line cost at {largest['rows']:,} lines ({ns:.1f} ns per "
            "line) times 1e9; DuckDB streams the file, so memory grows with customers, not "
            "lines (the 1B-line file, about 6.5 GB, was not written).",
        )
    report.add("")
    report.goals.append(goal(f"clean + RFM at {max(sizes):,} lines", rate, 15, "M lines/s"))


def k_sweep(bench: Bench, report: Report) -> None:
    """Measure ``select_k_and_fit`` from 10,000 to 10M customers (and the sampling error)."""
    counts = [10_000] if bench.quick else [10_000, 100_000, 1_000_000, 10_000_000]
    report.add(
        "## Choosing k and fitting K-Means",
        "",
        "`select_k_and_fit` on synthetic standardised RFM: k 2..10, n_init 10, silhouette "
        "exact up to 20,000 points; above 50,000 customers the sweep runs on a seeded "
        "sample of 50,000 and K-Means refits all customers once from its centroids.",
        "",
        "| customers | sweep on | silhouette on | wall (process) | sweep + fit | peak RSS |",
        "|---|---|---|---|---|---|",
    )
    for n in counts:
        row = bench.task("ksweep", n)
        report.add(
            f"| {n:,} | {row['sweep_sample']:,} | {row['silhouette_sample']:,} | "
            f"{_fmt(row['wall'])} | {_fmt(row['inner_seconds'])} | {_fmt(row['rss_gib'], 'GiB')} |"
            if "wall" in row
            else f"| {n:,} | {_failed(row, 5)}"
        )
    report.add("")
    if bench.quick:
        return
    err = measure("silhouette_error", "60000", repeats=1)
    if "max_error" in err:
        report.add(
            f"Sampled against exact silhouette on {err['customers']:,} customers (k 2..10, "
            f"both computable here): the 20,000-customer seeded sample is off by at most "
            f"{err['max_error']:.4f} (mean {err['mean_error']:.4f}) and ranks the k values "
            + ("identically." if err["same_ranking"] else "differently."),
            "",
        )


def help_time(bench: Bench, report: Report) -> None:
    """Measure ``custseg --help``: how long the command line takes to answer."""
    runs = 3 if bench.quick else 10
    row = bench.cli(["--help"], repeats=runs)
    report.add(
        "## `custseg --help`",
        "",
        f"The command line's start: {runs} runs, each a fresh process.",
        "",
        "| runs | median wall | slowest | peak RSS |",
        "|---|---|---|---|",
        f"| {runs} | {_fmt(row['wall'])} | {_fmt(row['wall_max'])} | "
        f"{_fmt(row['rss_gib'], 'GiB')} |"
        if "wall" in row
        else f"| {runs} | {_failed(row, 3)}",
        "",
    )
    report.goals.append(
        goal("`custseg --help`, median wall", row.get("wall"), 0.5, " s", at_most=True)
    )


SECTIONS = (real_data, repeated_real, big_end_to_end, clean_rfm_scaling, k_sweep, help_time)


def _cpu_model() -> str:
    """Return the processor's name (the figures change with it: sessions run on several)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "processor unknown"


def _env() -> str:
    names = [
        "custseg",
        "duckdb",
        "pandas",
        "numpy",
        "scikit-learn",
        "scipy",
        "pyarrow",
        "fastexcel",
        "openpyxl",
    ]
    versions = []
    for name in names:
        try:
            versions.append(f"{name} {version(name)}")
        except Exception:
            versions.append(f"{name} absent")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{dt.date.today().isoformat()}, {platform.machine()} ({_cpu_model()}), "
        f"{os.cpu_count()} cores, "
        f"{mem:.0f} GiB RAM, Python {platform.python_version()}; " + ", ".join(versions)
    )


def _goals_table(goals: list[Goal], quick: bool) -> list[str]:
    lines = [
        "## Goals",
        "",
        "The goals of issue 15, each computed from rows of this report (ratios from rows "
        "measured side by side in this run).",
        "",
    ]
    if quick:
        lines += [
            "Quick mode: the inputs are small (the real data as Parquet instead of the "
            "workbook, 2 copies instead of 37, 200,000 lines instead of 100M), so these "
            "verdicts only show that the code runs; they do not judge the goals.",
            "",
        ]
    return [
        *lines,
        "| goal | target | measured | met? |",
        "|---|---|---|---|",
        *(g.row() for g in goals),
        "",
    ]


def _kept_block(text: str, begin: str, end: str) -> str:
    """Return the block between ``begin`` and ``end`` of ``text``, markers included, or ""."""
    if begin not in text or end not in text:
        return ""
    return begin + text.split(begin, 1)[1].split(end, 1)[0] + end


def run(quick: bool, out_file: Path, work: Path, repeats: int) -> None:
    """Run the benchmark suite and write the markdown report."""
    bench = Bench(quick, work, repeats)
    report = Report()
    for section in SECTIONS:
        section(bench, report)
    old = out_file.read_text(encoding="utf-8") if out_file.is_file() else ""
    if not quick and importlib.util.find_spec("pyspark") is not None:
        report.add(*spark_section(bench), "")
    elif not quick and (spark := _kept_block(old, SPARK_BEGIN, SPARK_END)):
        report.add(spark, "")  # without PySpark the last one stays (``make bench-spark``)
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `benchmarks/bench.py{' --quick' if quick else ''}` on {_env()}.",
        "",
        f"Every figure is the median of {repeats} run(s) unless said otherwise, each in a "
        "fresh process (imports included); CPU = user + system time (a command's fitting "
        "worker included); peak RSS = the process's maximum resident set plus the most "
        "private memory its fitting worker held (sampled every 100 ms); input scans = passes over "
        "the order lines, from the "
        "command's run_log.json. The rows of a comparison table take turns, round after "
        "round (custseg, its peers, custseg, ...), and each speed-up is the median of the "
        "per-round ratios: a drift of the machine's speed during the run slows both sides.",
        "",
        *_goals_table(report.goals, quick),
        *report.lines,
    ]
    # Blocks measured by other scripts (clv_fit.py, dashboard.py, database.py) are kept.
    for begin, end in ((CLV_BEGIN, CLV_END), (DASH_BEGIN, DASH_END), (DB_BEGIN, DB_END)):
        if block := _kept_block(old, begin, end):
            lines += ["", block]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(out_file.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out_file)
    for item in report.goals:
        met = {True: "met", False: "NOT met", None: "not measured"}[item.met]
        print(f"goal {item.what}: {item.target}, measured {item.measured}: {met}")
    print(f"wrote {out_file}")


CLV_BEGIN, CLV_END = "<!-- clv-fit: benchmarks/clv_fit.py -->", "<!-- /clv-fit -->"
DASH_BEGIN, DASH_END = "<!-- dashboard: benchmarks/dashboard.py -->", "<!-- /dashboard -->"
DB_BEGIN, DB_END = "<!-- database: benchmarks/database.py -->", "<!-- /database -->"
SPARK_BEGIN, SPARK_END = "<!-- spark: begin -->", "<!-- spark: end -->"


def spark_section(bench: Bench) -> list[str]:
    """Measure Spark local[2] beside DuckDB on the real data and a synthetic set."""
    master = "local[2]"
    lines = [
        SPARK_BEGIN,
        "## Apache Spark (`--engine spark`) beside DuckDB",
        "",
        f"The same SQL on Spark `{master}` (both cores of this machine) and on DuckDB. "
        "`custseg run` rows are whole processes (Spark's JVM start included); clean + RFM rows "
        "time the queries after the session has started.",
        "",
        "| input | what | engine | wall | peak RSS (Python side) |",
        "|---|---|---|---|---|",
    ]
    if REAL_PARQUET.is_file():
        for engine in ("duckdb", "spark"):
            args = ["run", REAL_PARQUET, "--engine", engine]
            row = bench.cli(
                args + (["--spark-master", master] if engine == "spark" else []),
                bench.work / f"run-{engine}",
            )
            lines.append(
                f"| real data, {REAL_LINES:,} lines | custseg run, end to end | {engine} | "
                + (
                    f"{_fmt(row['wall'])} | {_fmt(row['rss_gib'], 'GiB')} |"
                    if "wall" in row
                    else _failed(row, 2)
                )
            )
    data = bench.synthetic(200_000 if bench.quick else 10_000_000)
    duck = bench.task("clean_rfm", data, "custseg")
    spark = bench.task("spark_clean_rfm", data, master)
    if "wall" in duck:
        lines.append(
            f"| synthetic, {duck['rows']:,} lines | clean + RFM | duckdb | "
            f"{_fmt(duck['wall'])} (process) | {_fmt(duck['rss_gib'], 'GiB')} |"
        )
    if "inner_seconds" not in spark:
        lines.append(f"| synthetic | clean + RFM | spark | {_failed(spark, 2)}")
        return [*lines, "", SPARK_END]
    per_core = spark["rows"] / spark["inner_seconds"] / 2
    lines.append(
        f"| synthetic, {spark['rows']:,} lines | clean + RFM | spark {master} | "
        f"{_fmt(spark['inner_seconds'])} (+ {_fmt(spark['session_seconds'])} session start) | "
        f"{_fmt(spark['rss_gib'], 'GiB')} |"
    )
    lines.append("")
    if "wall" in duck:
        lines += _spark_plan(per_core, duck["rows"] / duck["wall"])
    return [*lines, SPARK_END]


def _spark_plan(per_core: float, duck_rate: float) -> list[str]:
    """Compare the engines' throughput and plan 1B order lines on a cluster from it."""
    return [
        f"Measured throughput: Spark {per_core / 1e6:.2f}M order lines per second per core "
        f"(clean + RFM, one scan of the lines), DuckDB {duck_rate / 2e6:.2f}M per core "
        "(whole process): "
        f"on one machine DuckDB is {duck_rate / (per_core * 2):.1f}x faster, so Spark is for "
        "data that does not fit one machine, or that already lives in a cluster.",
        "",
        "**Plan for 1B order lines on a cluster (estimated from the per-core figure above, "
        "not measured):** the scan parallelises over input splits, so the scan time is "
        f"about 1e9 / ({per_core / 1e6:.2f}M x cores): "
        + ", ".join(
            f"{n} workers x 4 cores = {1e9 / (per_core * n * 4):,.0f} s" for n in (4, 16, 64)
        )
        + ", plus the shuffle of one row per customer (tens of millions of rows at most) "
        "and the session start. Up to `engine.spark_collect_max_customers` (5,000,000) "
        "customers the RFM table is collected and clustered by scikit-learn on the "
        "driver (about 5 s for the sweep at 10M customers, see above); above it Spark "
        "MLlib K-Means runs on the executors, one pass per iteration per k.",
        "",
    ]


def replace_block(out_file: Path, begin: str, end: str, block: str) -> None:
    """Put ``block`` (its markers included) in place of the one between the markers.

    A file without that block gets it at its end; the file is replaced atomically.
    """
    text = out_file.read_text(encoding="utf-8") if out_file.is_file() else "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = out_file.with_name(out_file.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out_file)


def update_spark_section(out_file: Path, work: Path, repeats: int) -> None:
    """Re-measure only the Spark block of ``out_file`` (``bench.py --spark``)."""
    block = "\n".join(spark_section(Bench(False, work, repeats)))
    replace_block(out_file, SPARK_BEGIN, SPARK_END, block)
    print(f"updated the Spark section of {out_file}")


def main() -> None:
    """Parse arguments; run the suite, or one child task."""
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        print(json.dumps(TASKS[sys.argv[2]](*sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "interim" / "bench")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--spark", action="store_true", help="re-measure only the Spark section (needs PySpark)"
    )
    args = parser.parse_args()
    out = args.out or (ROOT / ("reports/benchmarks-quick.md" if args.quick else "BENCHMARKS.md"))
    repeats = args.repeats or (1 if args.quick else 3)
    work = args.work.resolve()  # the commands run in the project folder
    if args.spark:
        update_spark_section(out, work, repeats)
        return
    run(args.quick, out, work, repeats)


if __name__ == "__main__":
    main()
