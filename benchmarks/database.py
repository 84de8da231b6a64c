"""Reading order lines from PostgreSQL against reading the Parquet file, and 10M lines.

Run: ``python benchmarks/database.py`` (a few minutes; needs PostgreSQL's initdb/pg_ctl, as
the tests do, and the real data at ../shared/data). It starts a scratch server
(tests/postgres.py), loads the real workbook's lines into a table, times ``custseg run``
from the table and from the Parquet file side by side (median of 3 each, peak RSS of the
process), then 10,000,000 synthetic lines from PostgreSQL, and replaces its block of
BENCHMARKS.md (``bench.py`` keeps the block).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from tests.postgres import PASSWORD, start_server  # noqa: E402

from bench import DB_BEGIN as BEGIN  # noqa: E402
from bench import DB_END as END  # noqa: E402
from bench import replace_block  # noqa: E402

PARQUET = ROOT.parent / "shared" / "data" / "online_retail.parquet"
CUSTSEG = Path(sys.executable).with_name("custseg")


def _timed(args: list[str], work: Path) -> tuple[float, float, float]:
    """Run custseg once: (wall seconds, peak RSS in GiB, ingest seconds from run_log.json)."""
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", str(CUSTSEG), *args, "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, "PGPASSWORD": PASSWORD},
        check=True,
    )
    wall = time.perf_counter() - start
    peak = int(proc.stderr.strip().splitlines()[-1]) / 2**20  # KiB -> GiB
    log = json.loads((out / "run_log.json").read_text())
    return wall, peak, float(log["seconds"]["ingest"])


def _load(url: str, parquet: Path, table: str) -> float:
    """Load a Parquet file into a table batch by batch; return the seconds."""
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.parquet as pq

    start = time.perf_counter()
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        reader = pq.ParquetFile(parquet)
        cur.adbc_ingest(table, reader.iter_batches(batch_size=1 << 20), mode="create")
        conn.commit()
    return time.perf_counter() - start


def measure(repeats: int = 3) -> list[str]:
    """Return the block's table rows."""
    work = Path(tempfile.mkdtemp(prefix="custseg-db-bench-"))
    rows = []
    server = start_server()
    try:
        pg = next(server)
        url = pg.url(password=True)
        _load(url, PARQUET, "order_lines")
        runs = {"parquet": [str(PARQUET)], "postgresql": [pg.url(), "--table", "order_lines"]}
        for name, args in runs.items():
            results = [_timed(["run", *args], work) for _ in range(repeats)]
            wall = statistics.median(r[0] for r in results)
            peak = max(r[1] for r in results)
            ingest = statistics.median(r[2] for r in results)
            rows.append(
                f"| real workbook (541,909 lines) | `custseg run` from {name} | {wall:.2f} s "
                f"| {ingest:.2f} s | {peak:.2f} GiB |"
            )
        big = work / "ten-million.parquet"
        subprocess.run(
            [str(CUSTSEG), "synth", "--out", str(big), "--customers", "121000", "-q"], check=True
        )
        import pyarrow.parquet as pq

        lines = pq.ParquetFile(big).metadata.num_rows
        load = _load(url, big, "big_lines")
        wall, peak, ingest = _timed(["run", pg.url(), "--table", "big_lines", "--k", "4"], work)
        rows.append(
            f"| synthetic, {lines:,} lines (loaded in {load:.0f} s) | `custseg run --k 4` from "
            f"postgresql | {wall:.1f} s | {ingest:.1f} s | {peak:.2f} GiB |"
        )
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    """Measure, then replace the block in BENCHMARKS.md."""
    rows = measure()
    block = [
        BEGIN,
        "## Reading from PostgreSQL",
        "",
        f"Measured by `benchmarks/database.py` on {dt.date.today()}: a scratch PostgreSQL "
        "server on this machine (loopback), the lines read through ADBC as Arrow batches and "
        "staged as Parquet in the command's temporary folder. Wall and peak RSS are the whole "
        "`custseg run` process (median wall of 3 for the real data); ingest is the reading "
        "stage of run_log.json.",
        "",
        "| input | what | wall | ingest | peak RSS |",
        "|---|---|---|---|---|",
        *rows,
        END,
    ]
    replace_block(ROOT / "BENCHMARKS.md", BEGIN, END, "\n".join(block))
    print("\n".join(block))


if __name__ == "__main__":
    main()
