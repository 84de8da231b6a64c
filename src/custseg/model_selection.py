"""Choosing k: a table of scores per k and a documented rule over it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from custseg.clustering import fit_kmeans

__all__ = ["KSelection", "choose_k", "score_k_range"]

FloatArray = npt.NDArray[np.float64]

#: The rule :func:`choose_k` applies, in words (also written to the outputs).
AUTO_RULE = (
    "Among k in the business range {lo}..{hi}, rank silhouette (higher is better) and "
    "Davies-Bouldin (lower is better); choose the k with the smallest sum of the two ranks, "
    "ties going to the higher silhouette, then the smaller k."
)


@dataclass
class KSelection:
    """The k table and the fitted model of each k.

    Attributes
    ----------
    table : pandas.DataFrame
        k, inertia, silhouette, davies_bouldin, calinski_harabasz, chosen.
    models : dict
        The K-Means fitted for each k.
    silhouette_sample_size : int
        Customers used for the silhouette (all of them up to the exact threshold).
    """

    table: pd.DataFrame
    models: dict[int, KMeans]
    silhouette_sample_size: int


def score_k_range(
    x: FloatArray,
    ks: Sequence[int],
    *,
    seed: int,
    n_init: int = 10,
    silhouette_max_exact: int = 20_000,
    on_step: Callable[[int], None] | None = None,
) -> KSelection:
    """Fit K-Means for each k and score it.

    Parameters
    ----------
    x : numpy.ndarray of shape (n, d)
        Standardised features.
    ks : sequence of int
        The k values, each in 2..n-1.
    seed : int
        Seed for K-Means and the silhouette sample.
    n_init : int
        K-Means initialisations per k.
    silhouette_max_exact : int
        Above this many customers the silhouette uses a seeded sample of this size.
    on_step : callable, optional
        Called with each k once it is scored (for progress).

    Returns
    -------
    KSelection
        The table (``chosen`` all False) and the models.
    """
    n = len(x)
    sample = n if n <= silhouette_max_exact else silhouette_max_exact
    rows = []
    models: dict[int, KMeans] = {}
    for k in ks:
        model = fit_kmeans(x, k, seed=seed, n_init=n_init)
        labels = model.labels_
        sil = silhouette_score(
            x, labels, sample_size=None if sample == n else sample, random_state=seed
        )
        rows.append(
            {
                "k": int(k),
                "inertia": float(model.inertia_),
                "silhouette": float(sil),
                "davies_bouldin": float(davies_bouldin_score(x, labels)),
                "calinski_harabasz": float(calinski_harabasz_score(x, labels)),
                "chosen": False,
            }
        )
        models[int(k)] = model
        if on_step is not None:
            on_step(int(k))
    return KSelection(table=pd.DataFrame(rows), models=models, silhouette_sample_size=sample)


def choose_k(
    table: pd.DataFrame, *, business_min: int = 3, business_max: int = 8
) -> tuple[int, str]:
    """Choose k from the score table by the rule :data:`AUTO_RULE`.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`score_k_range` (columns k, silhouette, davies_bouldin).
    business_min, business_max : int
        The range of k a marketing team can act on; when no scored k falls in it, every
        scored k is a candidate.

    Returns
    -------
    tuple of (int, str)
        The chosen k and the reason, in words, with the figures.
    """
    inside = table[(table["k"] >= business_min) & (table["k"] <= business_max)]
    lo, hi = business_min, business_max
    note = ""
    if inside.empty:
        inside = table
        lo, hi = int(table["k"].min()), int(table["k"].max())
        note = f"No scored k lies in the business range {business_min}..{business_max}. "
    ranked = inside.assign(
        sil_rank=inside["silhouette"].rank(ascending=False, method="min"),
        db_rank=inside["davies_bouldin"].rank(ascending=True, method="min"),
    )
    ranked = ranked.assign(total=ranked["sil_rank"] + ranked["db_rank"])
    best = ranked.sort_values(
        ["total", "silhouette", "k"], ascending=[True, False, True], kind="mergesort"
    ).iloc[0]
    k = int(best["k"])
    overall = table.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
    reason = (
        note
        + AUTO_RULE.format(lo=lo, hi=hi).replace(
            "the business range", "the range" if note else "the business range"
        )
        + f" k={k} has silhouette {best['silhouette']:.3f} (rank {int(best['sil_rank'])}) and "
        f"Davies-Bouldin {best['davies_bouldin']:.3f} (rank {int(best['db_rank'])})."
    )
    if int(overall["k"]) != k:
        reason += (
            f" Over the whole range the silhouette alone would pick k={int(overall['k'])} "
            f"({overall['silhouette']:.3f}), "
            + (
                "too few segments to act on."
                if int(overall["k"]) < lo
                else "more than a team can act on."
            )
        )
    return k, reason
