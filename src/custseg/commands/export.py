"""``custseg export``: a run's personas as the audience files campaign tools import.

:func:`export_audiences` reads a run's (or a scoring's) ``customers.csv``, finds each
customer's email and phone, and lays out one file per persona in the chosen format
(:mod:`custseg.exports`); :func:`write_exports` writes them, with ``export_log.json``,
into an output folder atomically.

The contacts come from the customer ids when those are emails or phone numbers, else from
the order lines (``--orders``), in the columns named with ``--email-col`` and
``--phone-col``. The order lines are read as ``custseg run`` reads them (format, encoding,
CSV dialect, every sheet of a workbook, the customer column recognised by name or layout),
with the contact columns kept as text, so that ``+44...`` and leading zeros survive. The
customers of both are matched on the id as ``customers.csv`` writes it (13085.0 is
"13085"; a shop export's emails in lower case). A customer with several contacts of one
kind is given the one on the most lines (ties: the first in sort order).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from custseg.commands.common import audience_name
from custseg.errors import UserError
from custseg.exports import (
    CONTACTS,
    FORMATS,
    HASHABLE,
    audience_table,
    e164,
    is_email,
    is_phone,
    needs_country_code,
    normalise_email,
)
from custseg.io.writers import staged_folder, write_csv, write_json
from custseg.progress import logger

__all__ = [
    "EXPORT_FILES",
    "ExportResult",
    "check_options",
    "contacts_from_orders",
    "export_audiences",
    "read_customers",
    "write_exports",
]

#: What ``custseg export`` writes into its output folder.
EXPORT_FILES = ("audiences", "export_log.json")

#: The columns read from ``customers.csv``.
CUSTOMER_COLUMNS = ("customer_id", "persona", "recency_days", "frequency", "monetary")
#: Read too where the file has them (the csv format writes them).
OPTIONAL_COLUMNS = ("rfm_segment",)

#: The relation the order lines are registered as.
_ORDERS = "custseg_export_orders"


@dataclass
class ExportResult:
    """What :func:`export_audiences` made, before it is written.

    Attributes
    ----------
    format : str
        One of :data:`custseg.exports.FORMATS`.
    hashed : bool
        Whether the contacts are SHA-256 hashes.
    files : dict
        File name (``<persona>.csv``) -> the table to write.
    log : dict
        What ``export_log.json`` records: the options, the contacts' sources and, per file,
        its persona, customers and customers without a usable contact (counts only).
    """

    format: str
    hashed: bool
    files: dict[str, pd.DataFrame] = field(default_factory=dict)
    log: dict[str, Any] = field(default_factory=dict)


def check_options(
    fmt: str,
    *,
    hashed: bool = False,
    orders: Path | None = None,
    email_col: str | None = None,
    phone_col: str | None = None,
    customer_col: str | None = None,
    country_code: str | None = None,
) -> str | None:
    """Refuse options that do not go together, before any work.

    Returns
    -------
    str or None
        The country code as digits (``"+44"`` gives ``"44"``).

    Raises
    ------
    UserError
        Naming the option and what to give instead.
    """
    if fmt not in FORMATS:
        raise UserError(
            f"Invalid value for --format: {fmt!r} (use {', '.join(FORMATS[:-1])} or {FORMATS[-1]})."
        )
    if hashed and fmt == "klaviyo":
        raise UserError(
            "--hash does not apply to --format klaviyo: Klaviyo imports plain values "
            "(use --format google or meta for hashed files)."
        )
    if hashed and fmt not in HASHABLE:
        raise UserError(
            f"--hash does not apply to --format {fmt}, which holds plain values "
            "(use --format google or meta for hashed files)."
        )
    given = [f for f, v in (("--email-col", email_col), ("--phone-col", phone_col)) if v]
    if orders is None and (given or customer_col is not None):
        flag = given[0] if given else "--customer-col"
        raise UserError(f"{flag} names a column of the order lines: give them with --orders FILE.")
    if orders is not None and not given:
        raise UserError(
            "--orders is read for contacts: name its email or phone column with --email-col "
            "or --phone-col."
        )
    if country_code is None:
        return None
    code = country_code.strip().removeprefix("+")
    if not (code.isdigit() and 1 <= len(code) <= 3 and not code.startswith("0")):
        raise UserError(
            f"Invalid value for --default-country-code: {country_code!r} (give 1 to 3 digits, "
            "such as 44 or 1)."
        )
    return code


# --- the run's customers -------------------------------------------------------------------

#: Characters a spreadsheet skips before a formula (as custseg.io.writers.csv_safe).
_LEADING = "".join(chr(c) for c in range(33))


def _unguarded(value: Any) -> Any:
    """Undo the formula guard custseg's CSV files apply (``'+4477...`` is ``+4477...``)."""
    if isinstance(value, str) and value.startswith("'"):
        rest = value[1:]
        if rest.lstrip(_LEADING).startswith(("=", "+", "-", "@")) or rest.startswith("\t"):
            return rest
    return value


def read_customers(run_dir: Path) -> pd.DataFrame:
    """Return a run's customers: id (text), persona, recency, frequency and spend.

    ``customers.csv`` is read (the formula guard custseg applies to it undone), or where a
    run on Spark wrote none, ``customers.parquet``.

    Parameters
    ----------
    run_dir : Path
        The output folder of ``custseg run`` or ``custseg score``.

    Returns
    -------
    pandas.DataFrame
        The :data:`CUSTOMER_COLUMNS`, and those of :data:`OPTIONAL_COLUMNS` the file has.

    Raises
    ------
    UserError
        If the folder or its customers are missing.
    """
    if not run_dir.is_dir():
        raise UserError(
            f"RUN_DIR {run_dir} is not a folder: give the output folder of custseg run."
        )
    path = run_dir / "customers.csv"
    parquet = run_dir / "customers.parquet"
    try:
        if path.is_file():
            text = {"customer_id": str, "persona": str, "rfm_segment": str}
            frame = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])
            for column in text:
                if column in frame:
                    frame[column] = frame[column].map(_unguarded)
        elif parquet.exists():
            path = parquet
            frame = pd.read_parquet(parquet)
        else:
            raise UserError(
                f"{run_dir} has no customers.csv: give the output folder of custseg run."
            )
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} cannot be read ({exc}).") from exc
    missing = [c for c in CUSTOMER_COLUMNS if c not in frame]
    if missing:
        raise UserError(
            f"{path} has no {', '.join(missing)} column: is {run_dir} an output folder of "
            "custseg run?"
        )
    if frame.empty:
        raise UserError(f"{path} has no customers.")
    out = frame[[*CUSTOMER_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in frame)]].copy()
    out["customer_id"] = out["customer_id"].astype(str)
    out["persona"] = out["persona"].astype(str)
    customers: pd.DataFrame = out.reset_index(drop=True)
    return customers


def _chosen_personas(customers: pd.DataFrame, wanted: Sequence[str], run_dir: Path) -> list[str]:
    """Return the personas to export: all, or those named (by name, any case, or file name)."""
    present = list(dict.fromkeys(customers["persona"]))
    if not wanted:
        return present
    chosen = []
    for name in wanted:
        hit = next(
            (
                p
                for p in present
                if name in (p, audience_name(p), audience_name(p).removesuffix(".csv"))
                or name.casefold() == p.casefold()
            ),
            None,
        )
        if hit is None:
            raise UserError(
                f"--persona {name!r} is not a persona of {run_dir}; the personas are "
                + ", ".join(repr(p) for p in present)
                + "."
            )
        if hit not in chosen:
            chosen.append(hit)
    return chosen


# --- contacts in the order lines -----------------------------------------------------------


def _match_key(ids: pd.Series, fold: bool) -> pd.Series:
    """Return ids as matched: a whole number written as a float ("13085.0") is "13085"."""
    text = ids.astype(str).str.strip().str.replace(r"^(-?[0-9]+)\.0+$", r"\1", regex=True)
    out: pd.Series = text.str.lower() if fold else text
    return out


def _text_sql(column: str, kind: str) -> str:
    """Return SQL giving a column's values as trimmed text (whole floats without ".0")."""
    from custseg.sql import sql_ident

    ident = sql_ident(column)
    if kind.upper() in ("FLOAT", "DOUBLE", "REAL") or kind.upper().startswith("DECIMAL"):
        number = f"CAST({ident} AS DOUBLE)"
        return (
            f"CASE WHEN isnan({number}) THEN NULL WHEN {number} = trunc({number}) AND "
            f"abs({number}) < 9007199254740992 THEN CAST(CAST({number} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({ident} AS VARCHAR) END"
        )
    return f"NULLIF(trim(CAST({ident} AS VARCHAR)), '')"


