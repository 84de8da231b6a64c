"""Typer's --help, corrected: flags without a type, plain argument names, names whole."""

from typer.testing import CliRunner


def test_help_shows_flags_without_a_type_and_plain_argument_names() -> None:
    from custseg.cli import app

    runner = CliRunner()
    for command, usage in (
        ("run", "custseg run [OPTIONS] [INPUT]"),
        ("score", "custseg score [OPTIONS] ORDERS"),
        ("report", "custseg report [OPTIONS] [RUN_DIR]"),
    ):
        text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "150"}).output
        assert usage in text, text
        assert "<bool>" not in text and "{" not in text.split("\n", 3)[1]
        assert "[[" not in text
    text = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "pip install 'custseg[spark]'" in text


def test_help_in_80_columns_keeps_every_option_name_whole() -> None:
    from custseg.cli import app

    for command in ("run", "score", "migrate", "clv", "cohorts", "export"):
        text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80"}).output
        assert max(len(line) for line in text.splitlines()) <= 80
        assert "…" not in text, text
    # The longest names continue on the next line of their column, letters all there.
    text = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "80"}).output
    rows = [line for line in text.splitlines() if "--drop-non-positive-" in line]
    assert len(rows) == 1, text
    below = text.splitlines()[text.splitlines().index(rows[0]) + 1]
    assert below.split()[1:3] == ["rice", "price"], below
