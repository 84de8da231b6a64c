"""Export layouts recognised by their header, and the SQL that reads a platform's export.

Online Retail, Online Retail II and plain order tables are read column by column (their
fields are columns of the file). A shop platform's export needs more: Shopify leaves an
order's fields blank on its second and later lines and spreads discounts over the order,
WooCommerce and Stripe mark cancellations and refunds in a status column. For those,
:func:`prepare_sql` computes one row per input line with the fields custseg needs, in the
``cs_l_*`` columns the staging then reads.

What each layout reads, and how it treats cancellations, refunds and time zones, is listed
in docs/data.md ("Where your data comes from").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from custseg.config import CANCELLED_PATTERN, ColumnsConfig
from custseg.errors import UserError
from custseg.io.columns import ColumnMapping, _find, _normalise_name
from custseg.sql import sql_ident

__all__ = [
    "LAYOUTS",
    "LAYOUT_NAMES",
    "Layout",
    "choose_layout",
    "layout_named",
    "prepare_sql",
    "prepared_mapping",
]


@dataclass(frozen=True)
class Layout:
    """One export layout.

    Attributes
    ----------
    name : str
        What ``--layout`` calls it.
    title : str
        What the log calls it.
    signature : tuple of str
        Columns that all appear in this layout's header (compared ignoring case, spaces and
        punctuation); the first layout whose signature matches is chosen.
    cancelled_pattern : str or None
        Invoice ids that are cancellations, as a regular expression; None: none are.
    roles : dict
        For a computed layout: the input column of each role (a tuple: the first present
        is used); empty for layouts read column by column.
    required : tuple of str
        The roles a computed layout cannot do without.
    utc : bool
        Naive timestamps of this layout are UTC instants (Stripe's ``Created (UTC)``).
    """

    name: str
    title: str
    signature: tuple[str, ...]
    cancelled_pattern: str | None = None
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    utc: bool = False


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "shopify",
        "Shopify orders export",
        ("Name", "Email", "Financial Status", "Created at", "Lineitem quantity", "Lineitem price"),
        roles={
            "invoice": ("Name",),
            "customer": ("Email",),
            "date": ("Created at",),
            "quantity": ("Lineitem quantity",),
            "price": ("Lineitem price",),
            "line_discount": ("Lineitem discount",),
            "order_discount": ("Discount Amount",),
            "status": ("Financial Status",),
            "cancelled_at": ("Cancelled at",),
            "refunded": ("Refunded Amount",),
            "currency": ("Currency",),
        },
        required=("invoice", "customer", "date", "quantity", "price"),
    ),
    Layout(
        "woocommerce",
        "WooCommerce orders export",
        ("order_id", "order_date", "status", "order_total"),
        roles={
            "invoice": ("order_id",),
            "customer": ("customer_email", "billing_email", "customer_id", "customer_user"),
            "date": ("order_date",),
            "quantity": ("item_quantity",),
            "line_total": ("item_total",),
            "line_refunded": ("item_refunded",),
            "order_total": ("order_total",),
            "shipping": ("shipping_total",),
            "shipping_tax": ("shipping_tax_total",),
            "tax": ("tax_total",),
            "refunded": ("refunded_total", "order_refund"),
            "status": ("status",),
            "currency": ("order_currency",),
        },
        required=("invoice", "customer", "date", "status"),
    ),
    Layout(
        "stripe",
        "Stripe payments export",
        ("id", "Created (UTC)", "Amount", "Amount Refunded", "Currency", "Status"),
        roles={
            "invoice": ("id",),
            "customer": ("Customer ID", "Customer Email"),
            "customer_email": ("Customer Email",),
            "date": ("Created (UTC)",),
            "amount": ("Amount",),
            "refunded": ("Amount Refunded",),
            "status": ("Status",),
            "captured": ("Captured",),
            "currency": ("Currency",),
        },
        required=("invoice", "customer", "date", "amount"),
        utc=True,
    ),
    Layout(
        "online-retail",
        "Online Retail (UCI)",
        ("InvoiceNo", "InvoiceDate", "UnitPrice"),
        cancelled_pattern=CANCELLED_PATTERN,
    ),
    Layout(
        "online-retail-ii",
        "Online Retail II (UCI)",
        ("Invoice", "InvoiceDate", "Price"),
        cancelled_pattern=CANCELLED_PATTERN,
    ),
    Layout("orders", "order table", ()),
)

LAYOUT_NAMES: tuple[str, ...] = tuple(layout.name for layout in LAYOUTS)
_NONE = Layout("none", "no layout (columns by name)", ())


def _has(columns: list[str], wanted: tuple[str, ...]) -> bool:
    names = {_normalise_name(c) for c in columns}
    return all(_normalise_name(w) in names for w in wanted)


def choose_layout(columns: list[str], named: str | None, source: str) -> Layout:
    """Return the layout named with ``--layout``, else the first whose header matches.

    Parameters
    ----------
    columns : list of str
        The input's columns.
    named : str or None
        A layout name, ``"none"``, or None to recognise it.
    source : str
        The input's name, for messages.

    Raises
    ------
    UserError
        When the named layout's columns are not all in the header.
    """
    if named == "none":
        return _NONE
    if named is not None:
        layout = layout_named(named)
        assert layout is not None, named  # the config allows only known names
        missing = [c for c in layout.signature if not _has(columns, (c,))]
        if missing:
            raise UserError(
                f"{source}: --layout {named} needs the columns "
                f"{', '.join(repr(c) for c in missing)}, which are not in the header; "
                "use --layout none and name the columns with --customer-col and the like."
            )
        return layout
    return next(x for x in LAYOUTS if _has(columns, x.signature))


#: The computed columns of a prepared layout, field -> column.
_COMPUTED = {
    "customer": "cs_l_customer",
    "invoice": "cs_l_invoice",
    "date": "cs_l_date",
    "quantity": "cs_l_quantity",
    "amount": "cs_l_amount",
    "void": "cs_l_void",
    "currency": "cs_l_currency",
}

#: The column options, by the role they name in each computed layout.
_FLAGS = ("customer", "invoice", "date", "quantity", "price", "amount")


def _role(layout: Layout, flag: str) -> str | None:
    """Return the role a ``--<flag>-col`` option names in ``layout`` (None: no such role)."""
    if flag == "amount" and "line_total" in layout.roles:
        return "line_total"
    return flag if flag in layout.roles else None


def prepared_mapping(
    layout: Layout, columns: list[str], config: ColumnsConfig, source: str
) -> ColumnMapping:
    """Map a computed layout: each role's input column, and the computed fields.

    A column named with ``--customer-col`` (and the like) replaces the layout's own.
    """
    sources: dict[str, str] = {}
    for flag in _FLAGS:
        given = getattr(config, flag)
        if given is None:
            continue
        role = _role(layout, flag)
        if role is None:
            raise UserError(
                f"{source}: --{flag}-col does not apply to a {layout.title}, whose spend "
                "custseg computes from its own columns; read it with --layout none to map "
                "every column yourself."
            )
        hit = _find(columns, given)
        if hit is None:
            raise UserError(
                f"{source}: column {given!r} (--{flag}-col) not found in the {layout.title}."
            )
        sources[role] = hit
    for role, names in layout.roles.items():
        if role in sources:
            continue
        found = next((h for n in names if (h := _find(columns, n)) is not None), None)
        if found is not None:
            sources[role] = found
    missing = [r for r in layout.required if r not in sources]
    if missing:
        wanted = " or ".join(repr(n) for n in layout.roles[missing[0]])
        raise UserError(
            f"{source}: a {layout.title} needs a {missing[0]} column ({wanted}); "
            f"name it with --{missing[0]}-col, or read the file with --layout none."
        )
    has_lines = layout.name != "woocommerce" or "line_total" in sources
    return ColumnMapping(
        customer=_COMPUTED["customer"],
        invoice=_COMPUTED["invoice"],
        date=_COMPUTED["date"],
        quantity=_COMPUTED["quantity"] if "quantity" in sources and has_lines else None,
        amount=_COMPUTED["amount"],
        currency=_COMPUTED["currency"] if "currency" in sources else None,
        void=_COMPUTED["void"],
        layout=layout.name,
        sources=tuple(sorted(sources.items())),
    )


def prepared_types(mapping: ColumnMapping, types: Mapping[str, str]) -> dict[str, str]:
    """Return the types of the computed columns (dates keep the input's type)."""
    date = dict(mapping.sources)["date"]
    kind = types.get(date, "VARCHAR").upper()
    return {
        "cs_l_customer": "VARCHAR",
        "cs_l_invoice": "VARCHAR",
        "cs_l_date": "VARCHAR" if _layout(mapping).utc else kind,
        "cs_l_quantity": "DOUBLE",
        "cs_l_amount": "DOUBLE",
        "cs_l_void": "BOOLEAN",
        "cs_l_currency": "VARCHAR",
    }


def layout_named(name: str) -> Layout | None:
    """Return the layout ``--layout`` calls ``name`` (None for ``none`` or an unknown name)."""
    return next((x for x in LAYOUTS if x.name == name), None)


def _layout(mapping: ColumnMapping) -> Layout:
    """Return the layout of a computed mapping (always one of :data:`LAYOUTS`)."""
    layout = layout_named(mapping.layout)
    assert layout is not None, mapping.layout
    return layout


def _text(column: str) -> str:
    return f"NULLIF(trim(CAST({sql_ident(column)} AS STRING)), '')"


def _number(column: str | None) -> str:
    if column is None:
        return "CAST(NULL AS DOUBLE)"
    return f"TRY_CAST({_text(column)} AS DOUBLE)"


def prepare_sql(
    mapping: ColumnMapping, types: Mapping[str, str], relation: str, *, net: bool
) -> str:
    """Return the SELECT computing a platform export's ``cs_l_*`` columns, one row per line.

    Parameters
    ----------
    mapping : ColumnMapping
        A computed layout's mapping (:func:`prepared_mapping`).
    types : mapping
        DuckDB type name of each input column.
    relation : str
        SQL of the relation holding the export as read.
    net : bool
        ``--returns net``: partial refunds are subtracted from the order's lines, pro rata.

    Returns
    -------
    str
        ``SELECT cs_l_customer, cs_l_invoice, cs_l_date, cs_l_quantity, cs_l_amount,
        cs_l_void, cs_l_currency FROM ...``; the SQL is the same for DuckDB and Spark.
    """
    roles = dict(mapping.sources)
    layout = _layout(mapping)
    order = _text(roles["invoice"])

    def filled(expr: str) -> str:
        # Order-level fields are blank on an order's later lines: the order's value.
        return f"max({expr}) OVER (PARTITION BY {order})"

    def text(role: str) -> str:
        return filled(_text(roles[role])) if role in roles else "CAST(NULL AS STRING)"

    def number(role: str) -> str:
        return filled(_number(roles[role])) if role in roles else "CAST(NULL AS DOUBLE)"

    date_kind = types.get(roles["date"], "VARCHAR").upper()
    date = filled(_text(roles["date"]) if date_kind == "VARCHAR" else sql_ident(roles["date"]))
    if layout.utc:  # naive times that are UTC: written as instants
        date = f"concat({filled(_text(roles['date']))}, '+00:00')"
    status = f"lower({text('status')})"
    customer = f"lower({text('customer')})"
    if layout.name == "shopify":
        lines = _shopify_lines(roles, order, number, relation)
        void = (
            f"({text('cancelled_at')} IS NOT NULL OR coalesce({status} IN "
            "('voided', 'refunded'), false))"
        )
    elif layout.name == "woocommerce":
        lines = _woocommerce_lines(roles, order, number, relation)
        state = f"regexp_replace({status}, '^wc-', '')"
        void = (
            f"coalesce({state} IN ('cancelled', 'refunded', 'failed', 'pending', "
            "'draft', 'checkout-draft', 'trash'), false)"
        )
    else:  # stripe
        lines = (
            f"SELECT *, {_number(roles['amount'])} AS cs_l_goods, "
            f"{number('refunded')} AS cs_l_refunded, CAST(NULL AS DOUBLE) AS cs_l_qty "
            f"FROM {relation}"
        )
        customer = f"coalesce({text('customer')}, lower({text('customer_email')}))"
        captured = f"lower({text('captured')})"
        void = (
            f"(coalesce({status} IN ('failed', 'refunded', 'canceled', 'cancelled', "
            f"'blocked', 'incomplete'), false) OR coalesce({captured} = 'false', false) "
            f"OR coalesce({number('refunded')} >= {_number(roles['amount'])}, false))"
        )
    total = f"sum(cs_l_goods) OVER (PARTITION BY {order})"
    amount = "cs_l_goods"
    if net:
        # A partial refund, spread over the order's lines in proportion to their spend.
        amount = (
            f"CASE WHEN {total} > 0 THEN cs_l_goods * (1 - least(coalesce(cs_l_refunded, 0) "
            f"/ {total}, 1)) ELSE cs_l_goods END"
        )
    return (
        f"SELECT {customer} AS cs_l_customer, {order} AS cs_l_invoice, {date} AS cs_l_date, "
        f"cs_l_qty AS cs_l_quantity, {amount} AS cs_l_amount, {void} AS cs_l_void, "
        f"upper({text('currency')}) AS cs_l_currency FROM ({lines}) AS cs_l_lines"
    )


def _shopify_lines(
    roles: dict[str, str], order: str, number: Callable[[str], str], relation: str
) -> str:
    """Shopify: quantity x price less the line's discount, less its share of the order's."""
    qty = _number(roles["quantity"])
    gross = f"{qty} * {_number(roles['price'])}"
    line_discount = f"coalesce({_number(roles.get('line_discount'))}, 0)"
    net = f"({gross} - {line_discount})"
    order_discount = f"coalesce({number('order_discount')}, 0)"
    # Discount Amount is the order's whole discount: what the lines do not already carry is
    # spread over them pro rata.
    extra = f"greatest({order_discount} - sum({line_discount}) OVER (PARTITION BY {order}), 0)"
    total = f"sum({net}) OVER (PARTITION BY {order})"
    goods = f"CASE WHEN {total} > 0 THEN {net} - {extra} * {net} / {total} ELSE {net} END"
    refunded = number("refunded")
    return (
        f"SELECT *, {qty} AS cs_l_qty, {goods} AS cs_l_goods, {refunded} AS cs_l_refunded "
        f"FROM {relation}"
    )


def _woocommerce_lines(
    roles: dict[str, str], order: str, number: Callable[[str], str], relation: str
) -> str:
    """WooCommerce: the item total (after discounts, before tax), else the order's goods."""
    if "line_total" in roles:
        goods = _number(roles["line_total"])
        refunded = f"sum({_number(roles.get('line_refunded'))}) OVER (PARTITION BY {order})"
        qty = _number(roles.get("quantity"))
    else:
        parts = " - ".join(
            f"coalesce({_number(roles.get(r))}, 0)" for r in ("shipping", "shipping_tax", "tax")
        )
        goods = f"{_number(roles['order_total'])} - {parts}"
        refunded = number("refunded")
        qty = "CAST(NULL AS DOUBLE)"
    return (
        f"SELECT *, {qty} AS cs_l_qty, {goods} AS cs_l_goods, {refunded} AS cs_l_refunded "
        f"FROM {relation}"
    )
