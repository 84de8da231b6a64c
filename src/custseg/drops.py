"""The guard against mass drops: a validity rule that drops most of what reaches it stops.

A rule that drops more than half of the rows that reach it (rules apply in order, a row is
counted under the first that drops it) usually means the data was read wrong: a column
mapped to the wrong field, another cancellation convention, another date layout. The run
stops with one sentence naming the rule, the counts, two example values and the options
that change it; ``--allow-large-drops`` (``cleaning.allow_large_drops``) goes on.
"""

from __future__ import annotations

from custseg.io.columns import ColumnMapping

__all__ = ["GUARDED", "large_drop", "large_drop_sentence"]

#: The data-validity rules the guard watches, in the order they apply, with the options
#: that change each. Not after_as_of, duplicates or the netted-returns rule: dropping most
#: rows there is a choice, not a misreading.
GUARDED: dict[str, str] = {
    "missing_customer_id": "--customer-col names the customer column",
    "cancelled_invoice": "--cancelled-pattern sets the convention, --keep-cancelled keeps them",
    "cancelled_order": "--keep-cancelled keeps them, --layout none reads the file without "
    "its layout's status columns",
    "non_positive_quantity": "--returns net or --keep-returns keeps them, --quantity-col "
    "names the column",
    "non_positive_price": "--keep-non-positive-price keeps them, --price-col or --amount-col "
    "names the column",
    "invalid_date": "--date-format reads another layout, --date-col names the column",
    "invalid_quantity": "--decimal reads another separator, --quantity-col names the column",
    "invalid_price": "--decimal reads another separator, --price-col names the column",
    "invalid_amount": "--decimal reads another separator, --amount-col names the column",
}

#: The field whose value shows why a row broke each rule.
_FIELD = {
    "missing_customer_id": "customer",
    "cancelled_invoice": "invoice",
    "cancelled_order": "invoice",
    "non_positive_quantity": "quantity",
    "non_positive_price": "price",
    "invalid_date": "date",
    "invalid_quantity": "quantity",
    "invalid_price": "price",
    "invalid_amount": "amount",
}


def large_drop(
    dropped: dict[str, int], order: list[str], rows_read: int
) -> tuple[str, int, int] | None:
    """Return the first guarded rule that drops more than half of the rows reaching it.

    Parameters
    ----------
    dropped : dict
        Rows dropped by each rule.
    order : list of str
        Every rule, in the order they apply.
    rows_read : int
        Rows read.

    Returns
    -------
    tuple of (str, int, int) or None
        The rule, the rows it dropped and the rows that reached it.
    """
    reaching = rows_read
    for reason in order:
        n = dropped.get(reason, 0)
        if reason in GUARDED and reaching and n * 2 > reaching:
            return reason, n, reaching
        reaching -= n
    return None


def large_drop_sentence(
    source: str,
    mapping: ColumnMapping,
    reason: str,
    dropped: int,
    reaching: int,
    examples: list[dict[str, str | None]],
) -> str:
    """Return the sentence that stops a run at a mass drop (see the module's note)."""
    field = _FIELD[reason]
    if field == "price" and mapping.price is None:
        field = "amount"
    named = getattr(mapping, field)
    key = mapping.example_key(field) or ""
    column = mapping.raw(field) or named
    said = ("empty" if row.get(key) in (None, "") else repr(row.get(key)) for row in examples)
    shown = " and ".join(list(dict.fromkeys(said))[:2]) if column is not None else ""
    example = f"; e.g. {column} {shown}" if shown else ""
    return (
        f"{source}: the rule {reason} drops {dropped:,} of the {reaching:,} rows that reach it "
        f"({dropped / reaching:.0%}){example}. The data may be read wrong: "
        f"{GUARDED[reason]}; --allow-large-drops goes on as it is."
    )
