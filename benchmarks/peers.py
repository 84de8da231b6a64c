"""The naive peers custseg is measured against: what a tutorial or a pandas user writes.

Each ``task_*`` runs in its own process (see ``bench.py``) and returns one JSON-able dict.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

RFM_COLUMNS = ["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]


def naive_read(path: str) -> Any:
    """Read order lines as a tutorial does: the workbook with openpyxl, else Parquet."""
    import pandas as pd

    if path.endswith(".xlsx"):
        return pd.read_excel(path, engine="openpyxl")
    return pd.read_parquet(path)


def naive_clean(df: Any) -> Any:
    """Apply the canonical cleaning with one boolean mask after another; add Amount."""
    df = df[df["CustomerID"].notna()]
    df = df[~df["InvoiceNo"].astype(str).str.startswith("C")]
    df = df[(df["Quantity"] > 0) & (df["UnitPrice"] > 0)].copy()
    df["Amount"] = df["Quantity"] * df["UnitPrice"]
    return df


def naive_rfm(df: Any) -> Any:
    """Compute RFM of cleaned lines the way tutorials do: groupby with lambdas."""
    import pandas as pd

    as_of = df["InvoiceDate"].max() + pd.Timedelta(days=1)
    return df.groupby("CustomerID").agg(
        recency=("InvoiceDate", lambda x: (as_of - x.max()).days),
        frequency=("InvoiceNo", lambda x: x.nunique()),
        monetary=("Amount", lambda x: x.sum()),
    )


def vectorised_rfm(df: Any) -> Any:
    """Pandas done well: masks, then built-in aggregations (no Python per group)."""
    import pandas as pd

    keep = (
        df["CustomerID"].notna()
        & ~df["InvoiceNo"].str.startswith("C")
        & (df["Quantity"] > 0)
        & (df["UnitPrice"] > 0)
    )
    df = df.loc[keep, ["CustomerID", "InvoiceNo", "InvoiceDate"]].assign(
        Amount=df.loc[keep, "Quantity"] * df.loc[keep, "UnitPrice"]
    )
    as_of = df["InvoiceDate"].max() + pd.Timedelta(days=1)
    out = df.groupby("CustomerID").agg(
        last=("InvoiceDate", "max"), frequency=("InvoiceNo", "nunique"), monetary=("Amount", "sum")
    )
    out["recency"] = (as_of - out["last"]).dt.days
    return out


def log_scaled(rfm: Any) -> Any:
    """Return log1p RFM standardised to mean 0 and unit variance (scikit-learn)."""
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(np.log1p(rfm[["recency", "frequency", "monetary"]]))


def naive_sweep(rfm: Any) -> tuple[int, Any]:
    """Run the same scikit-learn sweep as custseg (k 2..10, n_init 10, silhouette, DB).

    Returns
    -------
    tuple of (int, numpy.ndarray)
        The k with the best silhouette and its labels.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    x = log_scaled(rfm)
    best: tuple[float, int, Any] = (-1.0, 0, None)
    for k in range(2, 11):
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(x)
        sil = silhouette_score(x, labels)
        davies_bouldin_score(x, labels)
        if sil > best[0]:
            best = (sil, k, labels)
    return best[1], best[2]


def naive_write(table: Any, out: str, name: str) -> None:
    """Write a table as CSV into ``out`` (created)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    table.to_csv(Path(out) / name)


def task_naive_workbook(path: str, out: str) -> dict[str, Any]:
    """Read, clean, RFM with lambdas, the k sweep, one CSV: the naive ``custseg run``."""
    df = naive_read(path)
    rfm = naive_rfm(naive_clean(df))
    k, labels = naive_sweep(rfm)
    naive_write(rfm.assign(segment=labels), out, "naive_rfm.csv")
    return {"customers": len(rfm), "k": k, "rows": len(df)}


def naive_clv_summary(df: Any) -> Any:
    """Summarise purchase days per customer (frequency, recency, T, monetary) with lambdas."""
    df = df.assign(day=df["InvoiceDate"].dt.normalize())
    daily = df.groupby(["CustomerID", "day"], as_index=False)["Amount"].sum()
    end = daily["day"].max()
    return daily.groupby("CustomerID").agg(
        frequency=("day", lambda d: len(d) - 1),
        recency=("day", lambda d: (d.max() - d.min()).days),
        T=("day", lambda d: (end - d.min()).days),
        monetary=("Amount", lambda s: s.iloc[1:].mean() if len(s) > 1 else 0.0),
    )


def bg_nbd_nll(theta: Any, x: Any, t_x: Any, big_t: Any) -> float:
    """BG/NBD negative log-likelihood on log parameters, as the lifetimes library writes it."""
    import numpy as np
    from scipy.special import gammaln, logsumexp

    r, alpha, a, b = np.exp(theta)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x)
    repeat = (x > 0).astype(float)
    return -float(np.sum(a1 + a2 + logsumexp([a3, a4], axis=0, b=[np.ones_like(x), repeat])))


def gamma_gamma_nll(theta: Any, x: Any, m: Any) -> float:
    """Gamma-Gamma negative log-likelihood on log parameters (lifetimes' formula)."""
    import numpy as np
    from scipy.special import gammaln

    p, q, v = np.exp(theta)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )
    return -float(np.sum(ll))


