"""The cleaning rules, in the order they apply, and which of them run for an input.

A row is counted under the first rule that drops it; the rules' order and descriptions are
recorded in ``data_quality.json``. :mod:`custseg.cleaning` writes the SQL that applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

from custseg.config import CleaningConfig
from custseg.io.columns import ColumnMapping

__all__ = [
    "EXAMPLES_PER_REASON",
    "INVALID_REASONS",
    "RULES",
    "Rule",
    "applied_rules",
    "cancel_pattern",
]


@dataclass(frozen=True)
class Rule:
    """One cleaning rule.

    Attributes
    ----------
    reason : str
        Key under which dropped rows are counted.
    description : str
        What the rule drops, in words.
    """

    reason: str
    description: str

    @property
    def code(self) -> int:
        """The rule's number in the SQL (its place in :data:`RULES`, from 1)."""
        return RULES.index(self) + 1


#: The rules, in the order they are applied; a row is counted under the first that drops it.
RULES: tuple[Rule, ...] = (
    Rule("missing_customer_id", "customer id is empty"),
    Rule(
        "suppressed",
        "with --suppress FILE: the customer objected to profiling (their id or email is in "
        "the file); they appear in no output",
    ),
    Rule(
        "cancelled_invoice",
        "invoice id is a cancellation: it matches --cancelled-pattern in full (default: "
        "the layout's convention, Online Retail's 'C' and digits as in C536379); with "
        "--returns net it is kept as a return",
    ),
    Rule(
        "cancelled_order",
        "the export marks the order cancelled, voided, failed or refunded in full (Shopify "
        "'Cancelled at' or 'Financial Status', WooCommerce 'status', Stripe 'Status')",
    ),
    Rule("other_currency", "the line's currency is not the one chosen with --currency"),
    Rule(
        "non_product",
        "with --drop-non-product: a stock code that is not a product (postage, fees, "
        "adjustments, vouchers: POST, DOT, M, BANK CHARGES, AMAZONFEE, gift_0001_*, ...)",
    ),
    Rule(
        "non_positive_quantity",
        "quantity <= 0 (a return or an error); with --returns net only quantity 0",
    ),
    Rule(
        "non_positive_price",
        "unit price <= 0, or line amount <= 0 when amounts are used (= 0 with --returns net)",
    ),
    Rule("invalid_date", "date missing or not a date (see --date-format)"),
    Rule("invalid_quantity", "quantity missing, not a number, infinite, or 1e12 or more"),
    Rule("invalid_price", "unit price missing, not a number, infinite, or 1e12 or more"),
    Rule(
        "invalid_amount",
        "line amount (the amount column, or quantity x price) missing, not a number, "
        "infinite, or 1e12 or more",
    ),
    Rule("after_as_of", "timestamp at or after the as-of date"),
    Rule("duplicate_row", "exact duplicate of an earlier row (only with --drop-duplicates)"),
    Rule(
        "net_non_positive_customer",
        "with --returns net: every row of a customer whose returns equal or exceed purchases",
    ),
)
_CODE = {rule.reason: i + 1 for i, rule in enumerate(RULES)}
#: Lines of amount exactly 0, dropped under non_positive_price but kept apart in the facts:
#: custseg clv counts them as purchases without spend (the counts merge them back).
ZERO_AMOUNT = 100

#: Reasons for values that cannot be read; data_quality.json shows example rows of each.
INVALID_REASONS = ("invalid_date", "invalid_quantity", "invalid_price", "invalid_amount")

#: How many example rows data_quality.json shows per invalid reason.
EXAMPLES_PER_REASON = 3


def cancel_pattern(mapping: ColumnMapping, switches: CleaningConfig) -> str | None:
    """Return the cancellation pattern in force: the user's, else the layout's (or None)."""
    return switches.cancelled_pattern or mapping.cancelled_pattern


def applied_rules(mapping: ColumnMapping, switches: CleaningConfig) -> dict[str, bool]:
    """Return whether each rule of :data:`RULES` runs, given the columns and the switches.

    Parameters
    ----------
    mapping : ColumnMapping
        Rules on absent columns do not run (no invoice column: no cancellation rule).
    switches : CleaningConfig
        The optional rules turned on or off.

    Returns
    -------
    dict
        Rule reason -> applied, in rule order.
    """
    return {
        "missing_customer_id": True,
        "suppressed": switches.suppress is not None,
        "cancelled_invoice": mapping.invoice is not None
        and cancel_pattern(mapping, switches) is not None
        and switches.drop_cancelled
        and switches.returns == "drop",
        "cancelled_order": mapping.void is not None and switches.drop_cancelled,
        "other_currency": mapping.currency is not None and switches.currency is not None,
        "non_product": mapping.product is not None and switches.drop_non_product,
        "non_positive_quantity": mapping.quantity is not None
        and switches.drop_non_positive_quantity,
        "non_positive_price": switches.drop_non_positive_price,
        "invalid_date": True,
        "invalid_quantity": mapping.quantity is not None,
        "invalid_price": mapping.amount is None,
        "invalid_amount": True,
        "after_as_of": True,
        "duplicate_row": switches.drop_duplicates,
        "net_non_positive_customer": switches.returns == "net",
    }
