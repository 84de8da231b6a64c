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


def test_a_name_is_never_given_against_its_claims() -> None:
    from custseg.personas import claims_fit

    # Two clusters: the best (Champions) and one whose centroid is nearest to Promising
    # (recent, little history) but whose median frequency is above everyone's.
    centroids = np.array([[-1.0, 1.5, 1.5], [-0.6, -0.4, -0.1]])
    overall = {"recency_days": 51.0, "frequency": 2.0, "monetary": 674.0}
    medians = [
        {"recency_days": 10.0, "frequency": 9.0, "monetary": 3000.0},
        {"recency_days": 20.0, "frequency": 3.0, "monetary": 500.0},
    ]
    assert assign_personas(centroids) == ["Champions", "Promising"]
    fits = claims_fit(medians, overall)
    promising = [p.name for p in PERSONAS].index("Promising")
    assert not fits[1, promising]  # "infrequent": 3 > 2
    names = assign_personas(centroids, fits=fits)
    assert names[0] == "Champions" and names[1] != "Promising"
    got = PERSONAS[[p.name for p in PERSONAS].index(names[1])]
    assert all(
        {"recent": 20 < 51, "frequent": 3 > 2, "high_spend": False, "low_spend": True,
         "lapsed": False, "infrequent": False}[c]
        for c in got.claims
    )  # fmt: skip


def test_a_cluster_no_name_fits_is_mixed() -> None:
    # Nothing fits either cluster (every claimed name forbidden, and Need Attention too).
    fits = np.zeros((2, len(PERSONAS)), dtype=bool)
    names = assign_personas(np.array([[-1.0, 1.5, 1.5], [1.0, -1.0, -1.0]]), fits=fits)
    assert names == ["Mixed", "Mixed B"]
    # Its action names no persona: a group that fits none is not "treated as Need
    # Attention" (at k = 11 on the real data, a Champions-like Mixed group was).
    from custseg.personas import CATCH_ALL, playbook

    book = playbook()
    others = [p.name for p in PERSONAS]
    for entry in CATCH_ALL:
        action = book[entry.name]["action"]
        assert "segments.csv" in action and not [p for p in others if p in action], action


def _contradictions(customers) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from custseg.personas import CLAIMS, claim_holds, persona_by_name

    overall = customers[["recency_days", "frequency", "monetary"]].median()
    bad = []
    for persona, group in customers.groupby("persona"):
        medians = group[["recency_days", "frequency", "monetary"]].median()
        for claim in persona_by_name(str(persona)).claims:
            feature = CLAIMS[claim][0]
            if not claim_holds(claim, medians[feature], overall[feature]):
                bad.append((str(persona), claim))
    return bad


def _check_every_k(path, source: str) -> None:  # type: ignore[no-untyped-def]
    """Fit every k the tool allows (2..11) on ``path``; no persona may contradict a claim."""
    from custseg.config import load_settings
    from custseg.segmentation import fit_fixed_k
    from custseg.session import Session

    settings = load_settings(None, {})
    with Session(path, settings) as session:
        rfm = session.rfm()
    for k in range(2, 12):
        customers, names = fit_fixed_k(rfm.copy(), k, settings.model, source)
        assert _contradictions(customers) == [], k
        assert len(set(names)) == k


@pytest.mark.realdata
def test_no_persona_contradicts_its_claims_on_the_real_data_at_any_k(real_parquet) -> None:  # type: ignore[no-untyped-def]
    _check_every_k(real_parquet, "real")


def test_no_persona_contradicts_its_claims_on_synthetic_data_at_any_k(synthetic) -> None:  # type: ignore[no-untyped-def]
    _check_every_k(synthetic, "synthetic")
