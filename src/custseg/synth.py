"""A synthetic order-line generator with known latent customer types.

The lines follow the Online Retail layout (InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID, Country) and carry the same kinds of noise: cancelled
invoices (``C`` prefix, negative quantities), lines without a customer id, returns without a
``C`` invoice and zero prices. Each customer's latent type is written beside the lines, so
the pipeline's recovery of the types can be measured (adjusted Rand index).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from custseg.errors import UserError
from custseg.io import atomic_write_text

__all__ = ["LATENT_TYPES", "LatentType", "generate_orders", "truth_path", "write_synthetic"]

START = dt.datetime(2010, 12, 1, 8, 0)
END = dt.datetime(2011, 12, 9, 18, 0)
_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class LatentType:
    """How one latent customer type buys.

    Attributes
    ----------
    name : str
        The type's name (written to the truth file).
    share : float
        Share of customers.
    orders : tuple of (int, int)
        Inclusive range of the number of orders.
    last_days_ago : tuple of (float, float)
        Range of days between the last order and the end of the period.
    span_days : tuple of (float, float)
        Range of days between the first and last order (capped by the period).
    lines : float
        Mean number of lines per order (Poisson, at least one).
    quantity : float
        Mean quantity per line (geometric).
    """

    name: str
    share: float
    orders: tuple[int, int]
    last_days_ago: tuple[float, float]
    span_days: tuple[float, float]
    lines: float
    quantity: float


#: The latent types: well apart in (log recency, log frequency, log monetary).
LATENT_TYPES: tuple[LatentType, ...] = (
    LatentType("frequent_big_spenders", 0.12, (12, 40), (0, 12), (250, 370), 18.0, 24.0),
    LatentType("one_off_buyers", 0.35, (1, 1), (120, 370), (0, 0), 3.0, 3.0),
    LatentType("lapsed_regulars", 0.25, (4, 10), (180, 260), (60, 110), 10.0, 10.0),
    LatentType("new_customers", 0.28, (1, 2), (0, 25), (0, 10), 6.0, 5.0),
)

_COUNTRIES = np.array(
    ["United Kingdom"] * 9
    + ["Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Switzerland"]
)


def _catalogue(rng: np.random.Generator, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = np.array([f"{20000 + i}" for i in range(n)])
    words = np.array(
        [
            "HEART",
            "LANTERN",
            "MUG",
            "BAG",
            "CANDLE",
            "CARD",
            "BOX",
            "TIN",
            "CUSHION",
            "CLOCK",
            "BOTTLE",
            "PARASOL",
        ]
    )
    colours = np.array(["RED", "WHITE", "PINK", "BLUE", "VINTAGE", "GREEN", "JUMBO"])
    desc = np.char.add(
        np.char.add(colours[rng.integers(0, len(colours), n)], " "),
        words[rng.integers(0, len(words), n)],
    )
    prices = np.round(np.exp(rng.normal(0.9, 0.8, n)).clip(0.19, 40.0), 2)
    return codes, desc, prices


def generate_orders(customers: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate order lines and each customer's latent type.

    Parameters
    ----------
    customers : int
        Number of customers with an id.
    seed : int
        Seed of the generator; the same seed gives the same lines.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame)
        The order lines (Online Retail layout, sorted by date and invoice) and the truth
        table (customer_id, segment).
    """
    if customers < 10:
        raise UserError(f"--customers must be at least 10, got {customers}.")
    rng = np.random.default_rng(seed)
    shares = np.array([t.share for t in LATENT_TYPES])
    kind = rng.choice(len(LATENT_TYPES), size=customers, p=shares / shares.sum())
    ids = np.arange(12346, 12346 + customers)
    period = (END - START) / dt.timedelta(days=1)

    lo = np.array([t.orders[0] for t in LATENT_TYPES])[kind]
    hi = np.array([t.orders[1] for t in LATENT_TYPES])[kind]
    n_orders = rng.integers(lo, hi + 1)

    def draw(attr: str) -> np.ndarray:
        a = np.array([getattr(t, attr)[0] for t in LATENT_TYPES])[kind]
        b = np.array([getattr(t, attr)[1] for t in LATENT_TYPES])[kind]
        return np.asarray(rng.uniform(a, b))

    last = period - draw("last_days_ago")
    first = np.maximum(last - draw("span_days"), 0.0)
    country = _COUNTRIES[rng.integers(0, len(_COUNTRIES), customers)]

    owner = np.repeat(np.arange(customers), n_orders)
    # Each customer's last order is at `last`; the others fall uniformly in [first, last].
    offsets = rng.uniform(0.0, 1.0, len(owner))
    is_last = np.r_[owner[1:] != owner[:-1], True]
    offsets[is_last] = 1.0
    order_day = first[owner] + offsets * (last[owner] - first[owner])

    # Anonymous orders (no customer id), about 20% of orders as in the real data.
    n_anon = int(0.2 * len(owner))
    anon_day = rng.uniform(0.0, period, n_anon)
    order_day = np.concatenate([order_day, anon_day])
    order_owner = np.concatenate([owner, np.full(n_anon, -1)])
    type_lines = np.array([t.lines for t in LATENT_TYPES] + [4.0])
    type_qty = np.array([t.quantity for t in LATENT_TYPES] + [4.0])
    order_kind = np.where(order_owner >= 0, kind[np.maximum(order_owner, 0)], len(LATENT_TYPES))

    # Timestamps at whole minutes within shop hours, invoices numbered in time order.
    day0 = np.floor(order_day)
    minutes = rng.integers(0, 10 * 60, len(order_day))
    stamp = (
        np.datetime64(START.replace(hour=0), "m") + (day0 * 1440).astype("int64") + 8 * 60 + minutes
    ).astype("datetime64[m]")
    stamp = np.minimum(stamp, np.datetime64(END, "m"))
    order_idx = np.argsort(stamp, kind="stable")
    invoice_no = np.empty(len(stamp), dtype=np.int64)
    invoice_no[order_idx] = 536365 + np.arange(len(stamp))

    n_lines = 1 + rng.poisson(type_lines[order_kind] - 1)
    line_order = np.repeat(np.arange(len(stamp)), n_lines)
    codes, desc, prices = _catalogue(rng)
    product = rng.integers(0, len(codes), len(line_order))
    qty = rng.geometric(1.0 / type_qty[order_kind[line_order]])
    price = prices[product].copy()

    # Noise: returns without a C invoice, zero prices.
    returns = rng.random(len(line_order)) < 0.002
    qty[returns] = -qty[returns]
    price[rng.random(len(line_order)) < 0.0005] = 0.0

    owner_of_line = order_owner[line_order]
    cust = np.where(owner_of_line >= 0, ids[np.maximum(owner_of_line, 0)].astype(float), np.nan)
    ctry = np.where(owner_of_line >= 0, country[np.maximum(owner_of_line, 0)], "United Kingdom")
    lines = pd.DataFrame(
        {
            "InvoiceNo": invoice_no[line_order].astype(str),
            "StockCode": codes[product],
            "Description": desc[product],
            "Quantity": qty.astype(np.int64),
            "InvoiceDate": stamp[line_order].astype("datetime64[ns]"),
            "UnitPrice": price,
            "CustomerID": cust,
            "Country": ctry,
        }
    )

    # Cancellations: about 2% of customer orders, reversed a few hours later under 'C' + no.
    cancelled = rng.random(len(stamp)) < 0.02
    cancelled &= order_owner >= 0
    cancel_lines = lines[cancelled[line_order]].copy()
    cancel_lines["InvoiceNo"] = "C" + cancel_lines["InvoiceNo"]
    cancel_lines["Quantity"] = -cancel_lines["Quantity"]
    cancel_lines["InvoiceDate"] = (cancel_lines["InvoiceDate"] + pd.Timedelta(hours=3)).clip(
        upper=pd.Timestamp(END)
    )
    out = pd.concat([lines, cancel_lines], ignore_index=True)
    out = out.sort_values(["InvoiceDate", "InvoiceNo"], kind="stable").reset_index(drop=True)
    truth = pd.DataFrame(
        {"customer_id": ids.astype(str), "segment": [LATENT_TYPES[i].name for i in kind]}
    )
    return out, truth


