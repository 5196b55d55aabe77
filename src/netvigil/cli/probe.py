"""`netvigil probe`: the command-line adapter around the runner (no measuring logic here).

Order of a run: data folder, informed consent (nothing is measured without it), inputs,
the run itself with a progress bar, then a summary table from the layered verdicts.
Measurements are written as OONI JSONL to `--output` and to the data folder's results,
each line scrubbed of the probe's address before it touches the disk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import re
import shlex
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from netvigil import testlists
from netvigil.addresses import Bogons
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze_web
from netvigil.cli.console import err, fail, open_data_dir
from netvigil.datadir import DataDir
from netvigil.net.backend import AsyncioBackend, Backend, StubResolverBackend
from netvigil.probe import consent
from netvigil.probe.control import missing_control_warning
from netvigil.probe.location import UNKNOWN, learn_address, locate
from netvigil.probe.runner import DEFAULT_PARALLELISM, RunConfig, run
from netvigil.probe.webconnectivity import Settings
from netvigil.records import WebMeasurement
from netvigil.scrub import Scrubber


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _endpoint(value: str, default_port: int) -> tuple[str, int]:
    host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    try:
        return (host or value).strip("[]"), int(port) if port else default_port
    except ValueError:
        raise fail(f"not HOST[:PORT]: {value!r}") from None


def _require_consent(folder: DataDir, accept_risks: bool) -> None:
    if consent.load(folder.root) is not None:
        return
    now = dt.datetime.now(dt.UTC)
    if accept_risks:
        consent.record(folder.root, now=now, method="flag")
        return
    if not sys.stdin.isatty():
        raise fail(
            "informed consent is needed before the first measurement: run `netvigil probe run` "
            "in a terminal to read the risks and answer two questions, or pass --accept-risks",
            3,
        )
    if not consent.run_quiz(lambda prompt: input(prompt), lambda text: print(text)):
        raise fail("consent not given: nothing was measured", 3)
    consent.record(folder.root, now=now, method="quiz")


def _targets(
    urls: list[str],
    input_file: Path | None,
    test_list: Path | None,
    categories: list[str],
    country: str | None,
) -> testlists.Inputs:
    try:
        parts = [testlists.from_urls(urls)]
        if input_file is not None:
            parts.append(testlists.from_file(input_file))
        listed = [testlists.from_test_list_csv(test_list)] if test_list is not None else []
        if country is not None:
            listed.append(testlists.bundled(country))
        if listed:
            parts.append(testlists.filter_categories(testlists.merge(*listed), categories))
        elif categories:
            raise testlists.InputError(
                "--category filters test lists: add --test-list or --country"
            )
        return testlists.merge(*parts)
    except testlists.InputError as exc:
        raise fail(str(exc)) from None


def run_command(
    input_urls: Annotated[
        list[str], typer.Option("--input", metavar="URL", help="A URL to measure (repeatable).")
    ] = [],  # noqa: B006
    input_file: Annotated[
        Path | None,
        typer.Option("--input-file", metavar="FILE", help="A file with one URL per line."),
    ] = None,
    test_list: Annotated[
        Path | None,
        typer.Option("--test-list", metavar="FILE.csv", help="A Citizen Lab test list (CSV)."),
    ] = None,
    category: Annotated[
        list[str],
        typer.Option(
            "--category",
            metavar="CODE",
            help="Only these category codes of the test lists (e.g. NEWS; repeatable).",
        ),
    ] = [],  # noqa: B006
    country: Annotated[
        str | None,
        typer.Option(
            "--country",
            metavar="CC",
            help="Measure the bundled test list of this country (e.g. IT), plus the global one.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", metavar="FILE", help="Also write the measurements (OONI JSONL) here."
        ),
    ] = None,
    th: Annotated[
        list[str],
        typer.Option("--th", metavar="URL", help="Test helper URL (repeatable, tried in order)."),
    ] = [],  # noqa: B006
    resolver: Annotated[
        str | None,
        typer.Option(
            "--resolver",
            metavar="IP[:PORT]",
            help="Also resolve through this DNS-over-UDP resolver (e.g. 1.1.1.1, [::1]:53).",
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", metavar="FILE.pem", help="CA bundle (PEM) to validate TLS with."),
    ] = None,
    parallelism: Annotated[
        int,
        typer.Option("--parallelism", metavar="N", min=1, max=256, help="URLs measured at once."),
    ] = DEFAULT_PARALLELISM,
    max_runtime: Annotated[
        float | None,
        typer.Option(
            "--max-runtime",
            metavar="SECONDS",
            help="Stop starting new measurements after this many seconds (more than 0).",
        ),
    ] = None,
    accept_risks: Annotated[
        bool,
        typer.Option("--accept-risks", help="Accept the risks without the quiz (unattended use)."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='JSON lines on stdout: {"measurement": the OONI measurement, "verdict": '
            "our layered verdict} for each URL.",
        ),
    ] = False,
    probe_ip: Annotated[
        str | None,
        typer.Option(
            "--probe-ip",
            metavar="IP",
            help="This probe's public address (scrubbed from everything written).",
        ),
    ] = None,
    geoip_db: Annotated[
        Path | None,
        typer.Option(
            "--geoip-db",
            metavar="FILE.mmdb",
            help="MaxMind-format database for country and network "
            "(default: geoip.mmdb or the newest geoip/*.mmdb in the data folder).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="Where consent and results live (default: $NETVIGIL_HOME).",
        ),
    ] = None,
    system_resolver: Annotated[
        str | None,
        typer.Option(
            "--system-resolver",
            hidden=True,
            help="Lab: resolve via this DNS server as the system would.",
        ),
    ] = None,
    source_address: Annotated[
        str | None,
        typer.Option("--source-address", hidden=True, help="Lab: send from this local address."),
    ] = None,
    lab_network: Annotated[
        list[str],
        typer.Option("--lab-network", hidden=True, help="Lab: treat these CIDRs as public."),
    ] = [],  # noqa: B006
    upload_to: Annotated[
        str | None,
        typer.Option(
            "--upload",
            metavar="URL",
            help="Then submit the results to this "
            "collector (kept for `probe upload` if it cannot be reached).",
        ),
    ] = None,
    probe_services: Annotated[
        str | None,
        typer.Option(
            "--probe-services",
            metavar="URL",
            help="Observatory that tells this probe its public address, to scrub it and find "
            "country and network (default: the --upload URL).",
        ),
    ] = None,
) -> None:
    """Measure websites: DNS, TCP, TLS and HTTP, compared with a test helper's view.

    Results go to the data folder (one result per run, see `netvigil probe list`) and to
    --output; the end of the run says where, with their ids, and how to upload them.
    """
    checked = _check_options(resolver, max_runtime, ca_file, geoip_db)  # before any change
    folder = open_data_dir(data_dir)
    _require_consent(folder, accept_risks)
    targets = _targets(input_urls, input_file, test_list, category, country)
    for problem in targets.problems:
        where = problem.source + (f":{problem.line}" if problem.line else "")
        err.print(
            f"[yellow]skipped:[/yellow] {where}: {problem.value!r}: {problem.reason}",
            soft_wrap=True,
        )
    if not targets.targets:
        raise fail("nothing to measure: give --input, --input-file, --test-list or --country")
    backend: Backend = (
        StubResolverBackend(_endpoint(system_resolver, 53), source=source_address)
        if system_resolver
        else AsyncioBackend(source=source_address)
    )
    for flag, url in (("--upload", upload_to), ("--probe-services", probe_services)):
        if url is not None and not _is_http_url(url):
            raise fail(f"{flag}: expected an http:// or https:// URL, got {url!r}")
    services = probe_services or upload_to
    learnt, warning = None, None
    if probe_ip is None and services is not None:
        ca = str(ca_file) if ca_file else None
        learnt, warning = asyncio.run(learn_address(backend, services, ca))
    address = probe_ip or (learnt.address if learnt else None)
    try:
        bogons = Bogons.with_lab(lab_network)
        scrubber = Scrubber([address] if address else [], lab=bogons.lab_networks)
    except ValueError as exc:
        raise fail(str(exc).splitlines()[0]) from None
    database = geoip_db or folder.geoip_database()
    if warning is not None:  # no address: one warning, saying why
        location, warning = UNKNOWN, f"{warning}; writing ZZ/AS0"
    elif learnt is not None and database is None:
        location = learnt.location  # the server's lookup of our address
    else:
        location, warning = locate(address, database)
    if warning is not None:
        err.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    settings = Settings(
        resolver=checked.resolver,
        test_helpers=tuple(th),
        ca_file=checked.ca_file,
    )
    config = RunConfig(
        settings=settings, location=location, parallelism=parallelism, max_runtime=max_runtime
    )
    describe = _verdict_json(scrubber, bogons) if as_json else None
    results, result_file = _execute(targets, backend, config, scrubber, folder, output, describe)
    if (no_control := missing_control_warning(results)) is not None:
        err.print(f"[yellow]warning:[/yellow] {escape(no_control)}", soft_wrap=True)
    _summary(results, bogons, as_json)
    _where_results_went(results, result_file, output)
    if upload_to is not None:
        from netvigil.cli.results import upload_results

        upload_results([result_file], upload_to, backend, folder, checked.ca_file)
    elif results:
        err.print(
            f"not uploaded: submit them with `{upload_hint(folder)}`", soft_wrap=True, markup=False
        )


class _Checked(msgspec.Struct, frozen=True):
    resolver: tuple[str, int] | None
    ca_file: str | None


def _check_options(
    resolver: str | None, max_runtime: float | None, ca_file: Path | None, geoip: Path | None
) -> _Checked:
    """Options a run would only trip over later (or never notice): one line each, now."""
    if max_runtime is not None and not max_runtime > 0:  # NaN too
        raise fail(f"--max-runtime: expected a number of seconds above 0, got {max_runtime:g}")
    if geoip is not None:
        from netvigil.geoip import GeoIP, GeoIPError

        try:
            GeoIP(geoip).close()
        except GeoIPError as exc:
            raise fail(f"--geoip-db: {exc}") from None
    return _Checked(
        resolver=resolver_endpoint(resolver) if resolver is not None else None,
        ca_file=check_ca_file(ca_file),
    )


def resolver_endpoint(value: str) -> tuple[str, int]:
    """IP, IP:PORT, [IPv6]:PORT or a bare IPv6 address; else one line naming the forms."""
    host, port = value, "53"
    bracketed = re.fullmatch(r"\[([^\]]*)\](?::([0-9]{1,5}))?", value)
    if bracketed:
        host, port = bracketed[1], bracketed[2] or "53"
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    try:
        address = ipaddress.ip_address(host)
        number = int(port) if re.fullmatch("[0-9]{1,5}", port) else 0
    except ValueError:
        address, number = None, 0
    if address is None or not 0 < number < 65536:
        raise fail(
            f"--resolver: expected IP[:PORT] such as 1.1.1.1, 1.1.1.1:53 or [2606:4700::1111]:53, "
            f"got {value!r}"
        )
    return str(address), number


def check_ca_file(path: Path | None) -> str | None:
    """The CA bundle's path if it loads as PEM certificates; else one line saying why."""
    if path is None:
        return None
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:  # an OSError too: first
        raise fail(f"--ca-file: {path} holds no PEM certificate") from None
    except OSError as exc:
        raise fail(f"--ca-file: cannot read {path}: {exc.strerror or exc}") from None
    return str(path)


