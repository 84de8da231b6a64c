"""The documentation: command pages made from the code, a strict site, examples that run."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT.parent / "shared" / "data" / "online_retail.xlsx"


def _generator():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "docs"))
    import gen_commands

    return gen_commands


def test_command_pages_are_what_the_command_line_declares() -> None:
    pages = _generator().pages()
    assert sorted(pages) == sorted(p.name for p in (ROOT / "docs" / "commands").glob("*.md"))
    for name, text in pages.items():
        assert (ROOT / "docs" / "commands" / name).read_text() == text, (
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


def _doc_commands() -> list[tuple[str, str]]:
    """Every `custseg ...` line of a bash block in the README and the docs, with its file."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for block in re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.DOTALL):
            for line in block.splitlines():
                line = line.split("  #")[0].strip()
                if line.startswith("custseg "):
                    found.append((path.name, line))
    return found


def test_every_documented_command_line_parses() -> None:
    # Each documented command line names a command and options that exist, with values of
    # the right type: parsed by the command line itself, without running it.
    import click
    import typer

    from custseg.cli import app

    group = typer.main.get_command(app)
    lines = _doc_commands()
    assert len(lines) > 20
    for where, line in lines:
        words = shlex.split(line)[1:]
        command = group.commands.get(words[0])  # type: ignore[attr-defined]
        assert command is not None, (where, line)
        try:
            command.make_context(words[0], words[1:], resilient_parsing=False)
        except click.exceptions.Exit:
            pass
        except click.UsageError as exc:
            pytest.fail(f"{where}: {line}: {exc.format_message()}")


@pytest.mark.e2e
@pytest.mark.realdata
def test_every_example_runs(tmp_path: Path) -> None:
    # The examples of docs/examples.yml (also the README's), in order, in a scratch project
    # holding what `make run` leaves: the workbook in data/raw and conf/.
    if not WORKBOOK.is_file():
        pytest.skip("the real workbook is not here")
    (tmp_path / "data" / "raw").mkdir(parents=True)
    os.symlink(WORKBOOK, tmp_path / "data" / "raw" / "online-retail.xlsx")
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    custseg = Path(sys.executable).parent / "custseg"
    examples = yaml.safe_load((ROOT / "docs" / "examples.yml").read_text())
    readme = (ROOT / "README.md").read_text()
    ran = 0
    for command, items in examples.items():
        for example in items:
            assert example["run"] in readme, example["run"]
            if example.get("network"):
                continue
            words = shlex.split(example["run"])
            assert words[:2] == ["custseg", command]
            done = subprocess.run(
                [str(custseg), *words[1:]], cwd=tmp_path, env=env, capture_output=True,
                text=True, timeout=600,
            )  # fmt: skip
            assert done.returncode == 0, (example["run"], done.stderr[-2000:])
            ran += 1
    assert ran >= 11
    assert (tmp_path / "data" / "plan" / "plan.csv").is_file()
    assert (tmp_path / "reports" / "figures").is_dir()
