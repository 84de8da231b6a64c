"""From RFM per customer to named segments: scale, choose k, K-Means, personas, scores.

:func:`fit_segments` is the modelling stage of ``run`` (and of every command that needs a
fresh segmentation): it checks the data can be segmented, scores the k range, fits K-Means,
names the clusters and adds the RFM scores. :func:`fit_fixed_k` fits one k and nothing else
(the holdout check). Spark MLlib's version of the same stage is
:func:`custseg.mllib.fit_with_mllib`.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd

from custseg import worker
from custseg.config import ModelConfig, Settings
from custseg.errors import UserError
from custseg.features import FEATURES
from custseg.personas import persona_by_name, playbook
from custseg.preprocessing import LogStandardScaler
from custseg.progress import StageTimer, logger
from custseg.results import KSelectionRecord, ModelRecord

__all__ = [
    "SEGMENT_COLUMNS",
    "Segmentation",
    "check_spend",
    "fit_fixed_k",
    "fit_segments",
    "k_values",
    "model_record",
    "segment_summary",
    "summary_from_totals",
    "versions",
]

SEGMENT_COLUMNS = (
    "cluster",
    "persona",
    "description",
    "action",
    "channel",
    "timing",
    "customers",
    "share",
    "recency_days_mean",
    "frequency_mean",
    "monetary_mean",
    "revenue",
    "revenue_share",
)


def versions() -> dict[str, str]:
    """Return the versions of Python and of the libraries that decide the results."""
    names = ["custseg", "numpy", "pandas", "scikit-learn", "duckdb", "fastexcel", "pyarrow"]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except Exception:  # pragma: no cover - a missing optional reader
            out[name] = "absent"
    return out


def segment_summary(
    customers: pd.DataFrame, plays: dict[str, dict[str, str]] | None = None
) -> pd.DataFrame:
    """Aggregate customers into one row per cluster (the segments.csv table).

    Parameters
    ----------
    customers : pandas.DataFrame
        With columns cluster, persona and the RFM features.
    plays : dict, optional
        Action, channel and timing per persona (default: the packaged playbook).

    Returns
    -------
    pandas.DataFrame
        cluster, persona, description, action, channel, timing, customers, share,
        recency_days_mean, frequency_mean, monetary_mean, revenue, revenue_share; by cluster.
    """
    grouped = customers.groupby(["cluster", "persona"], sort=True)
    seg = grouped.agg(
        customers=("customer_id", "size"),
        recency_days_mean=("recency_days", "mean"),
        frequency_mean=("frequency", "mean"),
        monetary_mean=("monetary", "mean"),
        revenue=("monetary", "sum"),
    ).reset_index()
    return summary_from_totals(seg, plays)


def summary_from_totals(
    seg: pd.DataFrame, plays: dict[str, dict[str, str]] | None = None
) -> pd.DataFrame:
    """Finish segments.csv from per-cluster counts, means and revenue (either engine)."""
    seg = seg.sort_values("cluster", kind="mergesort").reset_index(drop=True)
    seg["share"] = seg["customers"] / seg["customers"].sum()
    seg["revenue_share"] = seg["revenue"] / seg["revenue"].sum()
    seg["description"] = [persona_by_name(p).description for p in seg["persona"]]
    plays = plays or playbook()
    for key in ("action", "channel", "timing"):
        seg[key] = [plays[p][key] for p in seg["persona"]]
    seg = seg.round(
        {
            "share": 4,
            "revenue_share": 4,
            "recency_days_mean": 2,
            "frequency_mean": 2,
            "monetary_mean": 2,
            "revenue": 2,
        }
    )
    out: pd.DataFrame = seg[list(SEGMENT_COLUMNS)]
    return out


def check_spend(bad: int, example: tuple[Any, float] | None, source: str) -> None:
    """Refuse customers whose total spend is not positive (log1p and personas need spend).

    Raises
    ------
    UserError
        Naming one such customer and the options that lead there.
    """
    if bad:
        shown = f" (e.g. customer {example[0]}: {example[1]:g})" if example else ""
        raise UserError(
            f"{source}: {bad:,} customer(s) have a total spend <= 0{shown} because returns, "
            "cancellations or zero prices are kept; turn those cleaning rules back on, or use "
            "--returns net to subtract returns from purchases."
        )


def _check_customers(customers: pd.DataFrame, source: str) -> int:
    """Refuse non-positive spend; return the number of distinct customer profiles."""
    spent = customers["monetary"] <= 0
    first = customers.loc[spent].iloc[0] if spent.any() else None
    check_spend(
        int(spent.sum()),
        (first["customer_id"], float(first["monetary"])) if first is not None else None,
        source,
    )
    # K-Means cannot find more clusters than there are distinct customer profiles.
    return len(customers[list(FEATURES)].drop_duplicates())


def _check_data(n_customers: int, profiles: int, source: str) -> None:
    """Refuse data with fewer than 3 customers or 2 distinct profiles."""
    # The customer count first: one customer is "only 1", not "all alike".
    if n_customers < 3:
        raise UserError(
            f"{source}: only {n_customers} customer(s) left after cleaning; "
            "segmentation needs at least 3."
        )
    if profiles < 2:
        raise UserError(
            f"{source}: every customer left after cleaning has the same recency, frequency "
            "and spend; there is nothing to segment."
        )


def _check_k(k: int, n_customers: int, profiles: int, source: str) -> None:
    """Refuse a k the data cannot support (too few customers or distinct profiles)."""
    _check_data(n_customers, profiles, source)
    # One answer for both limits, so that following it never meets the other one.
    most = min(profiles, n_customers - 1)
    if k > profiles:
        raise UserError(
            f"--k {k} is more than the {profiles} distinct customer profiles (recency, "
            f"frequency, spend) of {source}; choose k of at most {most}."
        )
    if k >= n_customers:
        raise UserError(
            f"--k {k} is not smaller than the {n_customers} customers of {source}; "
            f"choose k of at most {most}."
        )


def k_values(
    cfg: ModelConfig, n_customers: int, source: str, profiles: int
) -> tuple[list[int], list[str]]:
    """Return the k values to score and warnings for a range lowered by tiny data.

    With ``k`` fixed, only that k is scored (its scores explain it; comparing k values is
    what ``k: auto`` is for, and at scale the other fits would cost most of the run). An
    explicit k the data cannot support is an error; the auto range is lowered to what the
    data supports (at most customers - 1 and the number of distinct profiles), with a
    warning.
    """
    if isinstance(cfg.k, int):
        _check_k(cfg.k, n_customers, profiles, source)
        return [cfg.k], []
    _check_data(n_customers, profiles, source)
    top = min(cfg.k_max, n_customers - 1, profiles)
    warnings = []
    if top < cfg.k_max:
        why = (
            f"{n_customers} customers"
            if n_customers - 1 <= profiles
            else f"{profiles} distinct customer profiles"
        )
        warnings.append(
            f"Tiny data: k was scored up to {top} instead of {cfg.k_max} (--k-max) because "
            f"there are only {why}."
        )
    ks = list(range(cfg.k_min, top + 1))
    if not ks:
        raise UserError(
            f"--k-min {cfg.k_min} leaves no k below the {n_customers} customers of {source}."
        )
    return ks, warnings


def _constant_features(customers: pd.DataFrame) -> list[str]:
    """Warn of features with one value for every customer: they cannot separate segments."""
    return [
        f"{name} is {customers[name].iloc[0]:g} for every customer, so it cannot separate "
        "segments (it is scaled to 0 and ignored by K-Means)."
        for name in FEATURES
        if customers[name].nunique() == 1
    ]


@dataclass
class Segmentation:
    """What either clustering path (scikit-learn here, MLlib in Spark) produced.

    Attributes
    ----------
    customers : pandas.DataFrame
        RFM, cluster, persona and scores per customer (a sample on the MLlib path).
    n_customers : int
        Customers segmented.
    table : pandas.DataFrame
        The k table (k_selection.csv).
    k : int
        The chosen k.
    reason : str
        Why, in words.
    scaler : LogStandardScaler
        The fitted scaling.
    centroids : numpy.ndarray
        Standardised centroids in canonical label order.
    names : list of str
        The persona of each cluster.
    inertia : float
        The final K-Means' inertia.
    segments : pandas.DataFrame
        segments.csv.
    ks : list of int
        The k values scored.
    warnings : list of str
        Warnings about the data (tiny data, constant features).
    scaled : numpy.ndarray
        The standardised features of ``customers``.
    silhouette_n, sweep_n : int
        Customers the silhouette and the sweep used.
    silhouette_metric, sweep_note : str
        How the silhouette was computed; what the sweep ran on.
    customers_spark : pyspark.sql.DataFrame or None
        Every customer's assignment, still in Spark (MLlib path).
    personas : Relation or None
        (customer, persona) with the engine's keys, still in Spark (MLlib path).
    """

    customers: pd.DataFrame
    n_customers: int
    table: pd.DataFrame
    k: int
    reason: str
    scaler: LogStandardScaler
    centroids: np.ndarray
    names: list[str]
    inertia: float
    segments: pd.DataFrame
    ks: list[int]
    warnings: list[str]
    scaled: np.ndarray
    silhouette_n: int
    silhouette_metric: str
    sweep_n: int
    sweep_note: str
    customers_spark: Any = None
    personas: Any = None


def fit_segments(
    customers: pd.DataFrame,
    settings: Settings,
    source: str,
    timer: StageTimer,
    *,
    every_k: bool = True,
) -> Segmentation:
    """Scale, score k, fit K-Means and name personas with scikit-learn on this machine.

    Parameters
    ----------
    customers : pandas.DataFrame
        The RFM table (customer_id and :data:`~custseg.features.FEATURES`); columns are
        added to it.
    settings : Settings
        The model settings (k, range, seed, ...) and the playbook.
    source : str
        The input's name, for messages.
    timer : StageTimer
        Logs and times the scale, k-select and segment stages.
    every_k : bool
        Score every k of the range (the k table is an output). False scores only the k the
        auto rule can choose (the business range): the same k and personas, for commands
        that write no k table (clv, cohorts).

    Returns
    -------
    Segmentation
        The fitted segmentation.

    Raises
    ------
    UserError
        When the data cannot be segmented (non-positive spend, too few customers or
        distinct profiles for k).
    """
    from custseg.clustering import relabel
    from custseg.model_selection import select_k_and_fit
    from custseg.personas import assign_personas
    from custseg.scores import rfm_scores

    profiles = _check_customers(customers, source)
    with timer.stage("scale") as notes:
        scaler = LogStandardScaler()
        scaled = scaler.fit_transform(customers[list(FEATURES)].to_numpy(dtype=np.float64))
        notes.append("log1p, then standardised to mean 0 and unit variance")
    ks, warnings = k_values(settings.model, len(customers), source, profiles)
    if not every_k:
        from custseg.model_selection import stability_candidates

        ks = stability_candidates(ks, settings.model)
    warnings += _constant_features(customers)
    for warning in warnings:
        logger.warning("warning  %s", warning)
    cfg = settings.model
    with timer.stage("k-select") as notes:
        advance = timer.progress(f"K-Means for k={ks[0]}..{ks[-1]}", len(ks))
        choice = worker.call(select_k_and_fit, scaled, ks, cfg, on_step=lambda _k: advance(1))
        table, k = choice.table, choice.k
        best = table.loc[table["k"] == k].iloc[0]
        if choice.sweep_sample_size < len(scaled):
            notes.append(
                f"scores on a seeded sample of {choice.sweep_sample_size:,} customers, "
                f"then K-Means on all {len(scaled):,}"
            )
        scored = f"scored k={ks[0]}..{ks[-1]}" if len(ks) > 1 else f"scored k={k}"
        if not every_k and cfg.k == "auto":  # why not --k-min..--k-max, as run scores
            scored += " (only where the auto rule chooses: no k table is written)"
        notes.append(
            f"{scored}; k={k} "
            + ("chosen by the auto rule" if cfg.k == "auto" else "set by k (option or YAML)")
            + f" (silhouette {best['silhouette']:.3f}, Davies-Bouldin {best['davies_bouldin']:.3f})"
        )
    with timer.stage("segment") as notes:
        centroids, labels, inertia = relabel(choice.model, scaled)
        names = assign_personas(centroids, fits=name_fits(customers, labels, len(centroids)))
        customers["cluster"] = labels
        customers["persona"] = [names[i] for i in labels]
        customers = pd.concat([customers, rfm_scores(customers)], axis=1)
        segments = segment_summary(customers, playbook(settings.playbook))
        notes.append(
            ", ".join(
                f"{p} {n:,}"
                for p, n in zip(segments["persona"], segments["customers"], strict=True)
            )
        )
    n = len(customers)
    return Segmentation(
        customers=customers,
        n_customers=n,
        table=table,
        k=k,
        reason=choice.reason,
        scaler=scaler,
        centroids=centroids,
        names=names,
        inertia=inertia,
        segments=segments,
        ks=ks,
        warnings=warnings,
        scaled=scaled,
        silhouette_n=choice.silhouette_sample_size,
        silhouette_metric="euclidean (scikit-learn)",
        sweep_n=choice.sweep_sample_size,
        sweep_note="all customers"
        if choice.sweep_sample_size == n
        else f"scores on a seeded sample of {choice.sweep_sample_size:,} of {n:,} customers; "
        "the final K-Means ran on all customers from the chosen k's centroids (one "
        "initialisation)",
    )


def name_fits(customers: pd.DataFrame, labels: np.ndarray, k: int) -> np.ndarray:
    """Return which persona names each cluster's medians allow (:func:`claims_fit`)."""
    from custseg.personas import claims_fit

    features = customers[list(FEATURES)]
    overall = features.median().to_dict()
    medians = [features[labels == i].median().to_dict() for i in range(k)]
    return claims_fit(medians, overall)


