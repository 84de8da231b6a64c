"""Parameters: one validated model, loaded from ``conf/base/parameters.yml`` plus overrides.

Every option of ``custseg run`` lives here, so that the YAML file and the command line
share one definition, one set of defaults and one validation.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from custseg.errors import UserError, first_line

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "CleaningConfig",
    "ColumnsConfig",
    "CsvConfig",
    "EngineConfig",
    "ModelConfig",
    "PlaybookEntry",
    "Settings",
    "load_settings",
    "read_yaml",
]

DEFAULT_CONFIG_PATH = Path("conf/base/parameters.yml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsConfig(_Strict):
    """Which input columns hold the customer, order, date and money fields.

    ``None`` means "detect": the Online Retail and Online Retail II names are recognised
    (see :data:`custseg.io.COLUMN_CANDIDATES`).
    """

    customer: str | None = None
    invoice: str | None = None
    date: str | None = None
    quantity: str | None = None
    price: str | None = None
    amount: str | None = Field(
        default=None, description="A line total that replaces quantity x price."
    )
    sheet: str | None = Field(
        default=None,
        description="Excel sheet to read alone; default: every sheet with the columns.",
    )
    layout: str | None = Field(
        default=None,
        description="the export's layout (online-retail, online-retail-ii, shopify, "
        "woocommerce, stripe, orders) or 'none'; default: recognised by the header",
    )
    timezone: str | None = Field(
        default=None,
        description="IANA time zone of the calendar (days, months, cut-offs) for timestamps "
        "with a UTC offset; default UTC. Ignored for timestamps without offsets.",
    )
    table: str | None = Field(
        default=None,
        description="A database input's table of order lines (name or schema.name).",
    )
    query: str | None = Field(
        default=None,
        description="A database input's query that returns the order lines (instead of table).",
    )

    @field_validator("layout")
    @classmethod
    def _known_layout(cls, value: str | None) -> str | None:
        from custseg.io.layouts import LAYOUT_NAMES

        if value is not None and value.strip().lower() not in (*LAYOUT_NAMES, "none"):
            raise ValueError(
                f"unknown layout {value!r}; choose one of {', '.join(LAYOUT_NAMES)} or none"
            )
        return value.strip().lower() if value is not None else None

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        if value is not None:
            import zoneinfo

            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"{value!r} is not an IANA time zone name (such as Europe/London)"
                ) from None
        return value


class CsvConfig(_Strict):
    """CSV dialect overrides; ``None`` means sniffed from the file."""

    delimiter: str | None = None
    decimal: Literal[".", ","] | None = None
    encoding: str | None = None
    date_format: str | None = Field(default=None, description="strftime pattern, e.g. %d/%m/%Y")

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is not None:
            value = {"\\t": "\t", "tab": "\t"}.get(value, value)
            if len(value) != 1:
                raise ValueError(f"delimiter must be one character, got {value!r}")
        return value


#: Online Retail's cancellations: an invoice id of 'C' and digits (C536379). An id such as
#: Superstore's CA-2016-152156 is an order.
CANCELLED_PATTERN = "C[0-9]+"


class CleaningConfig(_Strict):
    """Which optional cleaning rules run.

    Missing customer ids, invalid values and rows after the as-of date are always dropped:
    such rows cannot be attributed or measured.
    """

    drop_cancelled: bool = True
    cancelled_pattern: str | None = Field(
        default=None,
        description="regular expression an invoice id matches in full when it is a "
        "cancellation; default: the layout's convention (Online Retail: 'C' and digits, as "
        "in C536379; other layouts: none, or their own status column)",
    )
    currency: str | None = Field(
        default=None,
        description="keep only lines in this currency (a file with several currencies needs it)",
    )
    drop_non_product: bool = Field(
        default=False,
        description="leave lines whose stock code is not a product (Online Retail's POST, "
        "DOT, M, BANK CHARGES, AMAZONFEE, gift vouchers, ...) out of spend; by default they "
        "are kept and counted",
    )
    drop_non_positive_quantity: bool = True
    drop_non_positive_price: bool = True
    drop_duplicates: bool = False
    suppress: str | None = Field(
        default=None,
        description="a file of customers who objected to profiling, one id or email per "
        "line: their lines are dropped (rule 'suppressed') before any feature is computed",
    )
    allow_large_drops: bool = Field(
        default=False,
        description="go on when a validity rule drops more than half of the rows that reach "
        "it (by default the run stops: the data is probably read wrong)",
    )
    returns: Literal["drop", "net"] = Field(
        default="drop",
        description="'drop' return lines (cancellations, negative quantities), or 'net' them "
        "against the customer's purchases",
    )

    @field_validator("cancelled_pattern")
    @classmethod
    def _a_regex(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value:
            raise ValueError("it is empty; to keep cancellations use --keep-cancelled")
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a regular expression ({exc})") from None
        return value

    @field_validator("currency")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return value.strip().upper() if value is not None else None


class EngineConfig(_Strict):
    """Which engine runs the order-line SQL, how, and where the workbook cache lives."""

    name: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="'duckdb' on this machine, or 'spark' (pip install 'custseg[spark]').",
    )
    spark_master: str | None = Field(
        default=None,
        description="Spark master URL, e.g. local[*] or spark://host:7077; default: "
        "spark-submit's or SPARK_MASTER, else local[*].",
    )
    spark_collect_max_customers: int = Field(
        default=5_000_000,
        ge=0,
        description="Up to this many customers the RFM table is collected to the driver and "
        "clustered by scikit-learn; above it Spark MLlib clusters it where it lies.",
    )

    memory_limit: str | None = Field(
        default=None,
        description="DuckDB memory limit, e.g. '4GB'; default 1 GB, or the input file's size "
        "if larger (at most 80% of RAM).",
    )
    temp_directory: str = Field(
        default="data/interim/duckdb-tmp", description="Where DuckDB spills beyond the limit."
    )
    threads: int | None = Field(default=None, ge=1, description="Default: all cores.")
    cache: bool = Field(default=True, description="Keep a Parquet copy of each workbook read.")
    cache_dir: str = "data/interim/cache"

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str | None) -> str | None:

        if value is not None and not re.fullmatch(
            r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", value, re.IGNORECASE
        ):
            raise ValueError(f"memory_limit must look like '4GB' or '512MB', got {value!r}")
        return value


class ModelConfig(_Strict):
    """K selection and K-Means settings."""

    k: Literal["auto"] | int = "auto"
    k_min: int = Field(default=2, ge=2)
    k_max: int = Field(default=10, ge=2, le=11)
    business_k_min: int = Field(default=3, ge=2)
    business_k_max: int = Field(default=8, ge=2, le=11)
    n_init: int = Field(default=10, ge=1)
    silhouette_max_exact: int = Field(default=20_000, ge=100)
    sweep_max_customers: int = Field(
        default=50_000,
        ge=1000,
        description="Above this many customers the k sweep runs on a seeded sample of this "
        "size and the final K-Means on all customers starts from the sample's centroids.",
    )
    holdout_days: int = Field(
        default=90,
        ge=0,
        description="Check the personas on the last this many days: segment the data before "
        "them and report who bought again (0 turns it off).",
    )
    stability_resamples: int = Field(
        default=20,
        ge=0,
        description="Bootstrap resamples per k for the stability score (0 turns it off).",
    )
    stability_max_customers: int = Field(
        default=5_000,
        ge=100,
        description="Above this many customers stability uses a seeded subset of this size.",
    )
    seed: int = Field(default=0, ge=0, le=2**32 - 1)

    @field_validator("k", mode="before")
    @classmethod
    def _parse_k(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() != "auto":
            try:
                return int(value)
            except ValueError as exc:
                raise ValueError(f"k must be 'auto' or an integer, got {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_ranges(self) -> ModelConfig:
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) is larger than k_max ({self.k_max})")
        if isinstance(self.k, int) and not 2 <= self.k <= 11:
            raise ValueError(f"k must be between 2 and 11 (one persona name each), got {self.k}")
        if self.business_k_min > self.business_k_max:
            raise ValueError("business_k_min is larger than business_k_max")
        return self


class PredictionsConfig(_Strict):
    """Per-customer predictions in run's outputs, and audience filters on them."""

    with_clv: bool = Field(
        default=False,
        description="add custseg clv's prediction columns to customers.csv and expected "
        "revenue and churn risk to the persona cards (about 1 s on the real workbook: off by "
        "default)",
    )
    horizon_days: int = Field(default=90, ge=1, description="days predicted")
    discount_rate: float = Field(
        default=0.1, ge=0, le=1, description="yearly, a fraction (0.1 = 10%), for clv"
    )
    draws: int = Field(default=200, ge=0, le=10_000, description="parameter draws for intervals")
    audience_tiers: list[str] = Field(
        default_factory=list,
        description="write only customers of these value tiers to the audience files (top 1%, "
        "1-5%, 5-10%, 10-25%, 25-50%, bottom 50%); empty: every tier",
    )
    audience_min_churn: float = Field(
        default=0.0, ge=0, le=1, description="audience files: churn probability at least this"
    )
    audience_max_churn: float = Field(
        default=1.0, ge=0, le=1, description="audience files: churn probability at most this"
    )

    @field_validator("audience_tiers")
    @classmethod
    def _known_tiers(cls, value: list[str]) -> list[str]:
        if not value:
            return value
        from custseg.predictions import TIERS

        names = [label for _, label in TIERS]
        unknown = [v for v in value if v not in names]
        if unknown:
            raise ValueError(
                f"unknown value tier(s) {', '.join(map(repr, unknown))}; the tiers are "
                f"{', '.join(names)}"
            )
        return value


