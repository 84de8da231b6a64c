"""Coverage of the 90% parameter intervals on simulated BG/NBD customers.

Run: ``python benchmarks/interval_coverage.py [replications] [customers]``; prints the share
of intervals that cover the true value, per parameter and in all. docs/lifetime-value.md quotes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from custseg.clv import BgNbd
from test_btyd import TRUTH, simulate_bg_nbd


def main(replications: int = 200, customers: int = 1500) -> None:
    """Fit ``replications`` simulated samples; print the coverage of each parameter."""
    hits: dict[str, list[bool]] = {name: [] for name in TRUTH}
    for seed in range(replications):
        fitted = BgNbd.fit(simulate_bg_nbd(customers, 10_000 + seed))
        for name, value in TRUTH.items():
            interval = fitted.interval(name, 0.9)
            hits[name].append(interval is not None and interval[0] <= value <= interval[1])
    for name, got in hits.items():
        print(f"{name}: {np.mean(got):.3f}")
    total = [h for got in hits.values() for h in got]
    print(
        f"all: {np.mean(total):.3f} of {len(total)} intervals ({replications} replications "
        f"of {customers} customers)"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
