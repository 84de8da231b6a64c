import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

from custseg.model_selection import choose_k, score_k_range


def _table(rows: list[tuple[int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["k", "silhouette", "davies_bouldin"])


def test_rule_prefers_best_combined_rank_inside_business_range() -> None:
    table = _table(
        [
            (2, 0.60, 0.50),  # best on both, but outside 3..8
            (3, 0.40, 0.90),  # ranks: sil 1, db 3 -> 4
            (4, 0.38, 0.70),  # sil 2, db 1 -> 3  <- chosen
            (5, 0.30, 0.80),  # sil 3, db 2 -> 5
            (9, 0.50, 0.60),  # outside
        ]
    )
    k, reason = choose_k(table)
    assert k == 4
    assert "k=4 has silhouette 0.380 (rank 2), Davies-Bouldin 0.700 (rank 1)." in reason
    assert "rank silhouette (higher is better) and Davies-Bouldin" in reason  # no stability
    assert "In plain words: the customers fall into 4 fairly distinct groups." in reason
    assert "silhouette alone would pick k=2 (0.600), too few segments to act on." in reason


def test_the_silhouette_alone_is_explained_on_each_side_of_the_range() -> None:
    inside = _table([(3, 0.40, 0.80), (4, 0.39, 0.50), (5, 0.38, 0.90)])
    # k=3: 1 + 2 = 3; k=4: 2 + 1 = 3 -> tie to k=3; the silhouette alone also picks k=3.
    assert "alone" not in choose_k(inside)[1]
    inside = _table([(3, 0.40, 0.80), (4, 0.39, 0.50), (5, 0.38, 0.60), (6, 0.37, 0.55)])
    # k=3: 1 + 4 = 5; k=4: 2 + 1 = 3; k=5: 3 + 3 = 6; k=6: 4 + 2 = 6 -> k=4; k=3 is inside.
    k, reason = choose_k(inside)
    assert k == 4
    assert reason.endswith(
        "Over the whole range the silhouette alone would pick k=3 (0.400); k=4 ranks better "
        "once Davies-Bouldin counts too. In plain words: the customers fall into 4 fairly "
        "distinct groups."
    )
    above = _table([(3, 0.40, 0.80), (4, 0.39, 0.50), (9, 0.60, 0.40)])
    k, reason = choose_k(above)
    assert k == 3  # 3: 1 + 2 = 3; 4: 2 + 1 = 3 -> tie, to the higher silhouette
    assert "silhouette alone would pick k=9 (0.600), more than a team can act on." in reason


def test_the_reason_names_the_scored_part_of_the_business_range() -> None:
    # --k-min 5 --k-max 6: the rule ranks only 5 and 6, and says so (it said "Among k in
    # the business range 3..8").
    k, reason = choose_k(_table([(5, 0.40, 0.80), (6, 0.30, 0.90)]))
    assert k == 5
    assert reason.startswith(
        "Among the scored k 5..6 of the business range 3..8, rank silhouette (higher is "
        "better) and Davies-Bouldin (lower is better); choose the k"
    )
    whole = _table([(k, 0.5 - k / 100, 0.5 + k / 100) for k in range(2, 11)])
    assert choose_k(whole)[1].startswith("Among k in the business range 3..8, rank")


def test_rule_with_stability_by_hand() -> None:
    table = pd.DataFrame(
        [(3, 0.40, 0.90, 0.95), (4, 0.38, 0.70, 0.60), (5, 0.30, 0.80, 0.90)],
        columns=["k", "silhouette", "davies_bouldin", "stability"],
    )
    # sums of ranks: k=3: 1 + 3 + 1 = 5; k=4: 2 + 1 + 3 = 6; k=5: 3 + 2 + 2 = 7.
    k, reason = choose_k(table)
    assert k == 3
    assert "Davies-Bouldin 0.900 (rank 3) and stability 0.95 (rank 1)." in reason
    assert (
        "In plain words: the customers fall into 3 fairly distinct groups, and re-running the "
        "segmentation on resampled data almost always puts the same customers together "
        "(agreement 95%)." in reason
    )


def test_stability_is_one_for_separated_blobs_and_lower_for_noise() -> None:
    from custseg.clustering import fit_kmeans
    from custseg.model_selection import stability

    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0]], dtype=float)
    blobs = np.concatenate([c + rng.normal(0, 0.3, (200, 3)) for c in centres])
    model = fit_kmeans(blobs, 3, seed=0, n_init=10)
    assert stability(blobs, model, resamples=20, seed=0) == 1.0
    noise = rng.normal(0, 1, (600, 3))
    noisy = stability(noise, fit_kmeans(noise, 6, seed=0, n_init=10), resamples=20, seed=0)
    assert noisy < 0.9
    again = stability(noise, fit_kmeans(noise, 6, seed=0, n_init=10), resamples=20, seed=0)
    assert again == noisy  # seeded


