"""log1p and standardisation of the RFM features."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["LogStandardScaler"]

FloatArray = npt.NDArray[np.float64]


class LogStandardScaler:
    """``z = (log1p(x) - mean_) / scale_`` per column, with the population standard deviation.

    Follows scikit-learn's estimator contract: :meth:`fit` learns ``mean_`` and ``scale_``,
    :meth:`transform` applies them. A constant column gets ``scale_ = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> s = LogStandardScaler().fit(np.array([[0.0], [np.e - 1]]))
    >>> s.transform(np.array([[0.0], [np.e - 1]])).ravel().tolist()
    [-1.0, 1.0]
    """

    mean_: FloatArray
    scale_: FloatArray

    def fit(self, x: npt.ArrayLike) -> LogStandardScaler:
        """Learn the mean and standard deviation of ``log1p(x)``.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features)
            Non-negative raw features.

        Returns
        -------
        LogStandardScaler
            ``self``.
        """
        logged = self._log(x)
        self.mean_ = logged.mean(axis=0)
        scale = logged.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, x: npt.ArrayLike) -> FloatArray:
        """Return the standardised ``log1p(x)``.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features)
            Non-negative raw features.

        Returns
        -------
        numpy.ndarray
            Standardised features.
        """
        return (self._log(x) - self.mean_) / self.scale_

    def fit_transform(self, x: npt.ArrayLike) -> FloatArray:
        """Fit, then transform ``x``."""
        return self.fit(x).transform(x)

    @staticmethod
    def _log(x: npt.ArrayLike) -> FloatArray:
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"expected a 2-D array, got shape {arr.shape}")
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError("features must be finite and non-negative")
        return np.log1p(arr)

    def to_dict(self) -> dict[str, Any]:
        """Serialise the learned parameters."""
        return {"transform": "log1p", "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogStandardScaler:
        """Rebuild a fitted scaler from :meth:`to_dict` output."""
        scaler = cls()
        scaler.mean_ = np.asarray(data["mean"], dtype=np.float64)
        scaler.scale_ = np.asarray(data["scale"], dtype=np.float64)
        return scaler
