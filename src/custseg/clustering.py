"""K-Means with a stable label order."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from custseg.errors import UserError

if TYPE_CHECKING:  # scikit-learn is imported when a model is fitted, not to read one
    from sklearn.cluster import KMeans
from custseg.preprocessing import LogStandardScaler

__all__ = [
    "MODEL_FORMAT",
    "SegmentModel",
    "Solution",
    "canonical_order",
    "fit_kmeans",
    "nearest_centroid",
    "one_thread",
    "refit",
    "refit_labels",
    "relabel",
    "solve_kmeans",
    "value_score",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def value_score(centroids: FloatArray) -> FloatArray:
    """Return the combined R, F, M standing of centroids: ``-recency + frequency + monetary``.

    Parameters
    ----------
    centroids : numpy.ndarray of shape (k, 3)
        Centroids in the standardised (recency, frequency, monetary) space.

    Returns
    -------
    numpy.ndarray of shape (k,)
        Higher is better (recent, frequent, high spending).
    """
    return -centroids[:, 0] + centroids[:, 1] + centroids[:, 2]


def canonical_order(centroids: FloatArray) -> IntArray:
    """Order clusters by descending value score, ties broken by the centroid coordinates.

    Parameters
    ----------
    centroids : numpy.ndarray of shape (k, 3)
        Standardised centroids.

    Returns
    -------
    numpy.ndarray
        ``order[i]`` is the original label that becomes label ``i``.
    """
    score = np.round(value_score(centroids), 12)
    keys = [np.round(centroids[:, j], 12) for j in reversed(range(centroids.shape[1]))]
    return np.lexsort([*keys, -score]).astype(np.int64)


def nearest_centroid(x: FloatArray, centroids: FloatArray) -> IntArray:
    """Return the index of the nearest centroid (Euclidean) for each row of ``x``.

    Parameters
    ----------
    x : numpy.ndarray of shape (n, d)
        Standardised features.
    centroids : numpy.ndarray of shape (k, d)
        Centroids.

    Returns
    -------
    numpy.ndarray of shape (n,)
        Labels; ties go to the lower index.
    """
    d2 = ((x[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(d2.argmin(axis=1), dtype=np.int64)


_limited = threading.local()


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run K-Means on one OpenMP thread inside this block (entered once, however nested).

    Entering threadpoolctl's limit costs about 3 ms (it inspects the loaded libraries), so
    a sweep of a hundred fits enters it once around them all. The limit belongs to the
    calling thread (OpenMP's thread count is per thread), so each worker enters its own.
    """
    if getattr(_limited, "depth", 0):
        yield
        return
    from threadpoolctl import threadpool_limits

    _limited.depth = 1
    try:
        with threadpool_limits(limits=1, user_api="openmp"):
            yield
    finally:
        _limited.depth = 0


def fit_kmeans(x: FloatArray, k: int, *, seed: int, n_init: int) -> KMeans:
    """Fit K-Means (k-means++ init, Lloyd) with a fixed seed.

    Parameters
    ----------
    x : numpy.ndarray of shape (n, d)
        Standardised features.
    k : int
        Number of clusters.
    seed : int
        ``random_state``.
    n_init : int
        Number of initialisations; the lowest inertia wins.

    Returns
    -------
    sklearn.cluster.KMeans
        The fitted estimator.
    """
    # One OpenMP thread: on a few thousand customers threads only add overhead, and when
    # another process keeps a core busy the spinning threads made a sweep 20x slower
    # (4.2 s against 0.22 s for k=2..10 on 10,000 customers, measured side by side).
    # It also makes the labels independent of the machine's core count.
    from sklearn.cluster import KMeans

    with one_thread():
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)


@dataclass(frozen=True)
class Solution:
    """A fitted K-Means without the estimator: its centroids, labels and inertia.

    What :func:`relabel` reads of a ``KMeans`` (the same attribute names). Made of numpy
    arrays only, it crosses from the fitting worker (:mod:`custseg.worker`) without the
    parent importing scikit-learn to unpickle it.
    """

    cluster_centers_: FloatArray
    labels_: IntArray
    inertia_: float

    @classmethod
    def of(cls, model: KMeans | Solution) -> Solution:
        """Return the solution of a fitted ``KMeans`` (or ``model`` itself)."""
        if isinstance(model, Solution):
            return model
        return cls(
            np.asarray(model.cluster_centers_, dtype=np.float64),
            np.asarray(model.labels_),
            float(model.inertia_),
        )


