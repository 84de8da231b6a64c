"""Which cleaning rules run: by the layout's conventions and the user's switches."""

from custseg.config import CleaningConfig, ColumnsConfig
from custseg.io.columns import ColumnMapping, resolve_columns
from custseg.rules import RULES, applied_rules, cancel_pattern
from tests.io import ONLINE_RETAIL

RETAIL = resolve_columns(ONLINE_RETAIL, ColumnsConfig(), "f")
PLAIN = ColumnMapping(customer="c", date="d", invoice="o", amount="a", layout="orders")


def test_the_cancellation_convention_is_the_layouts_unless_given() -> None:
    assert cancel_pattern(RETAIL, CleaningConfig()) == "C[0-9]+"
    assert cancel_pattern(PLAIN, CleaningConfig()) is None
    assert cancel_pattern(PLAIN, CleaningConfig(cancelled_pattern="X[0-9]+")) == "X[0-9]+"
    assert applied_rules(RETAIL, CleaningConfig())["cancelled_invoice"] is True
    assert applied_rules(PLAIN, CleaningConfig())["cancelled_invoice"] is False
    assert applied_rules(RETAIL, CleaningConfig(returns="net"))["cancelled_invoice"] is False


def test_status_and_currency_rules_need_their_columns() -> None:
    assert applied_rules(RETAIL, CleaningConfig(currency="GBP"))["other_currency"] is False
    shop = ColumnMapping(customer="c", date="d", amount="a", void="v", currency="cur")
    on = applied_rules(shop, CleaningConfig(currency="USD"))
    assert on["cancelled_order"] is True and on["other_currency"] is True
    assert applied_rules(shop, CleaningConfig(drop_cancelled=False))["cancelled_order"] is False
    # Every rule has its answer, in rule order.
    assert list(on) == [r.reason for r in RULES]
