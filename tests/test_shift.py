"""custseg.shift: how far scored customers lie from a saved model's, in hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from custseg.preprocessing import LogStandardScaler
from custseg.shift import MIN_CUSTOMERS, feature_shifts, shift_warning


def _raw(logged: list[float], n: int | None = None) -> np.ndarray:
    """Customers whose three features all have these log1p values (repeated to ``n`` rows)."""
    values = np.resize(np.asarray(logged, dtype=np.float64), n or len(logged))
    return np.repeat(np.expm1(values)[:, None], 3, axis=1)


@pytest.fixture
def scaler() -> LogStandardScaler:
    # log1p values 4 and 6: mean 5, population standard deviation 1, for each feature.
    return LogStandardScaler().fit(_raw([4.0, 6.0]))


def test_shifts_are_means_and_spreads_in_the_models_units(scaler: LogStandardScaler) -> None:
    same = feature_shifts(_raw([4.0, 6.0], 30), scaler)
    assert [s.feature for s in same] == ["recency_days", "frequency", "monetary"]
    assert [(round(s.mean, 9), round(s.spread, 9)) for s in same] == [(0.0, 1.0)] * 3
    assert not any(s.far for s in same)
    # log1p 6 and 8: mean (7 - 5) / 1 = 2 above, spread 1.
    up = feature_shifts(_raw([6.0, 8.0], 30), scaler)
    assert [(round(s.mean, 9), round(s.spread, 9)) for s in up] == [(2.0, 1.0)] * 3
    assert all(s.far for s in up)
    assert up[2].words() == "spend 2.0 standard deviations above theirs"
    # log1p 2 and 8: mean 0, spread 3.
    wide = feature_shifts(_raw([2.0, 8.0], 30), scaler)
    assert [(round(s.mean, 9), round(s.spread, 9)) for s in wide] == [(0.0, 3.0)] * 3
    assert wide[0].words() == "recency 3.0 times as spread out"


def test_the_thresholds_hold_at_their_edges(scaler: LogStandardScaler) -> None:
    # 4.1 +- 0.45: a mean 0.9 below and a spread 0.45, neither far yet.
    near = feature_shifts(_raw([3.65, 4.55], 30), scaler)
    assert [(round(s.mean, 9), round(s.spread, 9)) for s in near] == [(-0.9, 0.45)] * 3
    assert not any(s.far for s in near)
    # 3.9 +- 0.35: a mean 1.1 below and a spread 0.35 (1 / 0.35 = 2.86 times narrower).
    beyond = feature_shifts(_raw([3.55, 4.25], 30), scaler)
    assert [(round(s.mean, 9), round(s.spread, 9)) for s in beyond] == [(-1.1, 0.35)] * 3
    assert beyond[1].far
    assert beyond[1].words() == (
        "order count 1.1 standard deviations below theirs and 2.9 times less spread out"
    )
    # Either alone is enough.
    assert feature_shifts(_raw([5.1, 7.1], 30), scaler)[0].far  # mean 1.1, spread 1
    assert feature_shifts(_raw([4.9, 5.1], 30), scaler)[0].far  # mean 0, spread 0.1
    alike = feature_shifts(_raw([5.0], 30), scaler)
    assert alike[2].far and alike[2].words() == "spend all alike (no spread)"


def test_the_warning_names_the_input_the_model_and_each_feature_that_moved(
    scaler: LogStandardScaler,
) -> None:
    scored = _raw([4.0, 6.0], 40)
    assert shift_warning(scored, scaler, "new.csv", "m.json") is None
    scored[:, 2] = np.expm1(np.resize([7.0, 9.0], 40))  # spend 3 standard deviations above
    assert shift_warning(scored, scaler, "new.csv", "m.json") == (
        "The 40 customers of new.csv differ from those the model was fitted on (m.json): "
        "spend 3.0 standard deviations above theirs (on the log1p scale the model clusters "
        "on). Its segments may not mean the same here (another shop, another currency?): "
        "check the model, or segment these customers with custseg run."
    )
    # Too few customers to tell a population from noise: no check.
    assert shift_warning(scored[: MIN_CUSTOMERS - 1], scaler, "new.csv", "m.json") is None
    assert shift_warning(scored[:MIN_CUSTOMERS], scaler, "new.csv", "m.json") is not None