@dataclass(frozen=True)
class _Columns:
    customer: str
    fold: bool  # a shop export's key: custseg lowercases it
    contacts: dict[str, str]  # kind -> column


def _columns(
    names: list[str], customer_col: str | None, wanted: dict[str, str], source: str
) -> _Columns:
    """Find the customer and contact columns among ``names`` (as custseg matches names)."""
    from custseg.io.columns import _find, _missing_column, suggest_columns
    from custseg.io.layouts import choose_layout

    layout = choose_layout(names, None, source)
    if customer_col is not None:
        customer = _find(names, customer_col)
        if customer is None:
            raise _missing_column("customer", customer_col, names, source)
    elif layout.roles:
        customer = next(
            (hit for c in layout.roles["customer"] if (hit := _find(names, c)) is not None), None
        )
    else:
        customer = suggest_columns(names)["customer"]
    if customer is None:
        raise _missing_column("customer", None, names, source)
    contacts = {}
    for kind, name in wanted.items():
        hit = _find(names, name)
        if hit is None:
            raise _missing_column(kind, name, names, source)
        contacts[kind] = hit
    return _Columns(customer, bool(layout.roles), contacts)


def _register(
    con: Any,
    path: Path,
    customer_col: str | None,
    wanted: dict[str, str],
    work: Path,
) -> tuple[_Columns, dict[str, str]]:
    """Register the order lines as :data:`_ORDERS`; return the columns and their types."""
    from custseg.io import readers

    fmt = readers._check_file(path)
    source = str(path)
    if fmt == "csv":
        from custseg.config import CsvConfig

        csv = CsvConfig()
        try:
            real, options = readers._csv_options(path, csv, work)
            args = readers._csv_args(real, options)
            sniffed = readers._csv_sniff(con, path, args)
        except UserError:
            legacy = readers.legacy_encoding(path)
            if legacy is None:
                raise
            real, options = readers._csv_options(path, CsvConfig(encoding=legacy), work)
            args = readers._csv_args(real, options)
            sniffed = readers._csv_sniff(con, path, args)
        names = [c["name"] for c in sniffed[7]]
        found = _columns(names, customer_col, wanted, source)
        text = list(found.contacts.values())
        fixed = readers._csv_fixed_args(args, sniffed, text)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_ORDERS} AS SELECT * FROM read_csv({fixed})")
        types = {c["name"]: "VARCHAR" if c["name"] in text else c["type"] for c in sniffed[7]}
        return found, types
    if fmt == "parquet":
        names = readers._parquet_columns(con, path, _ORDERS)
        found = _columns(names, customer_col, wanted, source)
        types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {_ORDERS}").fetchall()}
        return found, types
    return _register_workbook(con, path, customer_col, wanted)


