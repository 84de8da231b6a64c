"""How far scored customers lie from the customers a saved model was fitted on.

``custseg score`` (and ``migrate`` with ``--model``, and the dashboard's scoring) assigns
new customers to a saved model's segments without refitting: each goes to the nearest
centroid after the model's own log1p and standardisation. That is sound while the new
customers resemble the model's: after the model's scaler their features then have a mean
near 0 and a spread near 1. Customers of another shop, or spend in another currency, land
elsewhere, and the nearest centroid no longer means what the persona's name says (prices in
yen scored with a model fitted in pounds put nearly everyone among the big spenders).

The check compares, for each RFM feature, the scored customers' mean and standard deviation
after the model's scaler with the model's own (0 and 1), and says so when the mean moved by
:data:`MAX_MEAN_SHIFT` standard deviations or more, or the spread changed by a factor of
:data:`MAX_SPREAD_RATIO` or more. On the real Online Retail data, the model of its last day
scores the customers of its earlier snapshots (2011-03-01 to 2011-09-01) with mean shifts
of at most 0.54 and spreads of 0.63 to 0.97: no warning. Prices multiplied by 100 shift
the spend by 3.7. Fewer than :data:`MIN_CUSTOMERS` customers are not checked: their mean
is too uncertain to say more than noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from custseg.features import FEATURES
from custseg.preprocessing import LogStandardScaler

__all__ = [
    "MAX_MEAN_SHIFT",
    "MAX_SPREAD_RATIO",
    "MIN_CUSTOMERS",
    "FeatureShift",
    "feature_shifts",
    "shift_warning",
]

#: A mean this many of the model's standard deviations away is a different population.
MAX_MEAN_SHIFT = 1.0
#: A spread this many times wider (or narrower) than the model's is one too.
MAX_SPREAD_RATIO = 2.5
#: Below this many customers the check is not made.
MIN_CUSTOMERS = 30

#: Each feature in the words of the warning.
_WORDS = {"recency_days": "recency", "frequency": "order count", "monetary": "spend"}


@dataclass(frozen=True)
class FeatureShift:
    """Where one feature of the scored customers lies, in the model's standardised units.

    Attributes
    ----------
    feature : str
        ``recency_days``, ``frequency`` or ``monetary``.
    mean : float
        The scored customers' mean after the model's scaler (0: the model's mean).
    spread : float
        Their standard deviation after the model's scaler (1: the model's spread).
    """

    feature: str
    mean: float
    spread: float

    @property
    def far(self) -> bool:
        """Whether this feature lies far from the model's customers (see the module)."""
        return (
            abs(self.mean) >= MAX_MEAN_SHIFT
            or self.spread >= MAX_SPREAD_RATIO
            or self.spread <= 1 / MAX_SPREAD_RATIO
        )

    def words(self) -> str:
        """Say how this feature moved, e.g. "spend 3.7 standard deviations above theirs"."""
        name = _WORDS[self.feature]
        parts = []
        if abs(self.mean) >= MAX_MEAN_SHIFT:
            side = "above" if self.mean > 0 else "below"
            parts.append(f"{abs(self.mean):.1f} standard deviations {side} theirs")
        if self.spread >= MAX_SPREAD_RATIO:
            parts.append(f"{self.spread:.1f} times as spread out")
        elif self.spread <= 1 / MAX_SPREAD_RATIO:
            parts.append(
                f"{1 / self.spread:.1f} times less spread out"
                if self.spread > 0.001
                else "all alike (no spread)"
            )
        return f"{name} {' and '.join(parts)}"


def feature_shifts(features: npt.ArrayLike, scaler: LogStandardScaler) -> list[FeatureShift]:
    """Return each feature's mean and spread after ``scaler``, one per :data:`FEATURES`.

    Parameters
    ----------
    features : array-like of shape (n, 3)
        Raw recency_days, frequency and monetary of the scored customers.
    scaler : LogStandardScaler
        The model's.

    Returns
    -------
    list of FeatureShift
        In :data:`~custseg.features.FEATURES` order.

    Examples
    --------
    >>> s = LogStandardScaler().fit(np.array([[1.0, 1, 10], [3.0, 2, 30]]))
    >>> [round(f.mean, 6) for f in feature_shifts(np.array([[1.0, 1, 10], [3.0, 2, 30]]), s)]
    [0.0, 0.0, 0.0]
    """
    z = scaler.transform(features)
    means, spreads = z.mean(axis=0), z.std(axis=0)
    return [
        FeatureShift(name, float(m), float(s))
        for name, m, s in zip(FEATURES, means, spreads, strict=True)
    ]


def shift_warning(
    features: npt.ArrayLike, scaler: LogStandardScaler, source: str, model: str
) -> str | None:
    """Return a sentence when the scored customers lie far from the model's, else None.

    Parameters
    ----------
    features, scaler
        As for :func:`feature_shifts`.
    source : str
        The scored input's name.
    model : str
        Which model (its file, or what it was fitted on).

    Returns
    -------
    str or None
        The warning, naming each feature that moved; None for fewer than
        :data:`MIN_CUSTOMERS` customers or when nothing moved that far.
    """
    values = np.asarray(features, dtype=np.float64)
    if len(values) < MIN_CUSTOMERS:
        return None
    far = [s for s in feature_shifts(values, scaler) if s.far]
    if not far:
        return None
    return (
        f"The {len(values):,} customers of {source} differ from those the model was fitted "
        f"on ({model}): {'; '.join(s.words() for s in far)} (on the log1p scale "
        "the model clusters on). Its segments may not mean the same "
        "here (another shop, another currency?): check the model, or segment these "
        "customers with custseg run."
    )
