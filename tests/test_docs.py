"""The documentation: command pages made from the code, a strict site, examples that run.

Every ``custseg ...`` line of a bash block in the README and in docs/ is an example, and
the tests run each one (README lines first, each distinct line once) in a scratch project
holding what `make run` leaves (the workbook in data/raw, conf/) and the files the examples
name, made here: the real workbook and its Parquet copy as ``../shared/data``, and shop
exports, plain order tables and a workbook written from the synthetic generator. A line
ending in ``# exit N`` must end with that status and an error its page shows. The Spark
lines run in the Spark tier; the download needs the network.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OUTPUT_PAGES = DOCS / "outputs"


def _generator():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(DOCS))
    import gen_commands

    return gen_commands


def test_command_pages_are_what_the_command_line_declares() -> None:
    pages = _generator().pages()
    assert sorted(pages) == sorted(p.name for p in (DOCS / "commands").glob("*.md"))
    for name, text in pages.items():
        assert (DOCS / "commands" / name).read_text() == text, (
            f"docs/commands/{name} is stale: run `make docs`"
        )
    assert "| `--with-clv` | off |" in pages["run.md"]


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "commands" / "clv" / "index.html").is_file()
    assert (tmp_path / "site" / "outputs" / "clv.csv" / "index.html").is_file()


# --- Output files: one page each ---------------------------------------------------------


def _output_page(name: str) -> Path:
    """Return the page of an output file: docs/outputs/<name>.md (figures share one)."""
    if name.endswith(".png"):
        return OUTPUT_PAGES / "figures.md"
    return OUTPUT_PAGES / f"{name.split('/')[0].lstrip('.')}.md"


def _package_outputs() -> set[str]:
    """Return every file name the commands write into a folder, as the package lists them."""
    from custseg.commands.clv import CLV_FILES
    from custseg.commands.cohorts import COHORT_FILES
    from custseg.commands.export import EXPORT_FILES
    from custseg.commands.migrate import MIGRATION_FILES
    from custseg.commands.run import OUTPUT_FILES
    from custseg.commands.score import SCORE_FILES
    from custseg.io import outputs

    # plan.csv: `custseg plan` has no list of its one file (the examples check it too).
    return {
        *outputs.KNOWN_OUTPUTS, *outputs._FIGURES, outputs.MANIFEST, *OUTPUT_FILES,
        *CLV_FILES, *MIGRATION_FILES, *SCORE_FILES, *COHORT_FILES, *EXPORT_FILES, "plan.csv",
    }  # fmt: skip


def _nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for value in node.values() for p in _nav_pages(value)]
    if isinstance(node, list):
        return [p for value in node for p in _nav_pages(value)]
    return []


def test_every_output_file_has_a_page() -> None:
    # A new output without its page (and a link from the overview and the site's menu)
    # fails here, before any command runs.
    overview = (DOCS / "outputs.md").read_text()
    nav = _nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    for name in sorted(_package_outputs()):
        page = _output_page(name)
        assert page.is_file(), f"{name} has no page: write {page.relative_to(ROOT)}"
        assert f"`{name}" in page.read_text(), f"{page.name} does not name {name}"
    for page in sorted(OUTPUT_PAGES.glob("*.md")):
        assert f"](outputs/{page.name})" in overview, f"docs/outputs.md does not link {page.name}"
        assert f"outputs/{page.name}" in nav, f"mkdocs.yml's nav lacks outputs/{page.name}"
        assert page.read_text().startswith("# "), page.name


def _columns(path: Path) -> list[str]:
    """Return the columns of a CSV or Parquet output, or the top-level keys of a JSON one."""
    if path.suffix == ".csv":
        return path.read_text(encoding="utf-8").partition("\n")[0].split(",")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data) if isinstance(data, dict) else []
    return []


def _check_outputs_documented(project: Path) -> int:
    """Check every file the examples wrote (their manifests list them) against its page.

    The page must exist and name each column (CSV, Parquet) or top-level key (JSON) of the
    file as it was written. Returns the number of files checked.
    """
    from custseg.io.outputs import MANIFEST

    checked = 0
    for manifest in sorted(project.rglob(MANIFEST)):
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        for name in [MANIFEST, *files]:
            page = _output_page(name)
            where = manifest.parent.relative_to(project) / name
            assert page.is_file(), f"{where} has no page: write {page.relative_to(ROOT)}"
            text = page.read_text()
            assert f"`{Path(name).name}`" in text or name.startswith("audiences/"), where
            missing = [c for c in _columns(manifest.parent / name) if f"`{c}`" not in text]
            assert not missing, f"{page.relative_to(ROOT)} does not describe {missing} of {where}"
            checked += 1
    return checked


# --- Command examples ---------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One documented command line."""

    where: str
    line: str
    exit: int

    @property
    def words(self) -> list[str]:
        return shlex.split(self.line)

    @property
    def needs(self) -> str:
        """Return what the line needs beyond this machine: "spark", "network" or ""."""
        words = self.words
        if "--engine=spark" in words or ("--engine", "spark") in itertools.pairwise(words):
            return "spark"
        if words[1] == "download" and not any(w.startswith("--url") for w in words):
            return "network"
        if any(w.startswith("postgresql://") for w in words):
            return "postgres"
        return ""