def _register_workbook(
    con: Any, path: Path, customer_col: str | None, wanted: dict[str, str]
) -> tuple[_Columns, dict[str, str]]:
    """Register every sheet of a workbook that has the columns, all read as text."""
    import pyarrow as pa

    from custseg.errors import first_line
    from custseg.io import excel
    from custseg.io.xlsx_header import sheet_header

    first, reader = excel.excel_sheet(path, None)
    book: Any = reader

    def header(sheet: str) -> list[str]:
        names = sheet_header(path, sheet)
        if names is None:
            names = [c.name for c in book.load_sheet(sheet, n_rows=1).available_columns()]
        return names

    found = _columns(header(first), customer_col, wanted, f"{path} (sheet {first!r})")
    used = list(dict.fromkeys([found.customer, *found.contacts.values()]))
    schema = pa.schema([pa.field(c, pa.string()) for c in used])  # nullable in every sheet
    tables = []
    for sheet in book.sheet_names:
        try:
            if sheet != first and not set(used) <= set(header(sheet)):
                continue  # a sheet of something else (as custseg run skips it)
            loaded = book.load_sheet(sheet, use_columns=used, dtypes=dict.fromkeys(used, "string"))
            tables.append(pa.Table.from_batches([loaded.to_arrow().select(used)]).cast(schema))
        except Exception as exc:  # calamine's own error types
            raise UserError(
                f"{path} (sheet {sheet!r}): cannot read the sheet ({first_line(exc)})."
            ) from exc
    con.register(_ORDERS, pa.concat_tables(tables))
    return found, dict.fromkeys(used, "VARCHAR")