def fit_fixed_k(
    customers: pd.DataFrame, k: int, cfg: ModelConfig, source: str
) -> tuple[pd.DataFrame, list[str]]:
    """Fit K-Means with a given k and name the clusters; no k scores, no report figures.

    Parameters
    ----------
    customers : pandas.DataFrame
        The RFM table.
    k : int
        The number of clusters.
    cfg : ModelConfig
        Seed and K-Means initialisations.
    source : str
        The input's name, for messages.

    Returns
    -------
    tuple of (pandas.DataFrame, list of str)
        The customers with cluster and persona, and the persona of each cluster in order.

    Raises
    ------
    UserError
        When the data cannot be segmented into k clusters.
    """
    from custseg.clustering import relabel, solve_kmeans
    from custseg.personas import assign_personas

    profiles = _check_customers(customers, source)
    _check_k(k, len(customers), profiles, source)
    scaled = LogStandardScaler().fit_transform(customers[list(FEATURES)].to_numpy(dtype=np.float64))
    model = worker.call(solve_kmeans, scaled, k, seed=cfg.seed, n_init=cfg.n_init)
    centroids, labels, _ = relabel(model, scaled)
    names = assign_personas(centroids, fits=name_fits(customers, labels, k))
    out = customers.assign(cluster=labels, persona=[names[i] for i in labels])
    return out, names