class PlaybookEntry(_Strict):
    """What to do with one persona: the action, the channel and the timing."""

    action: str
    channel: str
    timing: str


def _iso_datetime(text: str) -> dt.datetime:
    """Parse an ISO 8601 date or time; a trailing ``Z`` (UTC) too, on Python 3.10."""
    if text[-1:] in ("Z", "z"):  # fromisoformat reads "Z" only from Python 3.11
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


class Settings(_Strict):
    """All parameters of a run."""

    columns: ColumnsConfig = ColumnsConfig()
    csv: CsvConfig = CsvConfig()
    cleaning: CleaningConfig = CleaningConfig()
    model: ModelConfig = ModelConfig()
    engine: EngineConfig = EngineConfig()
    predictions: PredictionsConfig = PredictionsConfig()
    as_of: dt.datetime | None = Field(
        default=None, description="Reference date; default: last kept purchase + 1 day."
    )
    playbook: dict[str, PlaybookEntry] = Field(
        default_factory=dict,
        description="Per-persona action, channel and timing; entries replace the packaged "
        "defaults (custseg/data/playbook.yml).",
    )
    synthetic_customers: int = Field(default=4000, ge=10)

    @field_validator("as_of", mode="before")
    @classmethod
    def _parse_as_of(cls, value: Any) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return _iso_datetime(value.strip())
            except ValueError as exc:
                raise ValueError(
                    f"as_of must be a date such as 2011-12-10 or 2011-12-10T12:50, got {value!r}"
                ) from exc
        return value

    @field_validator("as_of")
    @classmethod
    def _naive(cls, value: dt.datetime | None) -> dt.datetime | None:
        # Order timestamps are wall-clock; compare like with like.
        if value is None:
            return None
        value = value.replace(tzinfo=None)
        # A day's slack for the time zones: "as of tomorrow" somewhere is today here.
        today = dt.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        if value > today + dt.timedelta(days=2):
            raise ValueError(
                f"as_of {value:%Y-%m-%d} lies in the future (today is {today:%Y-%m-%d}): "
                "every customer's recency would count days that have not happened; give a "
                "date up to today, or none (the last kept purchase + 1 day)"
            )
        return value