def _usable(kind: str, values: pd.Series, country_code: str | None) -> pd.Series:
    """Return contacts normalised for export (missing where unusable)."""
    if kind == "email":
        emails: pd.Series = values.map(normalise_email)
        return emails
    phones: pd.Series = values.map(lambda v: e164(v, country_code))
    return phones


def _pick(pairs: pd.DataFrame, kind: str, country_code: str | None) -> tuple[pd.Series, set[str]]:
    """Return each key's contact, and the keys left without one for lack of a country code.

    A key's contact is the usable one on the most lines. ``pairs`` has ``k`` (the matching
    key), ``v`` (the value as written) and ``n`` (its lines).
    """
    pairs = pairs.assign(value=_usable(kind, pairs["v"], country_code))
    national: set[str] = set()
    if kind == "phone" and country_code is None:
        lacking = pairs["v"].map(needs_country_code).astype(bool)
        national = set(pairs.loc[lacking, "k"]) - set(pairs.loc[pairs["value"].notna(), "k"])
    usable = pairs.dropna(subset=["value"]).groupby(["k", "value"], as_index=False)["n"].sum()
    usable = usable.sort_values(["k", "n", "value"], ascending=[True, False, True])
    several = usable["k"][usable["k"].duplicated()].nunique()
    if several:
        logger.warning(
            "note     %s customer(s) have more than one %s in the order lines: the one on "
            "the most lines is used",
            f"{several:,}",
            kind,
        )
    chosen = usable.drop_duplicates("k").set_index("k")["value"]
    return chosen, national


