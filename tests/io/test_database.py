"""Order lines read from a database (PostgreSQL, SQLite) as from a file, passwords never shown."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg.cli import app
from custseg.errors import UserError
from custseg.io.database import DatabaseSource, redact, source_of
from tests.postgres import PASSWORD

runner = CliRunner()

#: Outputs that record where the input came from (and when and how fast the run was).
PROVENANCE = {"data_quality.json", "model.json", "run_log.json", "report.html"}


def _run(*args: str) -> object:
    return runner.invoke(app, list(args))


def _same_outputs(a: Path, b: Path) -> None:
    """Every output equal, except the fields that record where the input came from."""
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    for name in files:
        if name not in PROVENANCE:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    qa, qb = (json.loads((d / "data_quality.json").read_text()) for d in (a, b))
    for q in (qa, qb):
        q["input"].pop("path"), q["input"].pop("sha256")
    assert qa == qb
    ma, mb = (json.loads((d / "model.json").read_text()) for d in (a, b))
    for m in (ma, mb):
        m["settings"]["columns"].pop("table"), m["settings"]["columns"].pop("query")
    assert ma["centroids"] == mb["centroids"] and ma["personas"] == mb["personas"]


def test_a_password_is_never_shown() -> None:
    assert redact("postgresql://ann:pw%40x@db.example:5432/shop") == (
        "postgresql://ann@db.example:5432/shop"
    )
    assert redact("postgresql://ann@db/shop") == "postgresql://ann@db/shop"
    # A password as a query parameter, an IPv6 host, a port that is no number.
    assert redact("postgresql://ann@db/shop?sslmode=require&password=s3cret") == (
        "postgresql://ann@db/shop?sslmode=require"
    )
    assert redact("postgresql://ann:pw@[::1]:5432/shop") == "postgresql://ann@[::1]:5432/shop"
    assert redact("postgresql://ann:pw@db:port/shop") == "postgresql://ann@db:port/shop"
    source = DatabaseSource("postgresql://ann:hunter2@db/shop", table="sales.lines")
    assert source.shown == "postgresql://ann@db/shop (table sales.lines)"
    assert source.sql() == 'SELECT * FROM "sales"."lines"'
    with pytest.raises(UserError, match="give the order lines' table with --table NAME"):
        source_of("postgresql://ann:hunter2@db/shop", None, None)
    with pytest.raises(UserError) as both:
        source_of("postgresql://ann:hunter2@db/shop", "t", "SELECT 1")
    assert "hunter2" not in str(both.value)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The synthetic order lines as a Parquet file and as a SQLite table."""
    from custseg.synth import generate_orders

    folder = tmp_path_factory.mktemp("shop")
    lines, _ = generate_orders(300, 7)
    parquet = folder / "lines.parquet"
    lines.to_parquet(parquet, index=False)
    con = sqlite3.connect(folder / "shop.db")
    stored = lines.assign(InvoiceDate=lines["InvoiceDate"].astype(str))
    stored.to_sql("order_lines", con, index=False)
    con.close()
    return parquet, folder / "shop.db"