def test_rule_tie_goes_to_higher_silhouette_then_smaller_k() -> None:
    table = _table([(3, 0.40, 0.80), (4, 0.35, 0.70), (5, 0.30, 0.90)])
    # 3: 1 + 2 = 3; 4: 2 + 1 = 3 -> tie, higher silhouette wins.
    assert choose_k(table)[0] == 3
    same = _table([(3, 0.40, 0.80), (4, 0.40, 0.80)])
    assert choose_k(same)[0] == 3


def test_rule_falls_back_to_whole_range() -> None:
    table = _table([(2, 0.5, 0.9), (9, 0.6, 0.5), (10, 0.4, 0.4)])
    assert choose_k(table, business_min=3, business_max=8)[0] == 9


def test_score_table_matches_sklearn_and_samples_above_threshold() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [5, 5, 5], [0, 5, 0]])
    x = np.concatenate([c + rng.normal(size=(100, 3)) for c in centres])
    sel = score_k_range(x, [2, 3, 4], seed=0, n_init=10, silhouette_max_exact=1000)
    assert list(sel.table["k"]) == [2, 3, 4]
    assert sel.silhouette_sample_size == 300
    exact = silhouette_score(x, sel.models[3].labels_)
    assert sel.table.loc[1, "silhouette"] == exact
    assert sel.table["silhouette"].idxmax() == 1  # k=3 is the true structure
    assert not sel.table["chosen"].any()
    sampled = score_k_range(x, [3], seed=0, n_init=10, silhouette_max_exact=100)
    assert sampled.silhouette_sample_size == 100
    assert abs(sampled.table.loc[0, "silhouette"] - exact) < 0.05


def test_fallback_is_said() -> None:
    k, reason = choose_k(_table([(2, 0.5, 0.9)]))
    assert k == 2
    assert reason.startswith(
        "No scored k lies in the business range 3..8. Among k in the range 2..2"
    )


def test_batched_silhouettes_equal_sklearn_exact_and_sampled() -> None:
    from custseg.model_selection import silhouettes

    rng = np.random.default_rng(3)
    x = np.concatenate([c + rng.normal(size=(150, 3)) for c in ([0, 0, 0], [4, 4, 0], [0, 4, 4])])
    labelings = [
        np.asarray(score_k_range(x, [k], seed=0).models[k].labels_, dtype=np.int64)
        for k in (2, 3, 5)
    ]
    labelings.append(np.r_[np.zeros(len(x) - 1, dtype=np.int64), 1])  # a singleton cluster
    ours = silhouettes(x, labelings, chunk_bytes=8 * len(x) * 7)  # several chunks
    theirs = [silhouette_score(x, lab) for lab in labelings]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    sampled = silhouettes(x, labelings[:3], sample_size=100, seed=4)
    expected = [silhouette_score(x, lab, sample_size=100, random_state=4) for lab in labelings[:3]]
    np.testing.assert_allclose(sampled, expected, rtol=0, atol=1e-12)


def test_rand_index_equals_scikit_learn() -> None:
    from sklearn.metrics import adjusted_rand_score

    from custseg.model_selection import rand_index

    rng = np.random.default_rng(1)
    for _ in range(500):
        n = int(rng.integers(2, 200))
        a = rng.integers(0, int(rng.integers(1, 8)), n)
        b = a.copy() if rng.random() < 0.2 else rng.integers(0, int(rng.integers(1, 8)), n)
        assert rand_index(a, b) == adjusted_rand_score(a, b)


def test_stability_only_where_the_rule_chooses_and_threads_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from custseg.config import ModelConfig
    from custseg.model_selection import select_k_and_fit, stability_candidates

    assert stability_candidates(range(2, 11), ModelConfig()) == [3, 4, 5, 6, 7, 8]
    assert stability_candidates([2], ModelConfig()) == [2]  # none in the range: all
    assert stability_candidates([5], ModelConfig(k=5)) == [5]
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [c + rng.normal(0, 0.5, (150, 3)) for c in ([0, 0, 0], [4, 0, 0], [0, 4, 0])]
    )
    two = select_k_and_fit(x, list(range(2, 7)), ModelConfig(k_max=6))
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    one = select_k_and_fit(x, list(range(2, 7)), ModelConfig(k_max=6))
    pd.testing.assert_frame_equal(one.table, two.table)
    assert two.table.set_index("k")["stability"].isna().tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]
