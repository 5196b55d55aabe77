"""The `netvigil` command: a thin shell over the analysis functions.

Output rules: machine output is JSON lines on stdout (when stdout is not a terminal, or
with --json); people get a Rich table. Problems with single measurements are records in
the output (and one line each on stderr), never tracebacks. Exit codes: 0 when every
input was analysed, 1 when nothing could be analysed (or on a bad option or fingerprint
directory), 2 for usage errors (Typer's), 3 when some items failed and --strict is set.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from netvigil import __version__
from netvigil.analysis.batch import ClassicRecord, analyse_all
from netvigil.analysis.fingerprints import FingerprintDB, FingerprintError
from netvigil.analysis.verdicts import Outcome, Verdict
from netvigil.readers import ReadError, ReadResult, list_files, read_path


def _arguments_show_only_their_metavar() -> None:
    """Typer prints an argument's Python type beside its metavar (`FILE <list[Path]>`,
    fastapi/typer#1156); as for options, the metavar alone names the value."""
    shown = typer.core.TyperArgument.display_type_rich

    def display_type(self: typer.core.TyperArgument, ctx: Any) -> str | None:
        return None if self.metavar else shown(self, ctx)

    typer.core.TyperArgument.display_type_rich = display_type  # type: ignore[method-assign,assignment]


_arguments_show_only_their_metavar()
# Plain help (rich_markup_mode=None) in every sub-app too: Rich's help shows a `<bool>`
# type column even for flags and --help.
app = typer.Typer(
    name="netvigil",
    help="An open observatory for Internet censorship and shutdowns, interoperable with OONI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False, emoji=False)  # ":a:" in a URL stays text

_OUTCOME_STYLE = {
    Outcome.BLOCKED: "bold red",
    Outcome.DOWN: "yellow",
    Outcome.OK: "green",
    Outcome.INSUFFICIENT: "dim",
}

FilesArg = Annotated[
    list[Path],
    typer.Argument(
        metavar="FILE",
        help="Measurement files (.json, .jsonl, .jsonl.gz) or folders of them.",
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="JSON lines on stdout (the default when piped).")
]
FingerprintsOpt = Annotated[
    Path | None,
    typer.Option(
        "--fingerprints",
        metavar="DIR",
        help="Folder with fingerprints_dns.csv and fingerprints_http.csv to use instead of "
        "the bundled OONI blocking fingerprints.",
    ),
]


def _error(message: str) -> None:
    """One line on stderr, never wrapped (scripts grep these)."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"netvigil {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Measure, analyse, detect and share evidence of Internet censorship."""


def _load_fingerprints(directory: Path | None) -> FingerprintDB:
    try:
        return FingerprintDB.load(directory)
    except FingerprintError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None


def _items(paths: list[Path], show_progress: bool) -> Iterator[ReadResult]:
    targets = list_files(paths)
    if not show_progress or len(targets) < 2:
        for path in targets:
            yield from read_path(path)
        return
    columns = (
        TextColumn("analysing"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("files", total=len(targets))
        for path in targets:
            yield from read_path(path)
            progress.advance(task)


def _run(
    paths: list[Path], *, classic: bool, as_json: bool, strict: bool, fingerprints: Path | None
) -> None:
    db = _load_fingerprints(fingerprints)
    as_json = as_json or not sys.stdout.isatty()
    encoder = msgspec.json.Encoder()
    ok = failed = 0
    rows: list[Verdict | ClassicRecord] = []
    for _, result in analyse_all(_items(paths, err.is_terminal), db, classic=classic):
        if isinstance(result, ReadError):
            failed += 1
            _error(result.describe())
            if as_json:
                sys.stdout.buffer.write(encoder.encode(result) + b"\n")
            continue
        ok += 1
        if as_json:
            sys.stdout.buffer.write(encoder.encode(result) + b"\n")
        else:
            rows.append(result)
    sys.stdout.flush()
    if not as_json:
        _print_table(rows)
    if ok == 0:
        _error("no measurement could be analysed")
        raise typer.Exit(1)
    if failed and strict:
        raise typer.Exit(3)


def _print_table(rows: list[Verdict | ClassicRecord]) -> None:
    console = Console(emoji=False)
    if rows and isinstance(rows[0], ClassicRecord):
        table = Table(
            "input", "blocking", "accessible", "dns_consistency", title="OONI classic keys"
        )
        for row in rows:
            assert isinstance(row, ClassicRecord)
            table.add_row(
                row.input or "", str(row.blocking), str(row.accessible), str(row.dns_consistency)
            )
        console.print(table)
        return
    table = Table(
        "input",
        "network",
        "outcome",
        "layer",
        "technique",
        "conf.",
        "rule",
        title="Layered verdicts",
    )
    for row in rows:
        assert isinstance(row, Verdict)
        outcome = f"[{_OUTCOME_STYLE[row.outcome]}]{row.outcome.value}" + (
            " ✔" if row.confirmed else ""
        )
        table.add_row(
            row.input or "",
            f"{row.probe_cc} {row.probe_asn}",
            outcome,
            row.layer.value if row.layer else "",
            row.technique or "",
            f"{row.confidence:.2f}",
            row.rule or "",
        )
    console.print(table)
    counts = {o: sum(1 for r in rows if isinstance(r, Verdict) and r.outcome is o) for o in Outcome}
    console.print("  ".join(f"{o.value}: {n}" for o, n in counts.items()))


@app.command()
def analyze(
    files: FilesArg,
    classic: Annotated[
        bool,
        typer.Option(
            "--classic",
            help="Print OONI's classic keys (blocking, accessible, ...) "
            "recomputed as OONI's own code does, instead of layered verdicts.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with status 3 if any measurement failed.")
    ] = False,
    fingerprints: FingerprintsOpt = None,
) -> None:
    """Analyse OONI measurements: per-layer verdicts with their witnesses, or --classic keys.

    One result per measurement, in input order; a measurement that cannot be read or
    analysed gives an error record naming its file and line.
    """
    _run(files, classic=classic, as_json=as_json, strict=strict, fingerprints=fingerprints)


@app.command()
def demo(as_json: JsonOpt = False, fingerprints: FingerprintsOpt = None) -> None:
    """Analyse the bundled sample of real OONI measurements from several countries.

    The sample is OONI's data (CC BY-NC-SA 4.0); its SOURCES.md names each measurement.
    """
    from netvigil.samples import sample_path, sources_note

    with sample_path() as path:
        err.print(sources_note(sum(1 for _ in read_path(path))), soft_wrap=True, markup=False)
        _run([path], classic=False, as_json=as_json, strict=False, fingerprints=fingerprints)


def _register_subcommands() -> None:
    # The probe and the test helper keep their commands in their own packages.
    from netvigil.incidents import admin, exchange, publishing  # noqa: F401 - their commands
    from netvigil.incidents.command import app as incidents_app
    from netvigil.observatory.bulk import ingest_command, reanalyze_command
    from netvigil.observatory.command import serve_command
    from netvigil.probe.command import app as probe_app
    from netvigil.probe.history import list_command  # noqa: F401 - registers list and show
    from netvigil.testhelper.command import app as th_app

    app.add_typer(probe_app, name="probe")
    app.add_typer(th_app, name="th")
    app.add_typer(incidents_app, name="incidents")
    app.command("serve")(serve_command)
    app.command("ingest")(ingest_command)
    app.command("reanalyze")(reanalyze_command)


_register_subcommands()


def main() -> None:
    app()