def contacts_from_orders(
    path: Path,
    *,
    email_col: str | None = None,
    phone_col: str | None = None,
    customer_col: str | None = None,
    country_code: str | None = None,
) -> tuple[dict[str, pd.Series], set[str], bool]:
    """Read each customer's email and phone from order lines.

    Parameters
    ----------
    path : Path
        Order lines in any format custseg reads.
    email_col, phone_col : str, optional
        The contact columns (at least one).
    customer_col : str, optional
        The customer column (default: recognised as custseg run does).
    country_code : str, optional
        For phone numbers written without one (see :func:`custseg.exports.e164`).

    Returns
    -------
    tuple
        (kind -> Series of the normalised contact by matching key, the keys whose only
        numbers lack a country code, whether keys are matched case-insensitively).

    Raises
    ------
    UserError
        If the file cannot be read or a column is not found.
    """
    import duckdb

    wanted = {k: v for k, v in (("email", email_col), ("phone", phone_col)) if v is not None}
    con = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="custseg-export-") as work:
            found, types = _register(con, path, customer_col, wanted, Path(work))
            key = _text_sql(found.customer, types.get(found.customer, "VARCHAR"))
            result: dict[str, pd.Series] = {}
            national: set[str] = set()
            for kind, column in found.contacts.items():
                value = _text_sql(column, types.get(column, "VARCHAR"))
                pairs = con.execute(
                    f"SELECT k, v, count(*) AS n FROM (SELECT {key} AS k, {value} AS v "
                    f"FROM {_ORDERS}) WHERE k IS NOT NULL AND v IS NOT NULL GROUP BY k, v"
                ).df()
                pairs["k"] = _match_key(pairs["k"], found.fold)
                result[kind], lacking = _pick(pairs, kind, country_code)
                national |= lacking
    except duckdb.Error as exc:
        from custseg.errors import first_line

        raise UserError(f"{path}: cannot be read ({first_line(exc)}).") from exc
    finally:
        con.close()
    logger.info(
        "contacts %s read from %s (customer column %r)",
        " and ".join(f"{k}s in {c!r}" for k, c in found.contacts.items()),
        path,
        found.customer,
    )
    return result, national, found.fold


# --- the export ----------------------------------------------------------------------------


def _contacts_from_ids(
    customers: pd.DataFrame, run_dir: Path, country_code: str | None, required: bool = True
) -> tuple[pd.DataFrame, list[str], int]:
    """Use the customer ids as contacts; refuse ids that are neither emails nor phones.

    For the plain CSV (``required`` False) such ids are kept without a contact, and said.
    """
    ids = customers["customer_id"]
    emails = ids.map(normalise_email)
    phone_like = ids.map(is_phone).astype(bool) & emails.isna()
    others = ~(emails.notna() | phone_like)
    if others.any():
        count = f"{int(others.sum()):,} of {len(ids):,}, such as {ids[others].iloc[0]!r}"
        if not required:
            logger.warning(
                "export   %s's customer ids are not contacts (%s): the plain CSV has no email "
                "or phone for them; give --orders FILE with --email-col or --phone-col",
                run_dir,
                count,
            )
        else:
            raise UserError(
                f"{run_dir}'s customer ids are neither emails nor phone numbers ({count}): "
                "give --orders FILE with --email-col or --phone-col."
            )
    phones = ids.where(phone_like).map(lambda v: e164(v, country_code), na_action="ignore")
    national = 0
    if country_code is None:
        national = int((phone_like & phones.isna() & ids.map(needs_country_code)).sum())
    kinds = [k for k, found in (("email", emails.notna()), ("phone", phone_like)) if found.any()]
    return customers.assign(email=emails, phone=phones), kinds, national


