import numpy as np
import pytest

from custseg.clustering import (
    SegmentModel,
    canonical_order,
    fit_kmeans,
    nearest_centroid,
    one_thread,
    refit_labels,
    relabel,
)
from custseg.preprocessing import LogStandardScaler


def test_canonical_order_by_value_score() -> None:
    centroids = np.array([[1.0, -1.0, -1.0], [-1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    # value scores: -3, 3, 0 -> best first
    assert canonical_order(centroids).tolist() == [1, 2, 0]


def test_labels_independent_of_row_order() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [c + rng.normal(scale=0.3, size=(60, 3)) for c in ([0, 0, 0], [3, 3, 3], [-3, 3, 0])]
    )
    perm = rng.permutation(len(x))
    c1, l1, _ = relabel(fit_kmeans(x, 3, seed=0, n_init=10), x)
    c2, l2, _ = relabel(fit_kmeans(x[perm], 3, seed=5, n_init=10), x[perm])
    np.testing.assert_allclose(c1, c2, atol=1e-9)
    assert (l1[perm] == l2).all()


def test_model_predict_reproduces_labels() -> None:
    rng = np.random.default_rng(2)
    raw = np.column_stack(
        [rng.integers(0, 300, 200), rng.integers(1, 30, 200), rng.gamma(2, 500, 200)]
    )
    scaler = LogStandardScaler().fit(raw)
    z = scaler.transform(raw)
    centroids, labels, _ = relabel(fit_kmeans(z, 4, seed=0, n_init=10), z)
    model = SegmentModel.from_dict(SegmentModel(scaler, centroids, ["a", "b", "c", "d"]).to_dict())
    assert (model.predict(raw) == labels).all()
    assert model.personas == ["a", "b", "c", "d"]


def test_nearest_centroid_ties_go_to_lower_index() -> None:
    assert nearest_centroid(
        np.array([[0.0, 0.0]]), np.array([[1.0, 0.0], [-1.0, 0.0]])
    ).tolist() == [0]


def test_tampered_or_foreign_model_is_a_clear_error() -> None:
    import pytest

    from custseg.errors import UserError

    rng = np.random.default_rng(3)
    raw = np.column_stack(
        [rng.integers(0, 300, 50), rng.integers(1, 30, 50), rng.gamma(2, 500, 50)]
    )
    scaler = LogStandardScaler().fit(raw)
    good = SegmentModel(
        scaler, np.array([[0.0, 1, 1], [1, -1, -1]]), ["Champions", "Lost"]
    ).to_dict()
    assert good["format"] == "custseg-model/1"
    assert SegmentModel.from_dict(good).personas == ["Champions", "Lost"]
    cases = [
        ({**good, "format": "sklearn-pickle"}, "is not a custseg model"),
        ({k: v for k, v in good.items() if k != "scaler"}, "bad or missing 'scaler'"),
        ({**good, "centroids": [[0.0, 1.0], [1.0, 2.0]]}, "malformed"),
        ({**good, "centroids": [[0.0, 1, float("nan")], [1, 1, 1]]}, "malformed"),
        ({**good, "scaler": {"mean": [0, 0, 0], "scale": [1, 0, 1]}}, "malformed"),
        ([1, 2, 3], "is not a custseg model"),
        # Crafted: a scale that puts every customer in one segment, an infinite one, 50,000
        # centroids (4.85 GiB of distances), a persona name of a megabyte.
        ({**good, "scaler": {"mean": [0, 0, 0], "scale": [1e308, 1, 1]}}, "out of range"),
        ({**good, "scaler": {"mean": [0, 0, 0], "scale": [float("inf"), 1, 1]}}, "out of range"),
        # Scales and means no fit gives: too small, too large, a negative log1p mean.
        ({**good, "scaler": {"mean": [0, 0, 0], "scale": [1e-300, 1, 1]}}, "out of range"),
        ({**good, "scaler": {"mean": [0, 0, 0], "scale": [999, 1, 1]}}, "out of range"),
        ({**good, "scaler": {"mean": [-1, 0, 0], "scale": [1, 1, 1]}}, "out of range"),
        ({**good, "personas": {"0": "Lost", "1": "Lost"}}, "both named 'Lost'"),
        ({**good, "centroids": [[0.0, 0, 0]] * 50_000}, "it has 50,000 segments"),
        ({**good, "centroids": [[1e9, 0, 0], [0, 0, 0]]}, "out of range"),
        (
            {**good, "personas": {"0": "x" * 1_000_000, "1": "Lost"}},
            "a persona name of 1,000,000 characters",
        ),
    ]
    for data, message in cases:
        with pytest.raises(UserError, match=message):
            SegmentModel.from_dict(data, source="model.json")  # type: ignore[arg-type]


@pytest.mark.parametrize("k", [2, 3, 6, 10])
def test_refit_labels_equal_scikit_learns_estimator(k: int) -> None:
    """The stability measure's lean fit gives exactly KMeans(n_init=1).fit(sample).predict."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(k)
    points = np.concatenate([rng.normal(c, 1.0, size=(300, 3)) for c in range(4)])
    with threadpool_limits(limits=1, user_api="blas"), one_thread():
        for seed in range(5):
            sample = points[rng.integers(0, len(points), len(points))]
            expected = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(sample)
            got = refit_labels(sample, points, k, seed=seed)
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, expected.predict(points))
    # A resample with fewer distinct points than k still gives k labels' worth of answer.
    tiny = np.repeat(points[:2], 5, axis=0)
    assert set(refit_labels(tiny, points[:10], 3, seed=0)) <= {0, 1, 2}
