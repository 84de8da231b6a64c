"""``custseg export``: the command line of :mod:`custseg.commands.export`.

Importing this module adds the command to :data:`custseg.cli.app` (``custseg.cli`` imports
it once ``app`` is defined). Nothing heavy is imported until the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custseg.cli import app
from custseg.cli.console import log_outputs, out, setup_logging, user_errors
from custseg.cli.options import ForceOption, QuietSummaryOption

__all__ = ["export"]

Opt = typer.Option


@app.command()
def export(
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR", help="A run's output folder (its customers.csv is exported)."
        ),
    ] = Path("data/processed"),
    fmt: Annotated[
        str,
        Opt(
            "--format",
            "-f",
            metavar="FORMAT",
            help="csv (plain), klaviyo (list import), google (Customer Match) or meta "
            "(custom audience customer list).",
        ),
    ] = "csv",
    personas: Annotated[
        list[str] | None,
        Opt(
            "--persona",
            "-p",
            metavar="NAME",
            help="Export only this persona (give it again for more); default: every persona.",
        ),
    ] = None,
    hashed: Annotated[
        bool,
        Opt(
            "--hash",
            help="Write the SHA-256 of the normalised emails and phone numbers, as Google "
            "and Meta specify; no raw contact is written (google and meta only).",
        ),
    ] = False,
    orders: Annotated[
        Path | None,
        Opt(
            "--orders",
            metavar="FILE",
            help="Order lines holding the contacts (any format custseg reads), with "
            "--email-col and/or --phone-col; without it the customer ids must be emails or "
            "phone numbers.",
        ),
    ] = None,
    email_col: Annotated[
        str | None, Opt("--email-col", metavar="NAME", help="The email column of --orders.")
    ] = None,
    phone_col: Annotated[
        str | None, Opt("--phone-col", metavar="NAME", help="The phone column of --orders.")
    ] = None,
    customer_col: Annotated[
        str | None,
        Opt(
            "--customer-col",
            metavar="NAME",
            help="The customer column of --orders (default: recognised as custseg run does).",
        ),
    ] = None,
    country_code: Annotated[
        str | None,
        Opt(
            "--default-country-code",
            metavar="CODE",
            help="Country code for phone numbers written without one (no + or 00), e.g. 44; "
            "without it such numbers are left out.",
        ),
    ] = None,
    out_dir: Annotated[Path, Opt("--out", "-o", help="Output folder.")] = Path("data/exports"),
    force: ForceOption = False,
    quiet: QuietSummaryOption = False,
) -> None:
    """Write a run's personas as audience files for Klaviyo, Google Ads, Meta or plain CSV."""
    setup_logging(quiet)
    from custseg.commands.export import check_options, export_audiences, write_exports
    from custseg.io.outputs import forcing, writable
    from custseg.io.writers import check_out_dir

    fmt = fmt.strip().lower()
    run_dir, out_dir = run_dir.expanduser(), out_dir.expanduser()
    orders = orders.expanduser() if orders is not None else None
    with user_errors(memory_option=False):
        columns = {"email_col": email_col, "phone_col": phone_col, "customer_col": customer_col}
        check_options(fmt, hashed=hashed, orders=orders, country_code=country_code, **columns)
        for source in (run_dir, orders):
            if source is not None:
                check_out_dir(source, out_dir)  # the folder read is not the folder written
        if out_dir.is_dir():
            with forcing(force):
                writable(out_dir, "--out")
        result = export_audiences(
            run_dir,
            fmt,
            personas=personas or (),
            hashed=hashed,
            orders=orders,
            country_code=country_code,
            **columns,
        )
        with forcing(force):
            written = write_exports(result, out_dir)
        log_outputs(written, out_dir)
    customers = sum(len(t) for t in result.files.values())
    kind = f"{fmt}, hashed" if hashed else fmt
    out.print(
        f"{len(result.files)} audience file(s) ({kind}) with {customers:,} customer(s) in "
        f"{out_dir / 'audiences'}.",
        soft_wrap=True,
    )
