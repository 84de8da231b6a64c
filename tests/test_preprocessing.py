import numpy as np
import pytest

from custseg.preprocessing import LogStandardScaler


def test_log_then_standardise_hand_computed() -> None:
    x = np.array([[0.0, 1.0, np.e**2 - 1], [np.e - 1, 1.0, np.e**4 - 1]])
    scaler = LogStandardScaler().fit(x)
    # log1p: column 0 -> [0, 1], column 1 -> [log 2, log 2] (constant), column 2 -> [2, 4].
    np.testing.assert_allclose(scaler.mean_, [0.5, np.log(2), 3.0])
    np.testing.assert_allclose(scaler.scale_, [0.5, 1.0, 1.0])
    np.testing.assert_allclose(scaler.transform(x), [[-1, 0, -1], [1, 0, 1]], atol=1e-12)


def test_round_trip_through_dict() -> None:
    x = np.abs(np.random.default_rng(0).normal(size=(50, 3))) * 100
    scaler = LogStandardScaler().fit(x)
    again = LogStandardScaler.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(again.transform(x), scaler.transform(x))
    z = scaler.transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-12)


def test_rejects_negative_and_non_finite() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        LogStandardScaler().fit(np.array([[-1.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="finite"):
        LogStandardScaler().fit(np.array([[np.nan, 1.0, 1.0]]))