def model_record(
    fit: Segmentation,
    settings: Settings,
    *,
    as_of: str,
    mapping: dict[str, str | None],
) -> ModelRecord:
    """Return the saved model (model.json) of a segmentation, with every choice behind it."""
    from custseg.clustering import SegmentModel
    from custseg.model_selection import AUTO_RULE

    cfg = settings.model
    model = SegmentModel(fit.scaler, fit.centroids, fit.names).to_dict()
    return ModelRecord(
        features=list(FEATURES),
        scaler=model["scaler"],
        centroids=model["centroids"],
        personas=model["personas"],
        format=model["format"],
        k=fit.k,
        k_selection=KSelectionRecord(
            mode="auto" if cfg.k == "auto" else "fixed",
            rule=AUTO_RULE.format(lo=cfg.business_k_min, hi=cfg.business_k_max),
            reason=fit.reason,
            k_range=[fit.ks[0], fit.ks[-1]],
            warnings=fit.warnings,
            silhouette_sample_size=fit.silhouette_n,
            silhouette_exact=fit.silhouette_n == fit.n_customers,
            silhouette_metric=fit.silhouette_metric,
            sweep_sample_size=fit.sweep_n,
            sweep_note=fit.sweep_note,
        ),
        kmeans={
            "n_init": cfg.n_init,
            "init": "k-means++",
            "algorithm": "lloyd",
            "inertia": fit.inertia,
        },
        seed=cfg.seed,
        as_of=as_of,
        mapping=mapping,
        cleaning=settings.cleaning.model_dump(),
        settings=settings.model_dump(mode="json"),
        versions=versions(),
    )
