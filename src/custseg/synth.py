"""A synthetic order-line generator with known latent customer types.

The lines follow the Online Retail layout (InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID, Country) and carry the same kinds of noise: cancelled
invoices (``C`` prefix, negative quantities), lines without a customer id, returns without a
``C`` invoice and zero prices. Each customer's latent type is written beside the lines, so
the pipeline's recovery of the types can be measured (adjusted Rand index).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from custseg.errors import UserError

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

_COUNTRIES = [
    "United Kingdom",
    "Germany",
    "France",
    "EIRE",
    "Spain",
    "Netherlands",
    "Belgium",
    "Switzerland",
]
_COUNTRY_WEIGHTS = np.array([9.0, 1, 1, 1, 1, 1, 1, 1]) / 16
_COUNTRY_ARRAY = pa.array(_COUNTRIES)
_PLAIN_SCHEMA = pa.schema(
    [
        ("InvoiceNo", pa.string()),
        ("StockCode", pa.string()),
        ("Description", pa.string()),
        ("Quantity", pa.int64()),
        ("InvoiceDate", pa.timestamp("us")),
        ("UnitPrice", pa.float64()),
        ("CustomerID", pa.float64()),
        ("Country", pa.string()),
    ]
)


def _catalogue(
    rng: np.random.Generator, n: int = 400
) -> tuple[pa.Array, tuple[np.ndarray, pa.Array], np.ndarray]:
    codes = pa.array([f"{20000 + i}" for i in range(n)])
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
    # Products may share a description: a dictionary of the distinct ones, and each
    # product's index into it (dictionaries must not repeat values).
    unique, index = np.unique(desc, return_inverse=True)
    return codes, (index.astype(np.int32), pa.array(unique.tolist())), prices


#: Customers generated at a time: bounds memory (about 1.5M lines, a few hundred MB).
BLOCK_CUSTOMERS = 20_000


def _block(
    rng: np.random.Generator,
    first_id: int,
    customers: int,
    first_invoice: int,
    catalogue: tuple[pa.Array, tuple[np.ndarray, pa.Array], np.ndarray],
) -> tuple[pa.Table, np.ndarray, int]:
    """Generate the lines of ``customers`` customers; return them, their types, invoices used."""
    shares = np.array([t.share for t in LATENT_TYPES])
    kind = rng.choice(len(LATENT_TYPES), size=customers, p=shares / shares.sum())
    period = (END - START) / dt.timedelta(days=1)

    def pick(attr: str, which: int) -> np.ndarray:
        return np.array([getattr(t, attr)[which] for t in LATENT_TYPES])[kind]

    n_orders = rng.integers(pick("orders", 0), pick("orders", 1) + 1)
    last = period - rng.uniform(pick("last_days_ago", 0), pick("last_days_ago", 1))
    first = np.maximum(last - rng.uniform(pick("span_days", 0), pick("span_days", 1)), 0.0)
    country = rng.choice(len(_COUNTRIES), size=customers, p=_COUNTRY_WEIGHTS)

    owner = np.repeat(np.arange(customers), n_orders)
    # Each customer's last order is at `last`; the others fall uniformly in [first, last].
    offsets = rng.uniform(0.0, 1.0, len(owner))
    offsets[np.r_[owner[1:] != owner[:-1], True]] = 1.0
    order_day = first[owner] + offsets * (last[owner] - first[owner])
    # Anonymous orders (no customer id), about 20% of orders.
    n_anon = int(0.2 * len(owner))
    order_day = np.concatenate([order_day, rng.uniform(0.0, period, n_anon)])
    order_owner = np.concatenate([owner, np.full(n_anon, -1)])
    order_kind = np.where(order_owner >= 0, kind[np.maximum(order_owner, 0)], len(LATENT_TYPES))
    type_lines = np.array([t.lines for t in LATENT_TYPES] + [4.0])
    type_qty = np.array([t.quantity for t in LATENT_TYPES] + [4.0])

    # Timestamps at whole minutes within shop hours; invoices numbered in time order.
    minutes = (
        (np.floor(order_day) * 1440).astype(np.int64)
        + 8 * 60
        + rng.integers(0, 10 * 60, len(order_day))
    )
    minutes = np.minimum(minutes, int((END - START.replace(hour=0)) / dt.timedelta(minutes=1)))
    invoice = np.empty(len(minutes), dtype=np.int64)
    invoice[np.argsort(minutes, kind="stable")] = first_invoice + np.arange(len(minutes))

    n_lines = 1 + rng.poisson(type_lines[order_kind] - 1)
    line_order = np.repeat(np.arange(len(minutes)), n_lines)
    codes, desc, prices = catalogue
    product = rng.integers(0, len(prices), len(line_order)).astype(np.int32)
    qty = rng.geometric(1.0 / type_qty[order_kind[line_order]]).astype(np.int64)
    price = prices[product]
    # Noise: returns without a C invoice, zero prices.
    returns = rng.random(len(line_order)) < 0.002
    qty[returns] = -qty[returns]
    price = np.where(rng.random(len(line_order)) < 0.0005, 0.0, price)
    line_minutes = minutes[line_order]
    line_invoice = invoice[line_order]
    cancel = np.zeros(len(line_order), dtype=bool)

    # Cancellations: about 2% of customer orders, reversed three hours later under 'C' + no.
    cancelled = (rng.random(len(minutes)) < 0.02) & (order_owner >= 0)
    c = cancelled[line_order]
    end_minute = int((END - START.replace(hour=0)) / dt.timedelta(minutes=1))
    line_order = np.concatenate([line_order, line_order[c]])
    product = np.concatenate([product, product[c]])
    qty = np.concatenate([qty, -qty[c]])
    price = np.concatenate([price, price[c]])
    line_minutes = np.concatenate([line_minutes, np.minimum(line_minutes[c] + 180, end_minute)])
    line_invoice = np.concatenate([line_invoice, line_invoice[c]])
    cancel = np.concatenate([cancel, np.ones(int(c.sum()), dtype=bool)])

    order = np.lexsort((cancel, line_invoice, line_minutes))
    owner_of_line = order_owner[line_order][order]
    has_id = owner_of_line >= 0
    ids = np.where(has_id, first_id + np.maximum(owner_of_line, 0), 0).astype(np.float64)
    invoice_text = pc.cast(pa.array(line_invoice[order]), pa.string())
    invoice_text = pc.if_else(
        pa.array(cancel[order]), pc.binary_join_element_wise("C", invoice_text, ""), invoice_text
    )
    country_idx = np.where(has_id, country[np.maximum(owner_of_line, 0)], 0).astype(np.int32)
    stamp = np.datetime64(START.replace(hour=0), "m") + line_minutes[order]
    table = pa.table(
        {
            "InvoiceNo": invoice_text,
            "StockCode": pa.DictionaryArray.from_arrays(pa.array(product[order]), codes),
            "Description": pa.DictionaryArray.from_arrays(
                pa.array(desc[0][product[order]]), desc[1]
            ),
            "Quantity": pa.array(qty[order]),
            "InvoiceDate": pa.array(stamp.astype("datetime64[us]")),
            "UnitPrice": pa.array(price[order]),
            "CustomerID": pa.array(ids, mask=~has_id),
            "Country": pa.DictionaryArray.from_arrays(pa.array(country_idx), _COUNTRY_ARRAY),
        }
    )
    return table, kind, len(minutes)


def _blocks(customers: int, seed: int) -> Iterator[tuple[pa.Table, pd.DataFrame]]:
    if customers < 10:
        raise UserError(f"--customers must be at least 10, got {customers}.")
    catalogue = _catalogue(np.random.default_rng([seed, 0]))
    next_invoice = 536365
    for b, start in enumerate(range(0, customers, BLOCK_CUSTOMERS)):
        count = min(BLOCK_CUSTOMERS, customers - start)
        rng = np.random.default_rng([seed, b + 1])
        table, kind, used = _block(rng, 12346 + start, count, next_invoice, catalogue)
        next_invoice += used
        truth = pd.DataFrame(
            {
                "customer_id": np.arange(12346 + start, 12346 + start + count).astype(str),
                "segment": np.array([t.name for t in LATENT_TYPES])[kind],
            }
        )
        yield table, truth


def generate_orders(customers: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate order lines and each customer's latent type, in memory.

    Parameters
    ----------
    customers : int
        Number of customers with an id.
    seed : int
        Seed of the generator; the same seed gives the same lines.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame)
        The order lines (Online Retail layout; sorted by date and invoice within each block
        of customers) and the truth table (customer_id, segment).
    """
    parts = list(_blocks(customers, seed))
    lines = pa.concat_tables([t for t, _ in parts]).to_pandas()
    for col in ("StockCode", "Description", "Country"):
        lines[col] = lines[col].astype(str)
    return lines, pd.concat([t for _, t in parts], ignore_index=True)