def solve_kmeans(x: FloatArray, k: int, *, seed: int, n_init: int) -> Solution:
    """:func:`fit_kmeans`, returning its :class:`Solution` (what the fitting worker runs)."""
    return Solution.of(fit_kmeans(x, k, seed=seed, n_init=n_init))


def refit_labels(sample: FloatArray, points: FloatArray, k: int, *, seed: int) -> IntArray:
    """Fit K-Means (one k-means++ start) on ``sample``; return the labels it gives ``points``.

    The same labels as ``KMeans(k, n_init=1, random_state=seed).fit(sample).predict(points)``
    (a test holds them equal), from scikit-learn's own k-means++ and Lloyd steps without the
    estimator around them: its input checks cost as much as the fit on a few thousand
    customers, and a stability measure runs 120 such fits (0.2 s of a 1.1 s sweep on the
    real data). Call it on one OpenMP and one BLAS thread (:func:`one_thread`). Where those
    private steps are missing or called otherwise (another scikit-learn), the estimator runs.
    """
    try:
        return _lean_labels(sample, points, k, seed)
    except (ImportError, TypeError):  # pragma: no cover - another scikit-learn's layout
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            # A resample of tiny data may hold fewer distinct points than k: the estimator
            # warns (the private steps do not), and the lower agreement is the honest answer.
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted = fit_kmeans(sample, k, seed=seed, n_init=1)
        return np.asarray(fitted.predict(points), dtype=np.int64)


def _lean_labels(sample: FloatArray, points: FloatArray, k: int, seed: int) -> IntArray:
    """:func:`refit_labels` by scikit-learn's private steps, in ``KMeans.fit``'s order."""
    from sklearn.cluster._kmeans import (
        _kmeans_plusplus,
        _kmeans_single_lloyd,
        _labels_inertia,
        _tolerance,
    )

    # As KMeans.fit: the tolerance from the data as given, then the data centred.
    x = np.array(sample, dtype=np.float64, order="C", copy=True)
    tol = _tolerance(x, 1e-4)
    weights = np.ones(x.shape[0], dtype=np.float64)
    mean = x.mean(axis=0)
    x -= mean
    norms = np.einsum("ij,ij->i", x, x)
    start, _ = _kmeans_plusplus(
        x, k, x_squared_norms=norms, sample_weight=weights, random_state=np.random.RandomState(seed)
    )
    _, _, centers, _ = _kmeans_single_lloyd(
        x, weights, start, max_iter=300, verbose=False, tol=tol, n_threads=1
    )
    centers += mean
    target = np.ascontiguousarray(points, dtype=np.float64)
    labels = _labels_inertia(
        target, np.ones(target.shape[0]), centers, n_threads=1, return_inertia=False
    )
    return np.asarray(labels, dtype=np.int64)


def refit(x: FloatArray, centers: FloatArray, *, seed: int) -> KMeans:
    """Run K-Means on all of ``x`` from given starting centroids (one initialisation).

    Used when the k sweep ran on a sample: the sample's solution seeds the full fit, which
    then costs one Lloyd run instead of ``n_init`` of them.
    """
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=len(centers), init=centers, n_init=1, random_state=seed).fit(x)


def relabel(model: KMeans | Solution, x: FloatArray) -> tuple[FloatArray, IntArray, float]:
    """Return centroids in canonical order, the matching labels of ``x``, and the inertia."""
    centers = np.asarray(model.cluster_centers_, dtype=np.float64)
    order = canonical_order(centers)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels = rank[np.asarray(model.labels_, dtype=np.int64)]
    return centers[order], labels, float(model.inertia_)


#: The format tag written to and required in model.json.
MODEL_FORMAT = "custseg-model/1"

