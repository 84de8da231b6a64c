"""custseg export end to end: a tiny run, then its audiences in each tool's format."""

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg.cli import app
from tests.conftest import TINY_CSV

runner = CliRunner()

#: Contacts for tests/conftest.py's TINY_CSV, by customer id (4 and the lines without a
#: customer are dropped by the cleaning; 2's number has no country code).
CONTACTS = {
    "1": (" Ann@Example.com ", "+44 7700 900123"),
    "2": ("", "07700 900456"),
    "3": ("cy@example.org", "0033 6 12 34 56 78"),
    "4": ("dee@example.net", "+447700900999"),
    "": ("nobody@example.com", ""),
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """TINY_CSV with Email and Phone columns, and the folder custseg run wrote from it."""
    folder = tmp_path_factory.mktemp("export")
    lines = TINY_CSV.splitlines()
    rows = [lines[0] + ",Email,Phone"]
    for line in lines[1:]:
        email, phone = CONTACTS[line.split(",")[6]]
        rows.append(f"{line},{email},{phone}")
    orders = folder / "orders.csv"
    orders.write_text("\n".join(rows) + "\n", encoding="utf-8")
    run = folder / "run"
    args = ["run", str(orders), "--out", str(run), "--k", "2", "--as-of", "2011-01-12", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return orders, run


def _export(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["export", *args])


def test_the_run_has_two_personas(tiny_run: tuple[Path, Path]) -> None:
    _, run = tiny_run
    lines = (run / "customers.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]
    assert sorted({line.split(",")[5] for line in lines[1:]}) == ["Champions", "Lost"]


def test_google_hashed_from_the_order_lines(tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    orders, run = tiny_run
    out = tmp_path / "exports"
    result = _export(
        str(run),
        "--format",
        "google",
        "--hash",
        "--orders",
        str(orders),
        "--email-col",
        "Email",
        "--phone-col",
        "phone",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    sha = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
    assert (out / "audiences" / "champions.csv").read_text() == (
        f"Email,Phone\n{sha('ann@example.com')},{sha('+447700900123')}\n"
        f"{sha('cy@example.org')},{sha('+33612345678')}\n"
    )
    assert (out / "audiences" / "lost.csv").read_text() == "Email,Phone\n"
    raw = {value.strip() for pair in CONTACTS.values() for value in pair if value.strip()}
    raw |= {"ann@example.com", "+447700900123", "447700900123", "+447700900456", "7700900456"}
    raw |= {"+33612345678", "33612345678", "@", "example"}
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 4  # two audiences, export_log.json, custseg's manifest
    for path in files:
        text = path.read_text()
        assert not [value for value in raw if value in text], path
    assert "export   champions.csv: 2 customer(s); 0 without a usable contact left out" in (
        result.stderr
    )
    assert "export   lost.csv: 0 customer(s); 1 without a usable contact left out" in (
        result.stderr
    )
    assert "note     1 customer(s) have a phone number without a country code" in result.stderr
    # Where each file is, as the folder holds it (audiences/ inside --out).
    assert "outputs audiences/champions.csv, audiences/lost.csv, export_log.json in " in " ".join(
        result.stderr.split()
    )
    assert result.stdout.strip() == (
        f"2 audience file(s) (google, hashed) with 2 customer(s) in {out / 'audiences'}."
    )


def test_klaviyo_for_one_persona(tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    orders, run = tiny_run
    out = tmp_path / "klaviyo"
    result = _export(
        str(run),
        "-f",
        "klaviyo",
        "--persona",
        "lost",
        "--orders",
        str(orders),
        "--email-col",
        "Email",
        "--phone-col",
        "Phone",
        "--default-country-code",
        "+44",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in (out / "audiences").iterdir()] == ["lost.csv"]
    assert (out / "audiences" / "lost.csv").read_text() == (
        "Email,Phone Number,External ID,custseg persona\n,+447700900456,2,Lost\n"
    )


def test_the_plain_csv_keeps_customers_without_contacts(
    tiny_run: tuple[Path, Path], tmp_path: Path
) -> None:
    orders, run = tiny_run
    out = tmp_path / "csv"
    args = [str(run), "--orders", str(orders), "--email-col", "Email", "--out", str(out)]
    result = _export(*args, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (out / "audiences" / "lost.csv").read_text() == (
        # The rule-based segment beside the persona: each customer's own reading.
        "customer_id,persona,rfm_segment,email,phone,recency_days,frequency,monetary\n"
        "2,Lost,Lost,,,6,1,7.5\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "klaviyo", "--hash"], "Klaviyo imports plain values"),
        (
            ["--format", "google"],
            "run's customer ids are neither emails nor phone numbers (3 of 3, such as '1'): "
            "give --orders FILE with --email-col or --phone-col.",
        ),
        (["--persona", "Loyal"], "--persona 'Loyal' is not a persona of"),
        (["--orders", "{orders}", "--email-col", "Mail"], "column 'Mail' (--email-col) not found"),
        (["--out", "{run}"], "holds the input"),
    ],
)
def test_user_errors_end_in_one_line_and_exit_2(
    tiny_run: tuple[Path, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    orders, run = tiny_run
    args = [a.format(orders=orders, run=run) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    result = _export(str(run), *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert result.stderr.startswith("error: ") and not (tmp_path / "out").exists()


def test_a_folder_of_the_users_needs_force(tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    orders, run = tiny_run
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = [str(run), "--orders", str(orders), "--email-col", "Email", "--out", str(out)]
    assert _export(*args).exit_code == 2
    result = _export(*args, "--force")
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "audiences" / "champions.csv").is_file()


def test_the_help_lists_the_formats() -> None:
    result = runner.invoke(app, ["export", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for word in ("--format", "klaviyo", "Customer Match", "--hash", "--default-country-code"):
        assert word in result.stdout


def test_a_plain_csv_of_ids_without_contacts_is_written_and_said(
    tiny_run: tuple[Path, Path], tmp_path: Path
) -> None:
    # The plain CSV needs no contact: ids that are not emails or phones stay, and a warning
    # says the file has none (the tools' formats refuse them, above).
    _, run = tiny_run
    out = tmp_path / "plain"
    result = _export(str(run), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "customer ids are not contacts (3 of 3, such as '1')" in result.stderr
    lost = (out / "audiences" / "lost.csv").read_text().splitlines()
    assert lost[0] == (
        "customer_id,persona,rfm_segment,email,phone,recency_days,frequency,monetary"
    )
    assert lost[1].startswith("2,Lost,Lost,,,")


def test_running_out_of_memory_names_no_option_the_command_lacks(
    tiny_run: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # export takes no --memory-limit: the advice is the machine's, not an option it lacks.
    import duckdb

    import custseg.commands.export

    def full(*args: object, **kwargs: object) -> None:
        raise duckdb.OutOfMemoryException("Out of Memory Error: (19.1 GiB/19.1 GiB used)")

    monkeypatch.setattr(custseg.commands.export, "export_audiences", full)
    _, run = tiny_run
    result = _export(str(run), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert said == (
        "error: the engine ran out of memory (19.1 GiB/19.1 GiB used); free some memory or "
        "run it on a larger machine."
    )
