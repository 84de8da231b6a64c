"""Spark MLlib for customer tables too large to bring to the driver.

Up to ``engine.spark_collect_max_customers`` customers the RFM table is collected and
clustered by scikit-learn, as on DuckDB. Above it, :func:`fit_with_mllib` scales and
clusters the table where it lies, chooses k by the same rule and names personas the same
way; the cohort tables then join its personas inside Spark (:func:`persona_relation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from custseg.engines import Relation
from custseg.features import FEATURES
from custseg.spark import SparkEngine

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

    from custseg.cleaning import CleaningResult
    from custseg.progress import StageTimer
    from custseg.segmentation import Segmentation
    from custseg.session import Session

__all__ = ["REPORT_SAMPLE", "MllibFit", "fit_mllib", "fit_with_mllib", "persona_relation"]


@dataclass
class MllibFit:
    """K-Means fitted by Spark MLlib on a customer table too large to collect.

    Attributes
    ----------
    table : pandas.DataFrame
        k, inertia, silhouette (squared Euclidean, MLlib's), davies_bouldin,
        calinski_harabasz, chosen.
    k : int
        The chosen k.
    reason : str
        Why, in words.
    centroids : numpy.ndarray of shape (k, 3)
        Standardised centroids in canonical order.
    mean, scale : numpy.ndarray
        MLlib's StandardScaler mean and (sample) standard deviation of the log1p features.
    assigned : pyspark.sql.DataFrame
        customer_id, recency_days, frequency, monetary, cluster (canonical labels).
    """

    table: pd.DataFrame
    k: int
    reason: str
    centroids: Any
    mean: Any
    scale: Any
    assigned: Any


def fit_mllib(rfm: DataFrame, ks: list[int], cfg: Any) -> MllibFit:
    """Score each k with MLlib K-Means, choose one by the same rule, assign customers.

    Parameters
    ----------
    rfm : pyspark.sql.DataFrame
        customer_id, recency_days, frequency, monetary (one row per customer).
    ks : list of int
        The k values to score.
    cfg : ModelConfig
        k, business range, seed.

    Returns
    -------
    MllibFit
        Scores, choice, centroids and the labelled customers (still in Spark).

    Notes
    -----
    MLlib's ``ClusteringEvaluator`` computes the silhouette on squared Euclidean distances
    (scikit-learn's uses Euclidean), so its values run higher; Davies-Bouldin and
    Calinski-Harabasz are computed here from the definitions with Euclidean distances.
    """
    import numpy as np
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F  # noqa: N812

    from custseg.clustering import canonical_order
    from custseg.model_selection import choose_k

    logged = rfm.select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        *[F.log1p(F.col(c)).alias(f"log_{c}") for c in ("recency_days", "frequency", "monetary")],
    )
    raw = VectorAssembler(
        inputCols=["log_recency_days", "log_frequency", "log_monetary"], outputCol="raw"
    ).transform(logged)
    scaler = StandardScaler(inputCol="raw", outputCol="features", withMean=True, withStd=True)
    scaler_model = scaler.fit(raw)
    data = scaler_model.transform(raw).cache()
    n = data.count()
    parts = vector_to_array(F.col("features"))
    squares = data.select(sum((parts[i] * parts[i] for i in range(3)), F.lit(0.0)).alias("s"))
    total_ss = float(squares.agg(F.sum("s")).collect()[0][0])
    evaluator = ClusteringEvaluator(distanceMeasure="squaredEuclidean")
    rows, models = [], {}
    for k in ks:
        model = KMeans(k=k, seed=cfg.seed, featuresCol="features", maxIter=100).fit(data)
        predicted = model.transform(data)
        centers = np.asarray(model.clusterCenters(), dtype=np.float64)
        inertia = float(model.summary.trainingCost)
        rows.append(
            {
                "k": k,
                "inertia": inertia,
                "silhouette": float(evaluator.evaluate(predicted)),
                "davies_bouldin": _davies_bouldin(predicted, centers),
                "calinski_harabasz": ((total_ss - inertia) / (k - 1)) / (inertia / (n - k))
                if inertia > 0
                else float("inf"),
                "chosen": False,
            }
        )
        models[k] = (model, centers)
    table = pd.DataFrame(rows)
    if cfg.k == "auto":
        k, reason = choose_k(
            table, business_min=cfg.business_k_min, business_max=cfg.business_k_max
        )
    else:
        k, reason = int(cfg.k), f"k={cfg.k} was set by the user (--k)."
    table.loc[table["k"] == k, "chosen"] = True
    model, centers = models[k]
    order = canonical_order(centers)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    relabel = F.create_map(*[F.lit(v) for i, r in enumerate(rank) for v in (i, int(r))])
    assigned = model.transform(data).select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        relabel[F.col("prediction")].alias("cluster"),
    )
    data.unpersist()
    return MllibFit(
        table=table,
        k=k,
        reason=reason,
        centroids=centers[order],
        mean=np.asarray(scaler_model.mean.toArray(), dtype=np.float64),
        scale=np.asarray(scaler_model.std.toArray(), dtype=np.float64),
        assigned=assigned,
    )


def _davies_bouldin(predicted: DataFrame, centers: Any) -> float:
    """Davies-Bouldin index from the definition: Euclidean scatter and centroid distances."""
    import numpy as np
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F  # noqa: N812

    parts = vector_to_array(F.col("features"))
    centre = F.array(*[F.lit(float(v)) for v in centers.ravel()])
    k, d = centers.shape
    idx = F.col("prediction") * d
    dist = F.sqrt(
        sum(
            ((parts[j] - F.element_at(centre, idx + j + 1)) ** 2 for j in range(d)),
            F.lit(0.0),
        )
    )
    scatter: dict[int, float] = dict(
        predicted.groupBy("prediction")
        .agg(F.avg(dist).alias("s"))
        .select("prediction", "s")
        .collect()
    )
    s = np.array([scatter.get(i, 0.0) for i in range(k)])
    gaps = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (s[:, None] + s[None, :]) / gaps
    np.fill_diagonal(ratio, -np.inf)
    return float(np.mean(np.max(ratio, axis=1)))


#: Customers collected from Spark for the report's charts when the table stays in Spark.
REPORT_SAMPLE = 20_000


def _spark_scores(assigned: Any, n: int) -> Any:
    """Add the RFM scores and rule segment in Spark, by the formula of :mod:`custseg.scores`."""
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.window import Window

    from custseg.scores import segment_map

    def score(column: Any) -> Any:
        rank = F.rank().over(Window.orderBy(column))
        return (F.lit(1) + F.floor(F.lit(5) * (rank - 1) / F.lit(max(n, 1)))).cast("int")

    scored = (
        assigned.withColumn("r_score", score(-F.col("recency_days")))
        .withColumn("f_score", score(F.col("frequency")))
        .withColumn("m_score", score(F.col("monetary")))
    )
    segment = None
    for name, (r0, r1, f0, f1, m0, m1) in segment_map():
        test = (
            F.col("r_score").between(r0, r1)
            & F.col("f_score").between(f0, f1)
            & F.col("m_score").between(m0, m1)
        )
        segment = F.when(test, name) if segment is None else segment.when(test, name)
    return scored.withColumn(
        "rfm_code", F.concat_ws("", "r_score", "f_score", "m_score")
    ).withColumn("rfm_segment", segment)


def fit_with_mllib(session: Session, cleaned: CleaningResult, timer: StageTimer) -> Segmentation:
    """Cluster a customer table too large to collect with Spark MLlib, where it lies.

    The RFM table stays in Spark; the k table, the choice of k and the personas follow the
    same rules as on the local path. The report's charts get a seeded sample of customers.
    """
    import numpy as np
    from pyspark.sql import functions as F  # noqa: N812

    from custseg.personas import assign_personas, playbook
    from custseg.preprocessing import LogStandardScaler
    from custseg.progress import logger
    from custseg.scores import SCORE_COLUMNS
    from custseg.segmentation import Segmentation, check_spend, k_values, summary_from_totals

    settings, source = session.settings, session.source
    engine = session.engine
    assert isinstance(engine, SparkEngine)
    n = cleaned.customers
    logger.info(
        "rfm      %s customers: above %s (engine.spark_collect_max_customers), the RFM "
        "table stays in Spark and MLlib clusters it",
        f"{n:,}",
        f"{settings.engine.spark_collect_max_customers:,}",
    )
    rfm = engine.cached(engine.spark.sql(session.rfm_query()))
    bad = rfm.filter("monetary <= 0")
    first = bad.take(1)
    check_spend(bad.count(), (first[0][0], float(first[0][3])) if first else None, source)
    profiles = rfm.select(*FEATURES).distinct().count()
    ks, warnings = k_values(settings.model, n, source, profiles)
    for warning in warnings:
        logger.warning("warning  %s", warning)
    with timer.stage("k-select") as notes:
        advance = timer.progress(f"MLlib K-Means for k={ks[0]}..{ks[-1]}", 1)
        fit = fit_mllib(rfm, ks, settings.model)
        advance(1)
        notes.append(f"Spark MLlib on all {n:,} customers; k={fit.k}")
    with timer.stage("segment") as notes:
        names = assign_personas(fit.centroids)
        persona = F.create_map(*[F.lit(v) for i, name in enumerate(names) for v in (i, name)])
        assigned = fit.assigned.withColumn("persona", persona[F.col("cluster")])
        # The engine's own customer keys with the personas, for the cohort tables.
        personas = engine.view_frame(
            assigned.select(F.col("customer_id").alias("customer"), "persona"), "personas"
        )
        assigned = _spark_scores(assigned, n)
        if dict(assigned.dtypes)["customer_id"] in ("double", "float"):
            # 13085.0 is written "13085", as on the local path.
            whole = F.col("customer_id") == F.floor("customer_id")
            assigned = assigned.withColumn(
                "customer_id",
                F.when(whole, F.col("customer_id").cast("bigint").cast("string")).otherwise(
                    F.col("customer_id").cast("string")
                ),
            )
        # Computed once, from the cached RFM, and kept by Spark apart from the session's
        # cached tables: writing customers.parquet after the session has closed must not
        # read the input again (a workbook's converted copy is gone by then).
        assigned = assigned.localCheckpoint(eager=True)
        per = (
            assigned.groupBy("cluster", "persona")
            .agg(
                F.count("*").alias("customers"),
                F.avg("recency_days").alias("recency_days_mean"),
                F.avg("frequency").alias("frequency_mean"),
                F.avg("monetary").alias("monetary_mean"),
                F.sum("monetary").alias("revenue"),
            )
            .toArrow()
            .to_pandas()
        )
        segments = summary_from_totals(per, playbook(settings.playbook))
        fraction = min(1.0, REPORT_SAMPLE / max(n, 1))
        sample = (
            assigned.sample(fraction=fraction, seed=settings.model.seed)
            .orderBy("customer_id")
            .toArrow()
            .to_pandas()
        )
        sample["customer_id"] = sample["customer_id"].astype(str)
        sample = sample[["customer_id", *FEATURES, "cluster", "persona", *SCORE_COLUMNS]]
        notes.append(
            ", ".join(
                f"{p} {c:,}"
                for p, c in zip(segments["persona"], segments["customers"], strict=True)
            )
        )
    scaler = LogStandardScaler()
    scaler.mean_, scaler.scale_ = fit.mean, np.where(fit.scale > 0, fit.scale, 1.0)
    return Segmentation(
        customers=sample,
        n_customers=n,
        table=fit.table,
        k=fit.k,
        reason=fit.reason,
        scaler=scaler,
        centroids=fit.centroids,
        names=names,
        inertia=float(fit.table.loc[fit.table["k"] == fit.k, "inertia"].iloc[0]),
        segments=segments,
        ks=ks,
        warnings=warnings,
        scaled=scaler.transform(sample[list(FEATURES)].to_numpy(dtype=np.float64)),
        silhouette_n=n,
        silhouette_metric="squared euclidean (Spark MLlib ClusteringEvaluator)",
        sweep_n=n,
        sweep_note=f"Spark MLlib K-Means on all {n:,} customers; the report's charts show a "
        f"seeded sample of {len(sample):,}",
        customers_spark=assigned,
        personas=personas,
    )


def persona_relation(session: Session, fit: Segmentation) -> Relation:
    """Return (customer, persona) of an MLlib segmentation, kept in Spark for the cohorts."""
    if not isinstance(fit.personas, Relation):
        raise TypeError("not a segmentation made by fit_with_mllib")
    return fit.personas
