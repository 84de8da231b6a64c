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


def test_cheapest_assignment_is_optimal_and_scipy_s_answer_without_ties() -> None:
    from scipy.optimize import linear_sum_assignment

    from custseg.personas import cheapest_assignment

    rng = np.random.default_rng(0)
    for _ in range(2000):
        rows = int(rng.integers(1, 11))
        cost = np.round(rng.normal(size=(rows, 10)) ** 2 * rng.uniform(0.1, 10), 12)
        ours = cheapest_assignment(cost)
        assert sorted(set(ours)) == sorted(ours)  # each column once
        assert ours == linear_sum_assignment(cost)[1].tolist()
    tied = np.ones((3, 4))  # every assignment costs 3: always the same one
    assert cheapest_assignment(tied) == cheapest_assignment(tied.copy()) == [2, 1, 0]
    with pytest.raises(ValueError, match="cannot assign 3 rows to 2 columns"):
        cheapest_assignment(np.ones((3, 2)))