def _prune(values: dict[str, Any]) -> dict[str, Any]:
    """Drop ``None`` values (options not given), recursively."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            value = _prune(value)
        if value is not None and value != {}:
            out[key] = value
    return out


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


#: YAML keys set by a command-line option of a different name.
_OPTION_NAMES = {
    "columns.customer": "--customer-col",
    "columns.invoice": "--invoice-col",
    "columns.date": "--date-col",
    "columns.quantity": "--quantity-col",
    "columns.price": "--price-col",
    "columns.amount": "--amount-col",
    "engine.name": "--engine",
    "engine.temp_directory": "--temp-dir",
    "cleaning.drop_non_positive_quantity": "--drop-returns",
    "cleaning.drop_non_positive_price": "--drop-non-positive-price",
    "cleaning.cancelled_pattern": "--cancelled-pattern",
}


def _option(loc: list[str]) -> str:
    """Return the command-line option that sets the parameter at ``loc``."""
    return _OPTION_NAMES.get(".".join(loc), "--" + loc[-1].replace("_", "-"))


def _mentions(msg: str, name: str) -> bool:
    """Return whether ``msg`` names the parameter ``name`` as a whole word."""
    return re.search(rf"\b{re.escape(name)}\b", msg) is not None


def _fields(loc: list[str]) -> list[str]:
    """Return the field names of the settings section at ``loc`` (``["model"]``: k, seed...)."""
    import typing

    section: Any = Settings
    for part in loc:
        if typing.get_origin(section) is dict:  # a mapping's key (playbook: a persona)
            section = typing.get_args(section)[1]
            continue
        field = getattr(section, "model_fields", {}).get(part)
        if field is None:
            return []
        section = field.annotation
    return list(getattr(section, "model_fields", {}))


def _describe(exc: ValidationError, source: str, overrides: dict[str, Any]) -> str:
    err = exc.errors()[0]
    # Keep field names only (pydantic adds union branch names such as "literal['auto']").
    loc = [str(p) for p in err["loc"] if isinstance(p, str) and p.isidentifier()]
    where = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        import difflib

        # The key as written (``k-max`` is no identifier), under the sections above it.
        path = [str(p) for p in err["loc"]]
        key, above = path[-1], path[:-1]
        known = _fields(above)
        close = difflib.get_close_matches(key.replace("-", "_"), known, n=1, cutoff=0.6)
        hint = f" (did you mean '{'.'.join([*above, close[0]])}'?)" if close else ""
        listed = f" (known here: {', '.join(known)})" if known else ""
        return (
            f"{source}: unknown parameter '{'.'.join(path)}'{hint}; remove it or check its "
            f"spelling{listed}."
        )
    msg = str(err["msg"]).removeprefix("Value error, ")
    node: Any = overrides
    for part in loc:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):  # a rule across several values (e.g. k_min <= k_max)
        options = [
            _option([*loc, key])
            for key, value in node.items()
            if not isinstance(value, dict) and _mentions(msg, key)
        ]
        # A value the rule names that the command line did not give came from the file.
        from_file = any(field not in node and _mentions(msg, field) for field in _fields(loc))
        if len(options) == 1 and not from_file:
            return f"Invalid value for {options[0]}: {msg}."
        if options:
            return f"{source} ({', '.join(options)}): {msg}."
        return f"{source}: {msg}."
    if node is not None and loc:  # the value came from the command line
        return f"Invalid value for {_option(loc)}: {msg}."
    return f"{source}: invalid value for '{where}': {msg}."


class _Loader(yaml.SafeLoader):
    """YAML's safe loader with dates left as text: the settings parse them, naming the key.

    (Read as dates by YAML, ``as_of: 2011-13-01`` failed inside the parser, with no key.)
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in found if tag != "tag:yaml.org,2002:timestamp"]
    for first, found in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Return the parser's complaint in one line, with its place (YAML's own text: six)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"{exc.problem}{where}"
    return first_line(exc)