def _examples() -> list[Example]:
    """Every `custseg ...` line of a bash block in the README and the docs, once, in order."""
    found: dict[str, Example] = {}
    for path in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        for block in re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.DOTALL):
            for text in block.splitlines():
                line, _, comment = text.partition("  #")
                line = line.strip()
                if line.startswith("custseg ") and line not in found:
                    status = re.match(r"\s*exit (\d+)\b", comment)
                    where = str(path.relative_to(ROOT))
                    found[line] = Example(where, line, int(status[1]) if status else 0)
    return list(found.values())


def test_every_documented_command_line_parses() -> None:
    # Each documented command line names a command and options that exist, with values of
    # the right type: parsed by the command line itself, without running it.
    import click
    import typer

    from custseg.cli import app

    group = typer.main.get_command(app)
    examples = _examples()
    assert len(examples) > 20
    for example in examples:
        words = example.words[1:]
        command = group.commands.get(words[0])  # type: ignore[attr-defined]
        assert command is not None, example
        try:
            command.make_context(words[0], words[1:], resilient_parsing=False)
        except click.exceptions.Exit:
            pass
        except click.UsageError as exc:
            pytest.fail(f"{example.where}: {example.line}: {exc.format_message()}")


def test_the_readme_shows_every_command_example() -> None:
    # docs/examples.yml holds the examples of the command pages; the README shows them all.
    readme = (ROOT / "README.md").read_text()
    examples = yaml.safe_load((DOCS / "examples.yml").read_text())
    for command, items in examples.items():
        for example in items:
            assert example["run"] in readme, example["run"]
            assert shlex.split(example["run"])[:2] == ["custseg", command]
            assert bool(example.get("network")) == (Example("", example["run"], 0).needs != "")


def _synthetic_lines(folder: Path, customers: int) -> pd.DataFrame:
    """Return clean synthetic order lines (Online Retail's columns) to build exports from."""
    from custseg.synth import write_synthetic

    write_synthetic(folder / "lines.parquet", customers=customers, seed=5)
    lines = pd.read_parquet(folder / "lines.parquet")
    keep = lines["CustomerID"].notna() & (lines["Quantity"] > 0)
    keep &= ~lines["InvoiceNo"].str.startswith("C")
    lines = lines[keep].astype({"CustomerID": "int64", "StockCode": str, "Description": str})
    return lines.astype({"Country": str}).reset_index(drop=True)


