"""Bounded fuzzing of the readers: random bytes and mutated real files either work or end in
one UserError, never another exception."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from custseg.config import load_settings
from custseg.errors import UserError
from custseg.pipeline import segment
from custseg.synth import generate_orders


def _inputs(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(7)
    lines, _ = generate_orders(40, seed=3)
    csv = lines.to_csv(index=False).encode()
    buffer = io.BytesIO()
    lines.to_parquet(buffer, index=False)
    parquet = buffer.getvalue()
    from tests.xlsx import xlsx_bytes

    book = xlsx_bytes({"Online Retail": [list(lines.columns), *lines.head(50).values.tolist()]})
    paths = []
    for i in range(12):  # random bytes, with and without a known magic number
        head = [b"", b"PK\x03\x04", b"PAR1", b"\x1f\x8b"][i % 4]
        paths.append((f"random{i}.bin", head + rng.bytes(int(rng.integers(1, 4000)))))
    for name, data in [("orders.csv", csv), ("orders.parquet", parquet), ("orders.xlsx", book)]:
        for i in range(8):  # flip, cut or duplicate bytes
            mutated = bytearray(data)
            kind = i % 3
            if kind == 0:
                for pos in rng.integers(0, len(mutated), 20):
                    mutated[pos] = int(rng.integers(0, 256))
            elif kind == 1:
                mutated = mutated[: int(rng.integers(1, len(mutated)))]
            else:
                start = int(rng.integers(0, len(mutated) - 100))
                mutated[start:start] = mutated[start : start + 100]
            paths.append((f"m{i}-{name}", bytes(mutated)))
    out = []
    for name, data in paths:
        path = tmp_path / name
        path.write_bytes(data)
        out.append(path)
    return out


def test_readers_succeed_or_say_why(tmp_path: Path) -> None:
    settings = load_settings(None, {"model": {"k": 2, "k_max": 3}, "engine": {"cache": False}})
    outcomes = {"ok": 0, "user error": 0}
    for path in _inputs(tmp_path):
        try:
            result = segment(path, settings)
        except UserError as exc:
            assert str(exc).strip() and "\n" not in str(exc).strip()[:300], path.name
            outcomes["user error"] += 1
        else:
            q = result.quality
            assert q["rows_kept"] + sum(q["dropped"].values()) == q["rows_read"]
            outcomes["ok"] += 1
    assert outcomes["user error"] >= 12  # every random file is refused
    assert sum(outcomes.values()) == 36


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_run_leaves_the_earlier_outputs(tmp_path: Path) -> None:
    from custseg.synth import write_synthetic

    data = tmp_path / "orders.parquet"
    write_synthetic(data, customers=60_000, seed=1)
    out = tmp_path / "out"
    exe = Path(sys.executable).with_name("custseg")
    subprocess.run(
        [str(exe), "run", str(data), "--out", str(out), "--k", "3", "-q"],
        check=True,
        capture_output=True,
    )
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = subprocess.Popen(
        [str(exe), "run", str(data), "--out", str(out), "--seed", "5", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)  # the run takes about 5 s: it is killed before it could write
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after = {
        str(p.relative_to(out)): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and not p.relative_to(out).parts[0].startswith(".custseg-staging-")
    }
    assert after == before  # the manifest included