def read_yaml(path: Path, what: str) -> Any:
    """Read a YAML file (dates left as text), every failure one sentence naming ``what``.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What it is, for the messages: "the config file", "the campaigns file".

    Returns
    -------
    Any
        What the file holds.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"Cannot read {what} {path}: {exc.strerror}.") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{what.capitalize()} {path} is not UTF-8 text ({exc.reason}).") from exc
    try:
        return yaml.load(text, Loader=_Loader)  # a safe loader that makes fewer types
    except yaml.YAMLError as exc:
        raise UserError(
            f"{what.capitalize()} {path} is not valid YAML: {_yaml_problem(exc)}."
        ) from exc


def load_settings(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Load parameters from YAML and apply overrides.

    Parameters
    ----------
    path : Path, optional
        YAML file. ``None`` uses ``conf/base/parameters.yml`` when it exists, else defaults.
    overrides : dict, optional
        Nested values (e.g. from the command line); ``None`` values are ignored.

    Returns
    -------
    Settings
        The validated parameters.

    Raises
    ------
    UserError
        If the file cannot be read, is not a mapping, or holds an unknown key or bad value.
    """
    data: dict[str, Any] = {}
    source = "parameters"
    if path is None and DEFAULT_CONFIG_PATH.is_file():
        path = DEFAULT_CONFIG_PATH
    if path is not None:
        source = str(path)
        loaded = read_yaml(Path(path), "the config file")
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise UserError(f"The config file {path} must hold a mapping of parameters.")
        data = loaded
    overrides = _prune(overrides or {})
    if overrides:
        data = _merge(data, overrides)
        source = f"{source} with command-line options" if path else "command-line options"
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise UserError(_describe(exc, source, overrides)) from exc