def _write_inputs(project: Path, scratch: Path) -> None:
    """Write the files the examples name, from 300 synthetic customers.

    A Shopify and a WooCommerce export in their platforms' columns (the headers of
    tests/io/exports.py), a plain order table (client, day, total), a semicolon CSV with
    decimal commas, cp1252 text and day-first dates, a two-sheet Online Retail II workbook,
    and new order lines for a saved lifetime-value model.
    """
    from custseg.synth import write_synthetic
    from tests.io import ONLINE_RETAIL_II
    from tests.io.exports import SHOPIFY, WOOCOMMERCE
    from tests.xlsx import write_xlsx

    lines = _synthetic_lines(scratch, 300)
    first = ~lines["InvoiceNo"].duplicated()
    stamp = lines["InvoiceDate"].dt.strftime("%Y-%m-%d %H:%M:%S")
    amount = (lines["Quantity"] * lines["UnitPrice"]).round(2)
    total = amount.groupby(lines["InvoiceNo"]).transform("sum").round(2)
    email = "c" + lines["CustomerID"].astype(str) + "@example.com"

    # Shopify: order-level fields on an order's first line only, as Shopify writes them.
    shop = pd.DataFrame({c: "" for c in SHOPIFY.partition("\n")[0].split(",")}, index=lines.index)
    order = {
        "Email": email, "Financial Status": "paid", "Fulfillment Status": "fulfilled",
        "Currency": "GBP", "Subtotal": total, "Shipping": 0, "Taxes": 0, "Total": total,
        "Discount Amount": 0, "Created at": stamp + " +0000", "Refunded Amount": 0,
        "Id": lines["InvoiceNo"],
    }  # fmt: skip
    for column, value in order.items():
        shop[column] = pd.Series(value, index=lines.index).where(first, "")
    shop["Name"] = "#" + lines["InvoiceNo"]
    shop["Lineitem quantity"] = lines["Quantity"]
    shop["Lineitem name"] = lines["Description"]
    shop["Lineitem price"] = lines["UnitPrice"]
    shop["Lineitem sku"] = lines["StockCode"]
    shop["Lineitem discount"] = 0
    shop.to_csv(project / "orders_export.csv", index=False)

    woo = pd.DataFrame({
        "order_id": lines["InvoiceNo"], "order_number": lines["InvoiceNo"], "order_date": stamp,
        "status": "completed", "shipping_total": 0, "tax_total": 0, "discount_total": 0,
        "order_total": total, "order_currency": "EUR", "customer_id": lines["CustomerID"],
        "customer_email": email, "item_name": lines["Description"],
        "item_quantity": lines["Quantity"], "item_subtotal": amount, "item_total": amount,
        "item_refunded": 0,
    })  # fmt: skip
    woo[WOOCOMMERCE.partition("\n")[0].split(",")].to_csv(project / "woo-orders.csv", index=False)

    orders = (
        lines.assign(amount=amount)
        .groupby("InvoiceNo")
        .agg(client=("CustomerID", "first"), day=("InvoiceDate", "first"), total=("amount", "sum"))
    )
    orders["day"] = orders["day"].dt.strftime("%Y-%m-%d")
    orders.round({"total": 2}).to_csv(project / "orders.csv", index=False)

    export = lines.assign(
        InvoiceDate=lines["InvoiceDate"].dt.strftime("%d/%m/%Y %H:%M"),
        Country=lines["Country"].replace({"France": "Réunion", "Germany": "Österreich"}),
    )
    export.to_csv(project / "export.csv", sep=";", decimal=",", index=False, encoding="cp1252")

    rows = lines.astype({"InvoiceDate": object}).to_numpy().tolist()
    cut = pd.Timestamp("2011-01-01")
    write_xlsx(project / "online_retail_II.xlsx", {
        "Year 2009-2010": [ONLINE_RETAIL_II, *[r for r in rows if r[4] < cut]],
        "Year 2010-2011": [ONLINE_RETAIL_II, *[r for r in rows if r[4] >= cut]],
    })  # fmt: skip

    write_synthetic(project / "new-orders.csv", customers=200, seed=7)

    # A SQLite shop database (docs/database.md) and a suppression list of two customers.
    import sqlite3

    con = sqlite3.connect(project / "shop.db")
    lines.assign(InvoiceDate=stamp).to_sql("order_lines", con, index=False)
    con.close()
    (project / "objected.txt").write_text("12346\n12347\n")


def _project(tmp_path: Path, real_xlsx: Path, real_parquet: Path) -> tuple[Path, dict[str, str]]:
    """Lay out a scratch project and the files its examples read; return it and the env."""
    shared = tmp_path / "shared" / "data"
    shared.mkdir(parents=True)
    os.symlink(real_xlsx, shared / "online_retail.xlsx")
    os.symlink(real_parquet, shared / "online_retail.parquet")
    project = tmp_path / "main"
    (project / "data" / "raw").mkdir(parents=True)
    os.symlink(real_xlsx, project / "data" / "raw" / "online-retail.xlsx")
    os.symlink(real_parquet, project / "orders.parquet")
    shutil.copytree(ROOT / "conf", project / "conf")
    (tmp_path / "scratch").mkdir()
    _write_inputs(project, tmp_path / "scratch")
    return project, {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}


