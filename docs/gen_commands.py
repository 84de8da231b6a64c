"""Write docs/commands/<command>.md from the command line's own declarations.

Run: ``python docs/gen_commands.py`` (``make docs`` runs it). Each page has the command's
usage, its description and every option with its default and help, as ``--help`` gives
them, and the examples of docs/examples.yml; tests/test_docs.py fails when a page differs
from what this script writes, so the pages never drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import typer
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "commands"


def _default(param: click.Parameter) -> str:
    if getattr(param, "is_flag", False) and not getattr(param, "secondary_opts", None):
        return "off"
    value = param.default
    if value is None or value == "" or callable(value):
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value}`"


def _names(param: click.Parameter) -> str:
    if param.param_type_name == "argument":
        return f"`{(param.metavar or param.name or '').upper()}`"
    opts = [*param.opts, *getattr(param, "secondary_opts", [])]
    metavar = "" if getattr(param, "is_flag", False) else f" {param.metavar or ''}".rstrip()
    return ", ".join(f"`{o}{metavar if o.startswith('--') else ''}`" for o in opts)


def page(name: str, command: click.Command, examples: list[dict[str, str]]) -> str:
    """Return the markdown page of one command."""
    help_text = (command.help or "").replace("\\b\n", "").strip()
    first, _, rest = help_text.partition("\n")
    lines = [f"# custseg {name}", "", first.strip(), ""]
    if rest.strip():
        lines += [rest.strip(), ""]
    ctx = click.Context(command, info_name=f"custseg {name}")
    lines += ["```text", " ".join(command.collect_usage_pieces(ctx)).join(
        [f"custseg {name} ", ""]), "```", ""]  # fmt: skip
    lines += ["| option | default | meaning |", "|---|---|---|"]
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        meaning = " ".join(str(getattr(param, "help", "") or "").split()).replace("|", "\\|")
        meaning = meaning.replace("\\[", "[")
        lines.append(f"| {_names(param)} | {_default(param)} | {meaning} |")
    lines += ["", "Every option's YAML key and the options shared by several commands: "
              "[Every option](../options.md)."]  # fmt: skip
    if examples:
        lines += ["", "## Examples", ""]
        for example in examples:
            lines += [example["what"], "", "```bash", example["run"], "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def pages() -> dict[str, str]:
    """Return every command's page by file name."""
    sys.path.insert(0, str(ROOT / "src"))
    from custseg.cli import app

    group: Any = typer.main.get_command(app)
    examples = yaml.safe_load((ROOT / "docs" / "examples.yml").read_text(encoding="utf-8"))
    return {
        f"{name}.md": page(name, group.commands[name], examples.get(name, []))
        for name in group.list_commands(click.Context(group))
    }


def main() -> None:
    """Write the pages."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(OUT / name)


if __name__ == "__main__":
    main()
