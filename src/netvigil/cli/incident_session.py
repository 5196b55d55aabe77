"""What every `netvigil incidents ...` command shares: where the instance is, and who acts.

The four options that say which instance and as whom (`--data-dir`, `--api-key`,
`--database`, `--public-url`) are defined here once. A command asks for them with one
parameter, `where: Where = LOCAL`, and `@on_instance` shows Typer the four options in that
parameter's place, so every command lists them where its `--help` always has; `where.open()`
opens the instance and works out who acts (the operator, a key's member, or `--as MEMBER`).
`run` turns the service's refusals into one-line errors.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.markup import escape

from netvigil.cli.console import fail

out = Console(soft_wrap=True, highlight=False)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", metavar="DIR", help="The data folder.")
]
KeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", metavar="KEY", help="Act as this key's member (default: operator)."),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database", metavar="URL", help="SQLAlchemy URL (default: SQLite in the folder)."
    ),
]
UrlOpt = Annotated[
    str, typer.Option("--public-url", metavar="URL", help="This instance's public address.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output.")]
AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="MEMBER",
        help="Act as this member (name or id; operator only): who creates, asks or approves.",
    ),
]


class Session(msgspec.Struct, frozen=True):
    instance: Any
    who: Any


class Where(msgspec.Struct, frozen=True, kw_only=True):
    """Which instance a command works on, and whose key it acts with."""

    data_dir: Path | None = None
    api_key: str | None = None
    database: str | None = None
    url: str = "http://127.0.0.1:8000"

    def open(self, acting: str | None = None) -> Session:
        """The instance, and who acts: the operator, the key's member, or `acting`."""
        from netvigil.datadir import DataDir, DataDirError, ensure, resolve_data_dir
        from netvigil.incidents import db, keys
        from netvigil.incidents.access import OPERATOR
        from netvigil.incidents.evidence import ObservatoryEvidence
        from netvigil.incidents.instance import Instance
        from netvigil.observatory.data import ObservatoryData
        from netvigil.observatory.sources import scan_archive

        try:
            folder = ensure(resolve_data_dir(self.data_dir, os.environ))
            layout = DataDir(root=folder)
            observatory = ObservatoryData(layout.tables, scan_archive(layout.archive))
            evidence = ObservatoryEvidence(observatory)
            instance = Instance(folder, url=self.url, evidence=evidence, database=self.database)
        except (DataDirError, OSError, ValueError) as exc:
            raise fail(str(exc).splitlines()[0]) from None
        except db.OPEN_ERRORS as exc:
            raise fail(f"cannot open the incident database: {exc}".splitlines()[0]) from None
        who = OPERATOR
        if self.api_key is not None:
            found = keys.by_key(instance.engine, self.api_key, instance.now())
            if found is None:
                raise fail("--api-key: invalid, expired or revoked")
            who = found
        if acting is not None:
            if self.api_key is not None:
                raise fail("--as: with --api-key you act as the key's member")
            who = _member(instance, acting)
        return Session(instance, who)


LOCAL = Where()
OPTIONS = [
    inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=kind, default=d)
    for name, kind, d in (
        ("data_dir", DataDirOpt, LOCAL.data_dir),
        ("api_key", KeyOpt, LOCAL.api_key),
        ("database", DatabaseOpt, LOCAL.database),
        ("url", UrlOpt, LOCAL.url),
    )
]


def on_instance(command: Callable[..., None]) -> Callable[..., None]:
    """`command` as Typer is to see it: its `where` parameter as the four options.

    Typer reads a command's options from `inspect.signature`, which honours
    `__signature__`: the wrapper shows the four in `where`'s place and gathers them back."""
    signature = inspect.signature(command, eval_str=True)
    shown = [
        p for q in signature.parameters.values() for p in (OPTIONS if q.name == "where" else [q])
    ]

    @functools.wraps(command)
    def given(**values: Any) -> None:
        where = Where(**{p.name: values.pop(p.name) for p in OPTIONS})
        command(where=where, **values)

    given.__signature__ = signature.replace(parameters=shown)  # type: ignore[attr-defined]
    return given


def _member(instance: Any, name: str) -> Any:
    """The operator acting as a named member, with that member's role (and its rules)."""
    from netvigil.incidents import accounts

    found = accounts.named(instance.engine, name)
    if found is None:
        raise fail(f"--as: no member {name!r}")
    return found


def run(action: Callable[[], Any]) -> Any:
    """Run an operation; the service's refusals become one-line errors."""
    from netvigil.incidents.errors import IncidentError
    from netvigil.incidents.validate import InvalidIncident

    try:
        return action()
    except InvalidIncident as exc:
        for problem in exc.problems[1:]:
            out.print(f"[red]error:[/red] {escape(problem)}", markup=True, highlight=False)
        raise fail(str(exc)) from None
    except IncidentError as exc:
        raise fail(str(exc)) from None


def org_named(session: Session, name: str | None) -> str | None:
    """The id of the organisation `name` (a name or an id)."""
    if name is None:
        return None
    names = session.instance.org_names()
    if name in names:
        return name
    found = [ident for ident, org in names.items() if org == name]
    if not found:
        raise fail(f"--org: no organisation {name!r}")
    return str(found[0])
