"""The modelling stage: which k are scored, the checks before fitting, one-k fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.config import ModelConfig, Settings
from custseg.errors import UserError
from custseg.progress import StageTimer
from custseg.segmentation import fit_fixed_k, fit_segments, k_values, model_record


def _customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(n)],
            "recency_days": rng.integers(0, 365, n),
            "frequency": rng.integers(1, 30, n),
            "monetary": rng.uniform(10, 5000, n).round(2),
        }
    )


def test_k_values() -> None:
    assert k_values(ModelConfig(), 1000, "x", 900) == (list(range(2, 11)), [])
    # A fixed k is the only one scored.
    assert k_values(ModelConfig(k=5), 1000, "x", 900) == ([5], [])
    ks, warnings = k_values(ModelConfig(), 6, "x", 6)
    assert ks == [2, 3, 4, 5] and "scored up to 5 instead of 10" in warnings[0]
    with pytest.raises(UserError, match="--k 7 is more than the 6 distinct customer profiles"):
        k_values(ModelConfig(k=7), 100, "x", 6)
    # 4 customers, 4 profiles: both refusals give the same largest k, and it is accepted.
    with pytest.raises(UserError, match=r"4 distinct customer profiles .*at most 3\.$"):
        k_values(ModelConfig(k=5), 4, "x", 4)
    with pytest.raises(UserError, match=r"not smaller than the 4 customers .*at most 3\.$"):
        k_values(ModelConfig(k=4), 4, "x", 4)
    assert k_values(ModelConfig(k=3), 4, "x", 4) == ([3], [])
    with pytest.raises(UserError, match="only 2 customer"):
        k_values(ModelConfig(), 2, "x", 2)


def test_fit_segments_records_every_choice() -> None:
    customers = _customers(400)
    fit = fit_segments(customers.copy(), Settings(), "x", StageTimer(silent=True))
    assert fit.k == len(fit.segments) and fit.table["chosen"].sum() == 1
    assert fit.customers["cluster"].between(0, fit.k - 1).all()
    record = model_record(fit, Settings(), as_of="2011-12-10T12:50:00", mapping={})
    assert record["k"] == fit.k and record["k_selection"]["mode"] == "auto"
    assert record["k_selection"]["k_range"] == [2, 10]
    assert record["personas"] == {str(i): n for i, n in enumerate(fit.names)}


def test_fit_fixed_k_is_the_run_fit_for_that_k() -> None:
    customers = _customers(300, seed=2)
    run = fit_segments(customers.copy(), Settings(model={"k": 4}), "x", StageTimer(silent=True))
    assigned, names = fit_fixed_k(customers, 4, ModelConfig(), "x")
    assert names == run.names
    assert assigned["persona"].tolist() == run.customers["persona"].tolist()
    zero = customers.assign(monetary=0.0)
    with pytest.raises(UserError, match=r"total spend <= 0 \(e.g. customer 0: 0\)"):
        fit_fixed_k(zero, 3, ModelConfig(), "x")