def truth_path(out: Path) -> Path:
    """Return ``<stem>_truth.csv`` beside ``out`` (``x.csv.gz`` -> ``x_truth.csv``)."""
    name = out.name
    for suffix in (".csv.gz", ".parquet", ".csv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(f"{name}_truth.csv")


_TRUTH_HEADER = "customer_id,segment\n"


#: Written into the Parquet file's schema metadata: the file itself says custseg made it.
MARK = {b"custseg": b"synth"}


def _marked(out: Path) -> bool:
    """Tell whether ``out`` is a Parquet file this command wrote (its schema metadata)."""
    try:
        return (pq.read_schema(out).metadata or {}).get(b"custseg") == MARK[b"custseg"]
    except Exception:  # not Parquet, or unreadable: not marked
        return False


def _own_pair(out: Path, truth: Path, option: str) -> None:
    """Refuse to replace files an earlier ``synth`` did not write.

    A Parquet file says so itself (:data:`MARK`). A CSV file (or a Parquet file of an
    earlier version) carries Online Retail's header, as a user's own export does: it counts
    as custseg's when its truth file is beside it and no other order file shares that truth
    file (``x.csv`` beside ``x.parquet``: which one the truth describes is unknown).
    """
    from custseg.io.outputs import own_file

    truth_is_ours = truth.is_file() and not truth.is_symlink()
    if truth_is_ours:
        with truth.open("rb") as fh:
            truth_is_ours = fh.read(len(_TRUTH_HEADER)) == _TRUTH_HEADER.encode()
    stem = truth.name.removesuffix("_truth.csv")
    others = [
        out.with_name(stem + suffix)
        for suffix in (".parquet", ".csv", ".csv.gz")
        if stem + suffix != out.name and out.with_name(stem + suffix).exists()
    ]
    paired = truth_is_ours and not others
    own_file(truth, option, lambda head: head.startswith(_TRUTH_HEADER.encode()), "truth file")
    own_file(out, option, lambda _head: paired or _marked(out), "synthetic order file")


def write_synthetic(
    out: Path, *, customers: int = 4000, seed: int = 0, option: str = "--out"
) -> dict[str, object]:
    """Generate order lines and write them to ``out`` with the truth file beside it.

    Parameters
    ----------
    out : Path
        ``.parquet``, ``.csv`` or ``.csv.gz``.
    customers : int
        Number of customers.
    seed : int
        Generator seed.
    option : str
        How the caller named ``out``, for messages (an existing file of the user's is
        refused: :func:`_own_pair`).

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
    target = truth_path(out)
    _own_pair(out, target, option)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp_truth = target.with_name(f".{target.name}.tmp")
    rows = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        writer: pq.ParquetWriter | None = None
        stream = None
        with open(tmp_truth, "w", encoding="utf-8", newline="\n") as truth_file:
            truth_file.write(_TRUTH_HEADER)
            for table, truth in _blocks(customers, seed):
                rows += table.num_rows
                truth.to_csv(truth_file, index=False, header=False, lineterminator="\n")
                if out.name.endswith(".parquet"):
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema.with_metadata(MARK))
                    writer.write_table(table, row_group_size=1 << 20)
                else:
                    plain = table.cast(_PLAIN_SCHEMA)
                    if stream is None:
                        stream = (
                            pa.CompressedOutputStream(str(tmp), "gzip")
                            if out.name.endswith(".gz")
                            else pa.OSFile(str(tmp), "wb")
                        )
                        csv_writer = pacsv.CSVWriter(stream, _PLAIN_SCHEMA)
                    csv_writer.write_table(plain)
        if writer is not None:
            writer.close()
        if stream is not None:
            csv_writer.close()
            stream.close()
        os.replace(tmp, out)
        os.replace(tmp_truth, target)
    except OSError as exc:
        raise UserError(f"Cannot write {out}: {exc.strerror}.") from exc
    finally:
        for leftover in (tmp, tmp_truth):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
    return {"rows": rows, "truth": target}