def export_audiences(
    run_dir: Path,
    fmt: str = "csv",
    *,
    personas: Sequence[str] = (),
    hashed: bool = False,
    orders: Path | None = None,
    email_col: str | None = None,
    phone_col: str | None = None,
    customer_col: str | None = None,
    country_code: str | None = None,
) -> ExportResult:
    """Lay out a run's personas as audience files of ``fmt``, one per persona.

    Parameters
    ----------
    run_dir : Path
        The output folder of ``custseg run`` (or ``custseg score``).
    fmt : str
        ``csv``, ``klaviyo``, ``google`` or ``meta`` (see :mod:`custseg.exports`).
    personas : sequence of str
        The personas to export (default: every one).
    hashed : bool
        SHA-256 of the normalised contacts (google and meta only); no raw email or phone
        is then written (Meta's ``extern_id`` is left out when ids look like contacts).
    orders : Path, optional
        Order lines holding the contacts, with ``email_col`` and/or ``phone_col``; without
        them the customer ids must be emails or phone numbers.
    email_col, phone_col, customer_col : str, optional
        Columns of ``orders``.
    country_code : str, optional
        Country code for phone numbers written without one.

    Returns
    -------
    ExportResult
        The files to write and the log.

    Raises
    ------
    UserError
        For options that do not go together, a missing run or column, or customer ids that
        are no contacts when no contact column is given.
    """
    code = check_options(
        fmt,
        hashed=hashed,
        orders=orders,
        email_col=email_col,
        phone_col=phone_col,
        customer_col=customer_col,
        country_code=country_code,
    )
    customers = read_customers(run_dir)
    chosen = _chosen_personas(customers, personas, run_dir)
    customers = customers[customers["persona"].isin(chosen)].reset_index(drop=True)
    if orders is None:
        customers, kinds, national = _contacts_from_ids(
            customers, run_dir, code, required=fmt != "csv"
        )
        source: dict[str, Any] = {"from": "customer ids"}
    else:
        found, lacking, fold = contacts_from_orders(
            orders,
            email_col=email_col,
            phone_col=phone_col,
            customer_col=customer_col,
            country_code=code,
        )
        keys = _match_key(customers["customer_id"], fold)
        kinds = [k for k in CONTACTS if k in found]
        customers = customers.assign(
            **{k: keys.map(found[k]) if k in found else None for k in CONTACTS}
        )
        national = int((keys.isin(lacking) & customers["phone"].isna()).sum())
        source = {"from": str(orders), "email_col": email_col, "phone_col": phone_col}
    if national:
        logger.warning(
            "note     %s customer(s) have a phone number without a country code (no + or 00), "
            "left out: give --default-country-code (e.g. 44)",
            f"{national:,}",
        )
    # A hashed file never holds a raw contact: not even as Meta's extern_id.
    with_id = not hashed or not any(is_email(v) or is_phone(v) for v in customers["customer_id"])
    result = ExportResult(format=fmt, hashed=hashed)
    counts: dict[str, dict[str, Any]] = {}
    for persona in chosen:
        group = customers[customers["persona"] == persona]
        table = audience_table(group, fmt, kinds, hashed=hashed, with_id=with_id)
        name = audience_name(persona)
        stem, n = name.removesuffix(".csv"), 2
        while name in result.files:  # two personas of one file name: never one over another
            name, n = f"{stem}-{n}.csv", n + 1
        result.files[name] = table
        missing = int((group["email"].isna() & group["phone"].isna()).sum())
        counts[name] = {"persona": persona, "customers": len(table), "without_contact": missing}
        left = " left out" if fmt != "csv" else ""
        logger.info(
            "export   %s: %s customer(s); %s without a usable contact%s",
            name,
            f"{len(table):,}",
            f"{missing:,}",
            left,
        )
    result.log = {
        "format": fmt,
        "hashed": hashed,
        "run_dir": str(run_dir),
        "contacts": {**source, "kinds": kinds, "default_country_code": code},
        "no_country_code": national,
        "files": counts,
    }
    return result


def write_exports(result: ExportResult, out_dir: Path) -> list[Path]:
    """Write the audience files (``audiences/<persona>.csv``) and ``export_log.json``.

    The tools' files are written as the platforms read them, not through the spreadsheet
    formula guard (a phone stays ``+44...``); the plain CSV, meant for a spreadsheet, is
    guarded as every custseg CSV. Every file in the folder is replaced at once.

    Parameters
    ----------
    result : ExportResult
        What :func:`export_audiences` returned.
    out_dir : Path
        The output folder (created if needed).

    Returns
    -------
    list of Path
        The files written.
    """
    with staged_folder(out_dir, "--out") as stage:
        folder = stage / "audiences"
        folder.mkdir()
        # The plain CSV is opened in spreadsheets: its cells get the formula guard (a
        # phone reads '+44...); the tools' files keep their own format.
        plain = result.format == "csv"
        for name, table in result.files.items():
            write_csv(table, folder / name, safe=plain)
        write_json(result.log, stage / "export_log.json")
    return [out_dir / "audiences" / name for name in result.files] + [out_dir / "export_log.json"]