def truth_path(out: Path) -> Path:
    """Return ``<stem>_truth.csv`` beside ``out`` (``x.csv.gz`` -> ``x_truth.csv``)."""
    name = out.name
    for suffix in (".csv.gz", ".parquet", ".csv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(f"{name}_truth.csv")


def write_synthetic(out: Path, *, customers: int = 4000, seed: int = 0) -> dict[str, object]:
    """Generate order lines and write them to ``out`` with the truth file beside it.

    Parameters
    ----------
    out : Path
        ``.parquet``, ``.csv`` or ``.csv.gz``.
    customers : int
        Number of customers.
    seed : int
        Generator seed.

    Returns
    -------
    dict
        ``rows`` written and the ``truth`` file path.

    Raises
    ------
    UserError
        For an unsupported extension or an unwritable location.
    """
    if not out.name.endswith((".parquet", ".csv", ".csv.gz")):
        raise UserError(f"--out {out}: use a .parquet, .csv or .csv.gz file name.")
    lines, truth = generate_orders(customers, seed)
    table = pa.Table.from_pandas(lines, preserve_index=False)
    table = table.cast(
        table.schema.set(
            table.schema.get_field_index("InvoiceDate"), pa.field("InvoiceDate", pa.timestamp("us"))
        )
    )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        if out.name.endswith(".parquet"):
            pq.write_table(table, tmp, row_group_size=1 << 20)
        else:
            stream = (
                pa.CompressedOutputStream(str(tmp), "gzip")
                if out.name.endswith(".gz")
                else pa.OSFile(str(tmp), "wb")
            )
            with stream:
                pacsv.write_csv(table, stream)
        tmp.replace(out)
        target = truth_path(out)
        atomic_write_text(target, truth.to_csv(index=False, lineterminator="\n"))
    except OSError as exc:
        raise UserError(f"Cannot write {out}: {exc.strerror}.") from exc
    return {"rows": len(lines), "truth": target}