def upload_hint(folder: DataDir) -> str:
    return f"netvigil probe upload --collector URL --data-dir {shlex.quote(str(folder.root))}"


def _where_results_went(
    results: list[WebMeasurement], result_file: Path, output: Path | None
) -> None:
    """Where the measurements are and their ids (stderr: --json keeps stdout for data)."""
    if not results:
        err.print(f"no measurement was made; result {result_file.stem} is empty", markup=False)
        return
    also = f" and {output}" if output is not None else ""
    reports = sorted({m.report_id for m in results if m.report_id})
    err.print(
        f"saved {len(results)} measurement(s) to {result_file}{also}\n"
        f"result id: {result_file.stem} (see `netvigil probe show {result_file.stem}`); "
        f"report id: {', '.join(reports)} (a collector gives its own ids on upload)",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def _verdict_json(scrubber: Scrubber, bogons: Bogons) -> Callable[[WebMeasurement], bytes]:
    """Our layered verdict of a measurement as scrubbed JSON, for --json's lines."""
    fingerprints = FingerprintDB.load()
    encoder = msgspec.json.Encoder()

    def describe(measurement: WebMeasurement) -> bytes:
        verdict = analyze_web(measurement, measurement.test_keys, fingerprints, bogons)
        return scrubber.json(encoder.encode(verdict))

    return describe


def _execute(
    targets: testlists.Inputs,
    backend: Backend,
    config: RunConfig,
    scrubber: Scrubber,
    folder: DataDir,
    output: Path | None,
    describe: Callable[[WebMeasurement], bytes] | None,
) -> tuple[list[WebMeasurement], Path]:
    folder.results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    result_file = folder.results / f"{stamp}.jsonl"
    files = [open(result_file, "ab")]  # noqa: SIM115 - closed below
    if output is not None:
        try:
            files.append(open(output, "ab"))  # noqa: SIM115
        except OSError as exc:
            raise fail(f"cannot write {output}: {exc.strerror}") from None
    results: list[WebMeasurement] = []
    encoder = msgspec.json.Encoder()

    def sink(measurement: WebMeasurement) -> None:
        line = scrubber.json(encoder.encode(measurement)) + b"\n"
        for handle in files:
            handle.write(line)
            handle.flush()
        if describe is not None:  # --json: the measurement and our verdict beside it
            sys.stdout.buffer.write(
                b'{"measurement":' + line[:-1] + b',"verdict":' + describe(measurement) + b"}\n"
            )
            sys.stdout.flush()
        results.append(measurement)

    urls = [t.url for t in targets.targets]
    columns = (TextColumn("measuring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("urls", total=len(urls))
        try:
            summary = asyncio.run(
                run(
                    urls,
                    backend,
                    config,
                    sink,
                    scrub=scrubber.data,
                    progress=lambda url: bar.advance(task),
                )
            )
        except KeyboardInterrupt:
            err.print(f"interrupted: kept {len(results)} measurement(s)")
            raise typer.Exit(130) from None
        finally:
            for handle in files:
                handle.close()
    if summary.timed_out:
        err.print(
            f"max runtime reached: {summary.measured} measured, {summary.skipped} not started"
        )
    return results, result_file


def _summary(results: list[WebMeasurement], bogons: Bogons, as_json: bool) -> None:
    if as_json or not results:
        return
    fingerprints = FingerprintDB.load()
    table = Table("URL", "outcome", "layer", "technique", "failing step", "OONI blocking")
    for m in results:
        verdict = analyze_web(m, m.test_keys, fingerprints, bogons)
        keys = m.test_keys
        step = (keys.http_experiment_failure or keys.dns_experiment_failure or "") if keys else ""
        table.add_row(
            m.url,
            # "insufficient: no control" says why nothing could be concluded.
            f"{verdict.outcome.value}: {verdict.reason.split(':')[0]}"
            if verdict.reason
            else verdict.outcome.value,
            verdict.layer.value if verdict.layer else "",
            verdict.technique or "",
            step,
            str(keys.blocking if keys else None),
        )
    Console().print(table)