#: Bounds a saved model must keep (see :meth:`SegmentModel.from_dict`): segments (one
#: persona name each), |standardised centroid|, the log1p mean and scale, name length.
#: log1p of any recency, order count or spend custseg accepts (amounts under 1e12) is
#: between 0 and 30, so a mean lies there and a standard deviation is at most 15 (MAX_LOG
#: leaves room); a scale under MIN_SCALE would need a million customers alike to 1e-9.
MAX_SEGMENTS = 11
MAX_STANDARD = 1e3
MAX_LOG = 30.0
MIN_SCALE = 1e-9
MAX_NAME = 100


class SegmentModel:
    """Everything needed to assign customers to segments without refitting or pickle.

    Parameters
    ----------
    scaler : LogStandardScaler
        The fitted log1p + standardisation of (recency_days, frequency, monetary).
    centroids : numpy.ndarray of shape (k, 3)
        Standardised centroids in canonical label order.
    personas : sequence of str
        ``personas[i]`` names cluster ``i``.
    """

    def __init__(
        self, scaler: LogStandardScaler, centroids: FloatArray, personas: Sequence[str]
    ) -> None:
        self.scaler = scaler
        self.centroids = np.asarray(centroids, dtype=np.float64)
        self.personas = list(personas)

    def predict(self, features: npt.ArrayLike) -> IntArray:
        """Return the cluster of each row of raw (recency_days, frequency, monetary)."""
        return nearest_centroid(self.scaler.transform(features), self.centroids)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to plain JSON types."""
        return {
            "scaler": self.scaler.to_dict(),
            "centroids": self.centroids.tolist(),
            "personas": {str(i): name for i, name in enumerate(self.personas)},
            "format": MODEL_FORMAT,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "model") -> SegmentModel:
        """Rebuild a model from :meth:`to_dict` output (a loaded model.json or its record).

        Raises
        ------
        UserError
            If ``data`` is not a custseg model: wrong format tag, missing keys, or arrays of
            the wrong shape or with non-finite values.
        """
        if hasattr(data, "to_dict"):  # a ModelRecord
            data = data.to_dict()
        if not isinstance(data, dict) or data.get("format", MODEL_FORMAT) != MODEL_FORMAT:
            raise UserError(f"{source} is not a custseg model (format {MODEL_FORMAT} expected).")
        rows = data.get("centroids")
        if isinstance(rows, list) and not 2 <= len(rows) <= MAX_SEGMENTS:
            raise UserError(
                f"{source} is not a valid custseg model: it has {len(rows):,} segments, "
                f"where custseg writes 2 to {MAX_SEGMENTS}."
            )
        try:
            centroids = np.asarray(data["centroids"], dtype=np.float64)
            scaler = LogStandardScaler.from_dict(data["scaler"])
            names = [str(data["personas"][str(i)]) for i in range(len(centroids))]
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(
                f"{source} is not a valid custseg model (bad or missing {exc})."
            ) from exc
        shapes_ok = (
            centroids.ndim == 2
            and centroids.shape[1] == 3
            and len(centroids) >= 2
            and scaler.mean_.shape == (3,)
            and scaler.scale_.shape == (3,)
        )
        # Standardised log1p values: a scale or centroid far outside these bounds cannot come
        # from a fit (it would put every customer in one segment).
        if not (
            shapes_ok
            and np.isfinite(centroids).all()
            and (np.abs(centroids) <= MAX_STANDARD).all()
            and np.isfinite(scaler.mean_).all()
            and ((scaler.mean_ >= 0) & (scaler.mean_ <= MAX_LOG)).all()
            and np.isfinite(scaler.scale_).all()
            and ((scaler.scale_ >= MIN_SCALE) & (scaler.scale_ <= MAX_LOG)).all()
        ):
            raise UserError(
                f"{source} is not a valid custseg model (centroids or scaler are "
                "malformed or out of range); was it edited by hand?"
            )
        from custseg.personas import PERSONAS

        known = {p.name for p in PERSONAS}
        odd = next((n for n in names if n not in known and len(n) > MAX_NAME), None)
        if odd is not None:
            raise UserError(
                f"{source} is not a valid custseg model: a persona name of {len(odd):,} "
                f"characters (names are custseg's own or at most {MAX_NAME} characters)."
            )
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise UserError(
                f"{source} is not a valid custseg model: two segments are both named "
                f"{twice!r} (each segment has its own persona)."
            )
        return cls(scaler, centroids, names)