def _run(example: Example, project: Path, env: dict[str, str], url: str | None = None) -> None:
    """Run one example as written; check its exit status (and a failure's documented error).

    ``url`` replaces the example's ``postgresql://`` URL (the test server's).
    """
    custseg = Path(sys.executable).parent / "custseg"
    words = [url if url and w.startswith("postgresql://") else w for w in example.words[1:]]
    done = subprocess.run(
        [str(custseg), *words], cwd=project, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    said = f"{example.where}: {example.line}\n{done.stderr[-3000:]}"
    assert done.returncode == example.exit, said
    assert "Traceback" not in done.stderr, said
    if example.exit:
        error = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        assert error, said
        assert error[-1] in (ROOT / example.where).read_text(), (
            f"{example.where} does not show the error its example gives: {error[-1]}"
        )


@pytest.mark.e2e
@pytest.mark.realdata
def test_every_docs_example_runs(tmp_path: Path, real_xlsx: Path, real_parquet: Path) -> None:
    # Every example that needs neither Spark nor the network, in order, in one scratch
    # project: later lines read what earlier ones wrote (data/processed/model.json,
    # data/clv). Then every file they wrote is checked against its page in docs/outputs/.
    project, env = _project(tmp_path, real_xlsx, real_parquet)
    examples = [e for e in _examples() if not e.needs]
    assert len(examples) >= 25
    for example in examples:
        _run(example, project, env)
    assert (project / "data" / "plan" / "plan.csv").is_file()
    assert (project / "reports" / "figures" / "customers.png").is_file()
    assert _check_outputs_documented(project) >= 50


@pytest.mark.e2e
@pytest.mark.realdata
def test_the_database_examples_run(
    postgres, tmp_path: Path, real_xlsx: Path, real_parquet: Path
) -> None:  # type: ignore[no-untyped-def]
    # The postgresql:// lines, against a real server holding the real data as order_lines.
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.parquet as pq

    from tests.postgres import PASSWORD

    examples = [e for e in _examples() if e.needs == "postgres"]
    assert examples
    with pg.connect(postgres.url(password=True)) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS order_lines")
        cur.adbc_ingest("order_lines", pq.read_table(real_parquet), mode="create")
        conn.commit()
    project, env = _project(tmp_path, real_xlsx, real_parquet)
    for example in examples:
        _run(example, project, {**env, "PGPASSWORD": PASSWORD}, url=postgres.url())
    quality = json.loads(
        (project / "data" / "processed" / "postgres" / "data_quality.json").read_text()
    )
    assert quality["customers"] == 4_338 and quality["input"]["path"].endswith(
        "(table order_lines)"
    )


@pytest.mark.spark
def test_the_spark_examples_run(tmp_path: Path) -> None:
    # The Spark lines, on a folder of two Parquet files of synthetic order lines.
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("PySpark is missing on CI (make test installs requirements-spark.txt)")
        pytest.skip("PySpark is absent (make install-spark)")
    examples = [e for e in _examples() if e.needs == "spark"]
    assert examples
    lines = _synthetic_lines(tmp_path, 300)
    (tmp_path / "data" / "orders").mkdir(parents=True)
    half = len(lines) // 2
    lines.iloc[:half].to_parquet(tmp_path / "data" / "orders" / "part-0.parquet", index=False)
    lines.iloc[half:].to_parquet(tmp_path / "data" / "orders" / "part-1.parquet", index=False)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for example in examples:
        _run(example, tmp_path, env)
    assert _check_outputs_documented(tmp_path) >= 10


@pytest.mark.e2e
def test_the_download_examples_run(tmp_path: Path) -> None:
    # `custseg download` fetches the UCI archive: run where the network reaches it.
    from custseg.download import UCI_URL

    examples = [e for e in _examples() if e.needs == "network"]
    assert examples
    host = urllib.parse.urlsplit(UCI_URL).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError as exc:
        pytest.skip(f"the network does not reach {host} ({exc})")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for example in examples:
        _run(example, tmp_path, env)
    assert (tmp_path / "data" / "raw" / "online-retail.xlsx").stat().st_size > 20 << 20