def naive_fit(nll: Callable[..., float], n_params: int, *data: Any) -> tuple[Any, float]:
    """Minimise ``nll`` from parameters all 1 with BFGS; return them and the LL."""
    import numpy as np
    from scipy.optimize import minimize

    result = minimize(nll, np.zeros(n_params), args=data, method="BFGS")
    return np.exp(result.x), -float(result.fun)


def bg_nbd_expected(params: Any, t: float, x: Any, t_x: Any, big_t: Any) -> Any:
    """Return the expected purchases in the next ``t`` days given each history."""
    import numpy as np
    from scipy.special import hyp2f1

    r, alpha, a, b = params
    hyper = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
    body = (
        (a + b + x - 1) / (a - 1) * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyper)
    )
    odds = a / (b + np.maximum(x, 1) - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    return body / (1 + np.where(x > 0, odds, 0.0))


def task_naive_clv(path: str, out: str, horizon: str = "90") -> dict[str, Any]:
    """BG/NBD + Gamma-Gamma by maximum likelihood, 90 days predicted: the naive ``clv``."""
    df = naive_read(path)
    summary = naive_clv_summary(naive_clean(df))
    x, t_x, big_t = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    bg, bg_ll = naive_fit(bg_nbd_nll, 4, x, t_x, big_t)
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    p_q_v, gg_ll = naive_fit(
        gamma_gamma_nll, 3, repeat["frequency"].to_numpy(float), repeat["monetary"].to_numpy(float)
    )
    p, q, v = p_q_v
    m = summary["monetary"].to_numpy(dtype=float)
    spend = (q - 1) / (p * x + q - 1) * (v * p / (q - 1)) + p * x / (p * x + q - 1) * m
    summary["expected_purchases"] = bg_nbd_expected(bg, float(horizon), x, t_x, big_t)
    summary["expected_revenue"] = summary["expected_purchases"] * spend
    naive_write(summary, out, "naive_clv.csv")
    return {"customers": len(summary), "rows": len(df), "bg_nbd_ll": bg_ll, "gamma_gamma_ll": gg_ll}


def task_naive_cohorts(path: str, out: str) -> dict[str, Any]:
    """Cohort retention with groupby/transform and pivots, personas by the naive sweep."""
    import pandas as pd

    df = naive_clean(naive_read(path))
    df["order_month"] = df["InvoiceDate"].dt.to_period("M")
    df["cohort"] = df.groupby("CustomerID")["order_month"].transform("min")
    df["month_index"] = (df["order_month"] - df["cohort"]).apply(lambda offset: offset.n)
    counts = df.groupby(["cohort", "month_index"])["CustomerID"].nunique().unstack()
    revenue = df.groupby(["cohort", "month_index"])["Amount"].sum().unstack()
    rfm = naive_rfm(df)
    k, labels = naive_sweep(rfm)
    df["persona"] = df["CustomerID"].map(pd.Series(labels, index=rfm.index))
    curves = df.groupby(["persona", "month_index"])["CustomerID"].nunique().unstack()
    naive_write(counts.divide(counts[0], axis=0), out, "naive_retention.csv")
    naive_write(revenue, out, "naive_revenue.csv")
    naive_write(curves.divide(curves[0], axis=0), out, "naive_persona_retention.csv")
    return {"cohorts": len(counts), "customers": len(rfm), "k": k}


def task_naive_fixed_k(path: str, out: str, k: str, style: str = "vectorised") -> dict[str, Any]:
    """Parquet, canonical cleaning, RFM, K-Means at a fixed k, a CSV.

    ``style`` "naive" is the tutorial way of the workbook's peer (every column read, masks one
    after another, groupby with lambdas); "vectorised" is pandas done well (the five columns
    needed, one mask, built-in aggregations).
    """
    import pandas as pd
    from sklearn.cluster import KMeans

    if style == "naive":
        df = pd.read_parquet(path)
        rfm = naive_rfm(naive_clean(df))
    else:
        df = pd.read_parquet(path, columns=RFM_COLUMNS)
        rfm = vectorised_rfm(df)
    rfm["segment"] = KMeans(n_clusters=int(k), n_init=10, random_state=0).fit_predict(
        log_scaled(rfm)
    )
    naive_write(rfm, out, "naive_customers.csv")
    return {"customers": len(rfm), "rows": len(df)}
