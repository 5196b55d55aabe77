"""Every command's --help: real metavars, every option and argument described.

Walks the whole Typer app (every group and command, hidden ones aside), renders each help
page as a user would see it, and fails on Typer's generic placeholders (`<str>`, `<bool>`,
`<int range>`, `<list[Path]>`, `{files}`) and on any parameter without help text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer.main
from typer.testing import CliRunner

from netvigil.cli.main import app

runner = CliRunner()
# Typer's fallbacks when no metavar is given: `<type>` for options, `{name}` for arguments.
PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\n]*>|\{[a-z_]+\}")


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from commands(sub, (*path, name))


def test_every_command_is_walked() -> None:
    paths = {" ".join(p) for p, _ in commands(typer.main.get_command(app))}
    assert {
        "analyze",
        "demo",
        "detect",
        "serve",
        "ingest",
        "reanalyze",
        "probe run",
        "probe upload",
        "th serve",
        "incidents create",
    } <= paths
    assert len(paths) >= 20


def test_help_pages_have_real_metavars_and_describe_every_parameter() -> None:
    problems: list[str] = []
    for path, command in commands(typer.main.get_command(app)):
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"})
        where = "netvigil " + " ".join(path)
        if shown.exit_code != 0:
            problems.append(f"{where}: --help exits {shown.exit_code}")
            continue
        problems += [f"{where}: placeholder {m!r}" for m in PLACEHOLDER.findall(shown.stdout)]
        if not (command.help or "").strip():
            problems.append(f"{where}: no description")
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            name = param.opts[0] if param.opts else param.name
            if not (getattr(param, "help", None) or "").strip():
                problems.append(f"{where} {name}: no help text")
            flag = getattr(param, "is_flag", False)
            if not flag and not param.metavar:
                problems.append(f"{where} {name}: no metavar")
    assert problems == [], "\n".join(problems)