def test_a_sqlite_table_gives_the_outputs_of_the_file(
    shop: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parquet, db = shop
    monkeypatch.chdir(db.parent)
    assert _run("run", str(parquet), "--out", str(tmp_path / "file"), "-q").exit_code == 0
    result = _run("run", "sqlite:///shop.db", "--table", "order_lines", "--out",
                  str(tmp_path / "db"), "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    _same_outputs(tmp_path / "file", tmp_path / "db")
    quality = json.loads((tmp_path / "db" / "data_quality.json").read_text())
    assert quality["input"]["path"] == "sqlite:///shop.db (table order_lines)"
    # A query works as the table does; its rows are what is read.
    query = 'SELECT * FROM order_lines WHERE "CustomerID" IS NOT NULL'
    result = _run("cohorts", f"sqlite:///{db}", "--query", query, "--out",
                  str(tmp_path / "q"), "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    quality = json.loads((tmp_path / "q" / "run_log.json").read_text())
    assert quality["input_scans"] == 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["sqlite:///absent.db", "--table", "t"], "no such database file absent.db"),
        (["sqlite:///shop.db", "--table", "nope"], "sqlite:///shop.db (table nope): no such table"),
        (["sqlite:///shop.db"], "give the order lines' table with --table NAME"),
        (
            ["sqlite:///shop.db", "--query", 'SELECT "Quantity" FROM order_lines'],
            "sqlite:///shop.db (query): no customer column found",
        ),
        (
            ["sqlite:///shop.db", "--table", "order_lines", "--engine", "spark"],
            "--engine spark reads files, folders",
        ),
    ],
)
def test_database_mistakes_are_one_sentence(
    shop: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
    said: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(shop[1].parent)
    result = _run("run", *args, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert said in result.stderr
    assert "Traceback" not in result.output and "database-lines.parquet" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert errors == [result.stderr.strip().splitlines()[-1]]  # one sentence, the last line


@pytest.fixture(scope="module")
def loaded(postgres, real_parquet: Path):  # type: ignore[no-untyped-def]
    """The real workbook's lines as a PostgreSQL table (typed as a shop would keep them)."""
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.parquet as pq

    table = pq.read_table(real_parquet)
    with pg.connect(postgres.url(password=True)) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS order_lines")
        cur.adbc_ingest("order_lines", table, mode="create")
        conn.commit()
    return postgres


@pytest.mark.realdata
def test_the_real_data_from_postgresql_equals_the_file_run(
    loaded, real_parquet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    assert _run("run", str(real_parquet), "--out", str(tmp_path / "file"), "-q").exit_code == 0
    result = _run("run", loaded.url(), "--table", "order_lines", "--out",
                  str(tmp_path / "db"), "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    _same_outputs(tmp_path / "file", tmp_path / "db")
    quality = json.loads((tmp_path / "db" / "data_quality.json").read_text())
    assert (quality["rows_read"], quality["rows_kept"], quality["customers"]) == (
        541_909,
        397_884,
        4_338,
    )


def test_postgresql_mistakes_are_one_sentence_without_the_password(
    loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    wrong = loaded.url().replace("custseg_test@", "custseg_test:wrong-pw@")
    cases = [
        ([wrong, "--table", "order_lines"], "refused the password of custseg_test"),
        ([loaded.url() + "?password=wrong-pw", "--table", "order_lines"], "refused the password"),
        ([loaded.url(password=True), "--table", "nope"], "no such table"),
        (
            [loaded.url(password=True).replace(str(loaded.port), "1"), "--table", "t"],
            "cannot connect",
        ),
    ]
    for args, said in cases:
        result = _run("run", *args, "--out", str(tmp_path / "out"))
        assert result.exit_code == 2, result.output
        assert said in result.stderr, result.stderr
        assert PASSWORD not in result.output and "wrong-pw" not in result.output
        assert [line for line in result.stderr.splitlines() if line.startswith("error")] == [
            result.stderr.strip().splitlines()[-1]
        ]
    # A password in the URL is used, never written: not in any output.
    out = tmp_path / "ok"
    result = _run("run", loaded.url(password=True), "--table", "order_lines", "--out",
                  str(out), "--k", "3", "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    for path in out.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path.name
    assert PASSWORD not in result.output


def test_inspect_names_the_table_and_saves_it(
    shop: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    monkeypatch.chdir(shop[1].parent)
    saved = tmp_path / "shop.yml"
    result = _run("inspect", "sqlite:///shop.db", "--table", "order_lines", "--save", str(saved))
    assert result.exit_code == 0, result.output
    assert "sqlite:///shop.db (table order_lines)" in result.stdout
    assert yaml.safe_load(saved.read_text())["columns"]["table"] == "order_lines"
