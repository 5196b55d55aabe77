"""`netvigil analyze` (and `netvigil demo`'s offline part): a thin shell over the analysis
functions.

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
from typing import Annotated

import msgspec
import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from netvigil.analysis.batch import ClassicRecord, analyse_all
from netvigil.analysis.fingerprints import FingerprintDB, FingerprintError
from netvigil.analysis.verdicts import Outcome, Verdict
from netvigil.cli.console import err
from netvigil.readers import ReadError, ReadResult, list_files, read_path

_OUTCOME_STYLE = {
    Outcome.BLOCKED: "bold red",
    Outcome.TAMPERED: "bold magenta",
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


def run_analysis(
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
    run_analysis(files, classic=classic, as_json=as_json, strict=strict, fingerprints=fingerprints)
