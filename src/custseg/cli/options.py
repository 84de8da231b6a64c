"""The command-line options that several commands share, declared once.

:func:`shared` adds groups of options (input, cleaning, as-of, model) to a command: the
command declares one parameter per group (``inputs: InputOptions`` and so on) and receives
the options the user gave, gathered into that record, ready to override the YAML file's
values (:meth:`Options.overrides`). Typer reads the command's signature; this module builds
that signature from the groups, so every command spells an option the same way.
"""

from __future__ import annotations

import copy
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import typer

__all__ = [
    "FLAG_OF",
    "AsOfOption",
    "CleaningOptions",
    "ForceOption",
    "InputOptions",
    "ModelOptions",
    "Options",
    "QuietOption",
    "QuietSummaryOption",
    "QuietTableOption",
    "ToDbOption",
    "option_help",
    "shared",
]

Opt = typer.Option
F = TypeVar("F", bound=Callable[..., Any])


class Options:
    """A group of options; each field is one option (None: not given)."""

    #: field -> (settings section, key) when the YAML key is named differently.
    keys: ClassVar[dict[str, tuple[str, str]]] = {}
    #: The heading the group's options are listed under in --help.
    panel: ClassVar[str] = "Options"

    def given(self, *names: str) -> list[str]:
        """Return the options among ``names`` (all when none) the user gave, as typed.

        A switch is named as given: ``--keep-cancelled`` for ``--drop-cancelled/--keep-cancelled``
        set to false.
        """
        hints = typing.get_type_hints(type(self), include_extras=True)
        flags = []
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            if value is None or (names and item.name not in names):
                continue
            info = typing.get_args(hints[item.name])[1]
            decls = [d for d in (*info.param_decls, info.default) if isinstance(d, str)]
            declared = next((d for d in decls if d.startswith("--")), "")
            on, _, off = declared.partition("/")
            flag = on or "--" + item.name.replace("_", "-")
            flags.append(off if off and value is False else flag)
        return flags

    def overrides(self) -> dict[str, Any]:
        """Return the given values as nested settings overrides (``None`` = not given)."""
        out: dict[str, Any] = {}
        for item in fields(self):  # type: ignore[arg-type]
            section, key = self.keys.get(item.name, ("", item.name))
            value = getattr(self, item.name)
            if section:
                out.setdefault(section, {})[key] = value
            else:
                out[key] = value
        return out


@dataclass
class InputOptions(Options):
    """Where the order lines are, how to read them, and which engine reads them."""

    config: Annotated[
        Path | None,
        Opt(help="Parameters YAML. Default: conf/base/parameters.yml if present."),
    ] = None
    layout: Annotated[
        str | None,
        Opt(
            metavar="NAME",
            help="The export's layout: online-retail, online-retail-ii, shopify, woocommerce, "
            "stripe, orders, or none to map columns by name only (default: recognised by the "
            "header).",
        ),
    ] = None
    customer_col: Annotated[str | None, Opt(help="Customer id column.")] = None
    invoice_col: Annotated[
        str | None,
        Opt(help="Invoice/order id column; without one, each (customer, timestamp) is an order."),
    ] = None
    date_col: Annotated[str | None, Opt(help="Order timestamp column.")] = None
    quantity_col: Annotated[str | None, Opt(help="Quantity column.")] = None
    price_col: Annotated[str | None, Opt(help="Unit price column.")] = None
    amount_col: Annotated[
        str | None, Opt(help="Line total column (replaces quantity x price).")
    ] = None
    sheet: Annotated[
        str | None, Opt(help="Excel sheet to read alone (default: every sheet with the columns).")
    ] = None
    suppress: Annotated[
        str | None,
        Opt(
            metavar="FILE",
            help="Customers who objected to profiling, one id or email per line: their "
            "lines are dropped before any feature and counted as 'suppressed'.",
        ),
    ] = None
    table: Annotated[
        str | None,
        Opt(
            metavar="NAME",
            help="With a database INPUT (postgresql://user@host/db or sqlite:///file.db): the "
            "table of order lines.",
        ),
    ] = None
    query: Annotated[
        str | None,
        Opt(metavar="SQL", help="With a database INPUT: a query returning the order lines."),
    ] = None
    delimiter: Annotated[
        str | None, Opt(help="CSV delimiter (default: sniffed); 'tab' for tab.")
    ] = None
    decimal: Annotated[str | None, Opt(help="CSV decimal separator: '.' or ','.")] = None
    encoding: Annotated[str | None, Opt(help="CSV text encoding (default utf-8).")] = None
    date_format: Annotated[
        str | None, Opt(help="Date format of text dates, e.g. '%d/%m/%Y %H:%M'.")
    ] = None
    timezone: Annotated[
        str | None,
        Opt(
            metavar="ZONE",
            help="IANA time zone (e.g. Europe/London) of the calendar (purchase days, months) "
            "when times carry UTC offsets; default UTC. Times without offsets stay as written.",
        ),
    ] = None
    engine: Annotated[
        str | None,
        Opt(
            help="'duckdb' (this machine, the default) or 'spark' (needs "
            "pip install 'custseg\\[spark]'); INPUT may then be a folder or an s3a:// or "
            "hdfs:// URL."
        ),
    ] = None
    spark_master: Annotated[
        str | None,
        Opt(
            help="Spark master URL, e.g. local[2] or spark://host:7077 (default: "
            "spark-submit's, SPARK_MASTER, else local[*])."
        ),
    ] = None
    memory_limit: Annotated[
        str | None,
        Opt(
            help="DuckDB memory limit, e.g. 4GB (default 1 GB, or the input file's size if "
            "larger); beyond it DuckDB spills to --temp-dir."
        ),
    ] = None
    temp_dir: Annotated[
        str | None, Opt(help="Where DuckDB spills (default data/interim/duckdb-tmp).")
    ] = None
    threads: Annotated[int | None, Opt(help="DuckDB threads (default: all cores).")] = None
    cache: Annotated[
        bool | None,
        Opt(
            "--cache/--no-cache",
            help="Read workbooks through a Parquet copy in data/interim/cache (default: on).",
            show_default=False,
        ),
    ] = None

    panel: ClassVar[str] = "Input: file, columns, dialect, engine"
    keys: ClassVar[dict[str, tuple[str, str]]] = {
        "customer_col": ("columns", "customer"),
        "invoice_col": ("columns", "invoice"),
        "date_col": ("columns", "date"),
        "quantity_col": ("columns", "quantity"),
        "price_col": ("columns", "price"),
        "amount_col": ("columns", "amount"),
        "sheet": ("columns", "sheet"),
        "suppress": ("cleaning", "suppress"),
        "table": ("columns", "table"),
        "query": ("columns", "query"),
        "layout": ("columns", "layout"),
        "timezone": ("columns", "timezone"),
        "delimiter": ("csv", "delimiter"),
        "decimal": ("csv", "decimal"),
        "encoding": ("csv", "encoding"),
        "date_format": ("csv", "date_format"),
        "engine": ("engine", "name"),
        "spark_master": ("engine", "spark_master"),
        "memory_limit": ("engine", "memory_limit"),
        "temp_dir": ("engine", "temp_directory"),
        "threads": ("engine", "threads"),
        "cache": ("engine", "cache"),
    }

    def overrides(self) -> dict[str, Any]:
        """Return the overrides; the config file is not one (see :attr:`config`)."""
        out = super().overrides()
        out.pop("config")
        return out


