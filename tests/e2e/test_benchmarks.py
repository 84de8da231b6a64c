"""The benchmark code keeps working (make bench-quick); no timing is asserted."""

import re
import subprocess
import sys
from pathlib import Path

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
