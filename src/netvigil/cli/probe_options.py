"""The options of `netvigil probe` checked before anything is measured: one line each.

A value a run would only trip over later (or never notice), such as an unreadable CA bundle,
a resolver that is not IP[:PORT] or an empty test list, ends the command before consent is
asked or a folder is written, with one line naming the option and the forms it takes.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
import typer

from netvigil import testlists
from netvigil.cli.console import fail

InputUrlsOpt = Annotated[
    list[str],
    typer.Option(
        "--input", metavar="INPUT", help="A URL, or another nettest's input (repeatable)."
    ),
]
InputFileOpt = Annotated[
    Path | None,
    typer.Option("--input-file", metavar="FILE", help="A file with one input per line."),
]
TestListOpt = Annotated[
    Path | None,
    typer.Option("--test-list", metavar="FILE.csv", help="A Citizen Lab test list (CSV)."),
]
CategoryOpt = Annotated[
    list[str],
    typer.Option(
        "--category",
        metavar="CODE",
        help="Only these category codes of the test lists (e.g. NEWS; repeatable).",
    ),
]
CountryOpt = Annotated[
    str | None,
    typer.Option(
        "--country",
        metavar="CC",
        help="Measure the bundled test list of this country (e.g. IT), plus the global one.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", metavar="FILE", help="Also write the measurements (OONI JSONL) here."),
]
ThOpt = Annotated[
    list[str],
    typer.Option("--th", metavar="URL", help="Test helper URL (repeatable, tried in order)."),
]
ResolverOpt = Annotated[
    str | None,
    typer.Option(
        "--resolver",
        metavar="IP[:PORT]",
        help="Also resolve through this DNS-over-UDP resolver (e.g. 1.1.1.1, [::1]:53).",
    ),
]
CaFileOpt = Annotated[
    Path | None,
    typer.Option("--ca-file", metavar="FILE.pem", help="CA bundle (PEM) to validate TLS with."),
]
ParallelismOpt = Annotated[
    int,
    typer.Option("--parallelism", metavar="N", min=1, max=256, help="Measurements at once."),
]
MaxRuntimeOpt = Annotated[
    float | None,
    typer.Option(
        "--max-runtime",
        metavar="SECONDS",
        help="Stop starting new measurements after this many seconds (more than 0).",
    ),
]
AcceptRisksOpt = Annotated[
    bool,
    typer.Option("--accept-risks", help="Accept the risks without the quiz (unattended use)."),
]
AsJsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help='JSON lines on stdout: {"measurement": the OONI measurement, "verdict": '
        "our layered verdict, null when none} for each measurement.",
    ),
]
ProbeIpOpt = Annotated[
    str | None,
    typer.Option("--probe-ip", metavar="IP", help="This probe's public address (scrubbed)."),
]
GeoipDbOpt = Annotated[
    Path | None,
    typer.Option(
        "--geoip-db",
        metavar="FILE.mmdb",
        help="MaxMind-format database for country and network "
        "(default: geoip.mmdb or the newest geoip/*.mmdb in the data folder).",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Where consent and results live (default: $NETVIGIL_HOME).",
    ),
]
SystemResolverOpt = Annotated[
    str | None,
    typer.Option(
        "--system-resolver",
        hidden=True,
        help="Lab: resolve via this DNS server as the system would.",
    ),
]
SourceAddressOpt = Annotated[
    str | None,
    typer.Option("--source-address", hidden=True, help="Lab: send from this local address."),
]
LabNetworkOpt = Annotated[
    list[str],
    typer.Option("--lab-network", hidden=True, help="Lab: treat these CIDRs as public."),
]
UploadToOpt = Annotated[
    str | None,
    typer.Option(
        "--upload",
        metavar="URL",
        help="Then submit the results to this "
        "collector (kept for `probe upload` if it cannot be reached).",
    ),
]
ProbeServicesOpt = Annotated[
    str | None,
    typer.Option(
        "--probe-services",
        metavar="URL",
        help="Observatory that tells this probe its public address, to scrub it and find "
        "country and network (default: the --upload URL).",
    ),
]


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def host_port(value: str, default_port: int) -> tuple[str, int]:
    host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    try:
        return (host or value).strip("[]"), int(port) if port else default_port
    except ValueError:
        raise fail(f"not HOST[:PORT]: {value!r}") from None


def inputs_of(
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


class Checked(msgspec.Struct, frozen=True):
    resolver: tuple[str, int] | None
    ca_file: str | None


def check_options(
    resolver: str | None, max_runtime: float | None, ca_file: Path | None, geoip: Path | None
) -> Checked:
    """Options a run would only trip over later (or never notice): one line each, now."""
    if max_runtime is not None and not max_runtime > 0:  # NaN too
        raise fail(f"--max-runtime: expected a number of seconds above 0, got {max_runtime:g}")
    if geoip is not None:
        from netvigil.geoip import GeoIP, GeoIPError

        try:
            GeoIP(geoip).close()
        except GeoIPError as exc:
            raise fail(f"--geoip-db: {exc}") from None
    return Checked(
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