@dataclass
class CleaningOptions(Options):
    """Which optional cleaning rules run, and how returns are handled."""

    drop_cancelled: Annotated[
        bool | None,
        Opt(
            "--drop-cancelled/--keep-cancelled",
            help="Drop cancellations: invoice ids by --cancelled-pattern, and orders a shop "
            "export marks cancelled, voided or refunded in full (default: drop).",
            show_default=False,
        ),
    ] = None
    cancelled_pattern: Annotated[
        str | None,
        Opt(
            metavar="REGEX",
            help="An invoice id this regular expression matches in full is a cancellation "
            "(default: the layout's; Online Retail: C[0-9]+, as C536379; other tables: none).",
            show_default=False,
        ),
    ] = None
    drop_returns: Annotated[
        bool | None,
        Opt(
            "--drop-returns/--keep-returns",
            help="Drop quantity <= 0 lines (default: drop).",
            show_default=False,
        ),
    ] = None
    drop_free: Annotated[
        bool | None,
        Opt(
            "--drop-non-positive-price/--keep-non-positive-price",
            help="Drop price (or amount) <= 0 lines (default: drop).",
            show_default=False,
        ),
    ] = None
    drop_non_product: Annotated[
        bool | None,
        Opt(
            "--drop-non-product/--keep-non-product",
            help="Leave lines whose stock code is not a product (POST, DOT, M, BANK CHARGES, "
            "AMAZONFEE, gift vouchers, ...) out of spend (default: keep and count them).",
            show_default=False,
        ),
    ] = None
    drop_duplicates: Annotated[
        bool | None,
        Opt(
            "--drop-duplicates/--keep-duplicates",
            help="Drop exact duplicate rows (default: keep).",
            show_default=False,
        ),
    ] = None
    allow_large_drops: Annotated[
        bool | None,
        Opt(
            "--allow-large-drops",
            help="Go on when a validity rule drops more than half of the rows that reach it "
            "(default: stop, naming the rule: the data is probably read wrong).",
            show_default=False,
        ),
    ] = None
    currency: Annotated[
        str | None,
        Opt(
            metavar="CODE",
            help="Keep only lines in this currency (e.g. EUR); a file with several currencies "
            "needs it.",
        ),
    ] = None
    returns: Annotated[
        str | None,
        Opt(
            help="'drop' return lines (cancellations, negative quantities; the default) or "
            "'net' them against each customer's purchases.",
        ),
    ] = None

    panel: ClassVar[str] = "Cleaning"
    keys: ClassVar[dict[str, tuple[str, str]]] = {
        "drop_cancelled": ("cleaning", "drop_cancelled"),
        "cancelled_pattern": ("cleaning", "cancelled_pattern"),
        "drop_returns": ("cleaning", "drop_non_positive_quantity"),
        "drop_free": ("cleaning", "drop_non_positive_price"),
        "drop_duplicates": ("cleaning", "drop_duplicates"),
        "drop_non_product": ("cleaning", "drop_non_product"),
        "allow_large_drops": ("cleaning", "allow_large_drops"),
        "currency": ("cleaning", "currency"),
        "returns": ("cleaning", "returns"),
    }


