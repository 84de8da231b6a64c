import itertools

import numpy as np
import pytest

from custseg.personas import PERSONAS, assign_personas


def test_vocabulary_is_distinct_and_complete() -> None:
    names = [p.name for p in PERSONAS]
    assert len(set(names)) == len(names) == 11
    assert names[0] == "Champions"
    assert all(p.description and p.action for p in PERSONAS)


def test_best_standing_is_champions_and_names_follow_profiles() -> None:
    # (recency, frequency, monetary) standardised; low recency = recent.
    centroids = np.array(
        [
            [-1.4, 2.4, 2.0],  # recent, frequent, big: Champions
            [1.0, -0.9, -0.9],  # long ago, one-off, small
            [-1.2, -0.9, -0.6],  # recent, few orders: New Customers
            [1.2, 1.2, 1.2],  # used to be great, long gone
        ]
    )
    names = assign_personas(centroids)
    assert names == ["Champions", "Lost", "New Customers", "Can't Lose Them"]


def test_names_do_not_depend_on_label_order() -> None:
    rng = np.random.default_rng(0)
    centroids = rng.normal(size=(6, 3))
    names = assign_personas(centroids)
    for perm in itertools.islice(itertools.permutations(range(6)), 0, 720, 37):
        permuted = assign_personas(centroids[list(perm)])
        assert permuted == [names[i] for i in perm]
    assert len(set(names)) == 6


def test_eleven_clusters_get_all_names_and_twelve_fail() -> None:
    centroids = np.array([[-p.r, p.f, p.m] for p in PERSONAS])
    assert assign_personas(centroids) == [p.name for p in PERSONAS]
    with pytest.raises(ValueError, match="12 clusters"):
        assign_personas(np.zeros((12, 3)) + np.arange(12)[:, None])
