"""Lines that are not products: postage, fees, manual adjustments, vouchers.

Online Retail's stock codes include charges that are not goods (``POST`` postage, ``DOT``
dotcom postage, ``M`` manual, ``BANK CHARGES``, ``AMAZONFEE``, ``gift_0001_20`` vouchers,
...). They are counted and reported in ``data_quality.json``; ``--drop-non-product`` leaves
them out of spend (rule ``non_product``).
"""

from __future__ import annotations

import datetime as dt

from custseg.cleaning import SqlRunner
from custseg.sql import Dialect, sql_ident, timestamp

__all__ = ["NON_PRODUCT_CODES", "non_product_sql", "non_product_summary"]

#: Stock codes of charges and adjustments (compared in upper case), and the voucher prefix.
NON_PRODUCT_CODES: tuple[str, ...] = (
    "POST",
    "DOT",
    "M",
    "C2",
    "D",
    "S",
    "B",
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",
    "ADJUST",
    "ADJUST2",
    "TEST001",
    "TEST002",
)
_VOUCHER_PREFIX = "GIFT_0001_"


def non_product_sql(column: str) -> str:
    """Return SQL true when the stock code in ``column`` is not a product.

    A code that starts with a digit is a product (every listed code and the voucher prefix
    start with a letter), so only the others are trimmed and upper-cased: most codes start
    with a digit, and building a new text for each of them cost about 1 s per 100M lines.
    """
    text = f"CAST({sql_ident(column)} AS STRING)"
    code = f"upper(trim({text}))"
    listed = ", ".join(f"'{c}'" for c in NON_PRODUCT_CODES)
    prefix = f"substr({code}, 1, {len(_VOUCHER_PREFIX)}) = '{_VOUCHER_PREFIX}'"
    return (
        f"CASE WHEN ascii({text}) BETWEEN 48 AND 57 THEN false "
        f"ELSE coalesce({code} IN ({listed}) OR {prefix}, false) END"
    )


def non_product_summary(
    runner: SqlRunner,
    facts: str,
    *,
    as_of: dt.datetime,
    revenue: float,
    dropped: int,
    left_out: bool,
    dialect: Dialect,
) -> dict[str, object]:
    """Count the kept lines that are not products and their spend.

    Parameters
    ----------
    runner : SqlRunner
        The engine holding ``facts``.
    facts : str
        The order facts, with their ``np`` flag (:func:`custseg.cleaning.facts_sql`).
    as_of : datetime
        Lines at or after it are not counted.
    revenue : float
        The kept spend, for the share.
    dropped : int
        Lines the ``non_product`` rule dropped (with ``--drop-non-product``).
    left_out : bool
        Whether the rule ran.

    Returns
    -------
    dict
        codes, lines (kept), spend (kept), share_of_spend, dropped, left_out and a sentence.
    """
    lines, spend = runner.rows(
        f"SELECT coalesce(sum(lines), 0), {dialect.money(dialect.exact_sum('micro'))} "
        f"FROM {facts} WHERE r IS NULL AND np AND ts < {timestamp(as_of)}"
    )[0]
    spend = float(spend or 0.0)
    share = spend / revenue if revenue else 0.0
    codes = ", ".join(NON_PRODUCT_CODES) + ", gift_0001_*"
    if left_out:
        effect = (
            f"{dropped:,} lines with non-product stock codes ({codes}) were left out of spend "
            "(--drop-non-product)."
        )
    else:
        effect = (
            f"{int(lines):,} kept lines worth {spend:,.2f} ({share:.1%} of the kept spend) "
            f"have non-product stock codes (postage, fees, adjustments, vouchers: {codes}); "
            "--drop-non-product leaves them out of spend."
        )
    return {
        "codes": codes,
        "lines": int(lines),
        "spend": round(spend, 6),
        "share_of_spend": round(share, 6),
        "dropped": dropped,
        "left_out": left_out,
        "effect": effect,
    }