@dataclass
class AsOfOption(Options):
    """The reference date."""

    panel: ClassVar[str] = "Cleaning"

    as_of: Annotated[
        str | None,
        Opt(
            help="Reference date for recency, e.g. 2011-12-10; order lines at or after it "
            "are left out. Default: last kept purchase + 1 day."
        ),
    ] = None


@dataclass
class ModelOptions(Options):
    """How the segments are fitted."""

    k: Annotated[str | None, Opt("--k", help="Number of segments: 'auto' or an integer.")] = None
    k_min: Annotated[int | None, Opt(help="Smallest k scored (default 2).")] = None
    k_max: Annotated[int | None, Opt(help="Largest k scored (default 10).")] = None
    seed: Annotated[int | None, Opt(help="Random seed (default 0).")] = None

    panel: ClassVar[str] = "Segments"
    keys: ClassVar[dict[str, tuple[str, str]]] = {
        "k": ("model", "k"),
        "k_min": ("model", "k_min"),
        "k_max": ("model", "k_max"),
        "seed": ("model", "seed"),
    }


def _parameters(group: type[Options]) -> list[inspect.Parameter]:
    hints = inspect.get_annotations(group, eval_str=True)
    params = []
    for item in fields(group):  # type: ignore[arg-type]
        kind, *meta = typing.get_args(hints[item.name])
        info = copy.copy(meta[0])
        info.rich_help_panel = group.panel
        params.append(
            inspect.Parameter(
                item.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[kind, info],
            )
        )
    return params


def shared(func: F) -> F:
    """Give a command the option groups it declares (``inputs: InputOptions``, ...).

    Each parameter of ``func`` annotated with an :class:`Options` subclass is replaced, in
    the signature Typer reads, by that group's options; the call gathers them back into the
    record.
    """
    signature = inspect.signature(func, eval_str=True)
    groups = {
        name: param.annotation
        for name, param in signature.parameters.items()
        if isinstance(param.annotation, type) and issubclass(param.annotation, Options)
    }
    own = [p for name, p in signature.parameters.items() if name not in groups]
    extra = [p for group in groups.values() for p in _parameters(group)]
    members = {name: [f.name for f in fields(group)] for name, group in groups.items()}  # type: ignore[arg-type]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        for name, group in groups.items():
            kwargs[name] = group(**{field: kwargs.pop(field) for field in members[name]})
        return func(**kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra
    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper  # type: ignore[return-value]


def option_help(group: type[Options], name: str) -> str:
    """Return the --help text of one option of a group (the dashboard shows the same words)."""
    hints = typing.get_type_hints(group, include_extras=True)
    info = typing.get_args(hints[name])[1]
    return str(info.help or "").replace("\\[", "[")


#: The command-line flag of each input option the dashboard's sidebar also sets.
FLAG_OF = {
    name: "--" + name.replace("_", "-")
    for name in ("delimiter", "decimal", "encoding", "date_format", "customer_col", "invoice_col",
                 "date_col", "quantity_col", "price_col", "amount_col", "sheet", "layout",
                 "timezone", "suppress")
}  # fmt: skip


#: ``--force``: shared by every command that writes an output folder.
ForceOption = Annotated[
    bool,
    Opt(
        "--force",
        help="Write into a folder that holds files custseg did not write (they are never "
        "replaced or deleted).",
    ),
]

#: ``--quiet``: the stages' log is left out; warnings and errors stay (setup_logging), and
#: so does what a command prints on stdout (its summary or table).
QuietOption = Annotated[bool, Opt("--quiet", "-q", help="Only warnings and errors.")]
QuietSummaryOption = Annotated[
    bool, Opt("--quiet", "-q", help="Only warnings, errors and the summary.")
]
QuietTableOption = Annotated[
    bool, Opt("--quiet", "-q", help="Only warnings, errors and the table.")
]

#: ``--to-db URL`` (run, clv, cohorts, migrate): the results also go into a database.
ToDbOption = Annotated[
    str | None,
    Opt(
        "--to-db",
        metavar="URL",
        help="Also write the results into this database (postgresql://user@host/db or "
        "sqlite:///file.db) in one transaction: custseg_* tables, every run kept in "
        "custseg_runs (docs/database.md). Passwords from PGPASSWORD or ~/.pgpass.",
    ),
]
