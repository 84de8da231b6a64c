"""Fit times of the lifetime-value models: the real workbook and one million customers.

Run: ``python benchmarks/clv_fit.py`` (about two minutes); it replaces its block of
BENCHMARKS.md (``bench.py`` keeps the block when it rewrites the rest). Each figure is the
median of three runs in this process, after one warm-up (imports and first calls excluded).
"""

from __future__ import annotations

import datetime as dt
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench import CLV_BEGIN, CLV_END, replace_block  # noqa: E402
from custseg.clv import fit_gamma_gamma  # noqa: E402
from custseg.clv_choice import MODELS  # noqa: E402
from custseg.commands.clv import fit_models  # noqa: E402
from custseg.config import load_settings  # noqa: E402
from custseg.predictions import customer_predictions  # noqa: E402
from custseg.session import Session  # noqa: E402
from test_btyd import TRUTH, simulate_bg_nbd  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "online_retail.parquet"


def _median(task: Callable[[], object], repeats: int = 3) -> float:
    task()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        task()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _one_million() -> pd.DataFrame:
    """One million simulated BG/NBD customers with spend (seeded), in days."""
    summary = simulate_bg_nbd(1_000_000, 0, TRUTH)
    summary["T"] = np.floor(summary["T"])
    summary["recency"] = np.minimum(np.floor(summary["recency"]), summary["T"])
    rng = np.random.default_rng(1)
    summary["paid_repeats"] = summary["frequency"]
    summary["monetary"] = np.where(summary["frequency"] > 0, rng.gamma(6, 5, len(summary)), 0.0)
    summary["spend"] = summary["monetary"] * (summary["frequency"] + 1)
    summary.index = pd.Index([f"c{i}" for i in range(len(summary))], name="customer_id")
    return summary


def main() -> None:
    """Measure, then replace the block in BENCHMARKS.md."""
    rows = []
    with Session(REAL, load_settings(None, {})) as session:
        days = session.daily()
    rows.append(
        (
            "real workbook: choose (3 models fitted and backtested on the automatic split) "
            "and refit the winner",
            f"{days['customer_id'].nunique():,} customers",
            _median(lambda: fit_models(days, None, 90)),
        )
    )
    model, gg, _, _, summary = fit_models(days, None, 90)
    end = days["day"].max().date()
    rows.append(
        (
            "real workbook: clv.csv with 200-draw intervals",
            f"{len(summary):,} customers",
            _median(
                lambda: customer_predictions(
                    model, gg, summary, end=end, horizon=90, discount_rate=0.1
                )
            ),
        )
    )
    million = _one_million()
    triples = len(million[["frequency", "recency", "T"]].drop_duplicates())
    for name, cls in MODELS.items():
        rows.append(
            (
                f"one million customers: fit {cls.LABEL}",
                f"{triples:,} distinct triples",
                _median(lambda cls=cls: cls.fit(million), repeats=1),
            )
        )
        if name == "bg_nbd":
            fitted = cls.fit(million)
    rows.append(
        (
            "one million customers: fit Gamma-Gamma",
            f"{int((million['frequency'] > 0).sum()):,} customers",
            _median(lambda: fit_gamma_gamma(million), repeats=1),
        )
    )
    gg_million = fit_gamma_gamma(million)
    rows.append(
        (
            "one million customers: clv.csv with 200-draw intervals (BG/NBD)",
            "chunks of 20,000",
            _median(
                lambda: customer_predictions(
                    fitted, gg_million, million, end=dt.date(2012, 1, 1), horizon=90,
                    discount_rate=0.1,
                ),
                repeats=1,
            ),
        )
    )  # fmt: skip
    block = [
        CLV_BEGIN,
        "## Lifetime-value fits",
        "",
        f"Measured by `benchmarks/clv_fit.py` on {dt.date.today()}, {platform.machine()}, "
        "in one process after a warm-up; the real rows are medians of 3 runs, the million "
        "rows one run each. The million customers are drawn from BG/NBD (r 0.5, alpha 10, "
        "a 0.8, b 2.5; T uniform on 30..365 whole days).",
        "",
        "| task | size | wall |",
        "|---|---|---|",
        *[f"| {task} | {size} | {wall:.2f} s |" for task, size, wall in rows],
        CLV_END,
    ]
    replace_block(ROOT / "BENCHMARKS.md", CLV_BEGIN, CLV_END, "\n".join(block))
    print("\n".join(block))


if __name__ == "__main__":
    main()
