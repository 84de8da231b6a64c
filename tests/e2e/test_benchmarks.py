"""The benchmark code keeps working (make bench-quick); no timing is asserted."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_writes_its_tables(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench.py"),
            "--quick",
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    text = out.read_text()
    assert text.startswith("# Benchmarks")
    for engine in ("custseg", "pandas_naive", "pandas_vectorised"):
        assert re.search(rf"\| [\d,]+ \| {engine} \| [\d,]+ \| [\d.]+ s \|", text), engine
    assert re.search(r"\| 10,000 \| 10,000 \| 10,000 \| [\d.]+ s \|", text)
    assert "failed" not in text


def _bench_module(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import importlib.util

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # bench.py imports its peers
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench", module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_rows_of_a_comparison_take_turns_and_pair_their_ratios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench_module(monkeypatch)
    log = tmp_path / "order.txt"

    def probe(name: str) -> object:
        line = f"open('{log}', 'a').write('{name}')"
        return bench.Probe([sys.executable, "-c", line], name, read=lambda _: {})

    fast, slow = bench.side_by_side([probe("A"), probe("B")], 3)
    assert log.read_text() == "ABABAB"
    assert len(fast["walls"]) == len(slow["walls"]) == 3
    assert fast["together"] == slow["together"]
    # Per-round ratios 30, 5 and 6.67: their median, not the ratio of the medians (20 / 2).
    ours = {"wall": 2.0, "walls": [1.0, 2.0, 3.0], "together": 7}
    theirs = {"wall": 20.0, "walls": [30.0, 10.0, 20.0], "together": 7}
    assert bench._speedup(ours, theirs) == 20.0 / 3.0
    # Rows measured in different calls: the ratio of the medians.
    (alone,) = bench.side_by_side([probe("C")], 3)
    assert alone["together"] != fast["together"]
    assert bench._speedup({**ours, "together": 8}, theirs) == 10.0
    assert bench._speedup({"error": "failed"}, theirs) is None


def test_a_failing_row_says_why_and_is_not_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench_module(monkeypatch)
    log = tmp_path / "runs.txt"
    failing = bench.Probe(
        [sys.executable, "-c", f"open('{log}', 'a').write('x'); raise SystemExit('no input')"],
        "failing",
        read=lambda _: {},
    )
    unreadable = bench.Probe(
        [sys.executable, "-c", "print('not json')"],
        "unreadable",
        read=lambda text: json.loads(text),
    )
    row, other = bench.side_by_side([failing, unreadable], 3)
    assert row == {"error": "no input"}
    assert log.read_text() == "x"
    assert other["error"].startswith("unreadable output: Expecting value")
