"""`probe run --test NAME --endpoint KEY=VALUE`: which nettests a run measures, checked first.

Every mistake here is one line, before consent is asked and before anything is measured or
written: an unknown nettest (the line lists the known ones), an `--endpoint` that is not
KEY=VALUE or whose key no nettest of the run takes (the line names the keys each takes), a
value a nettest of the run that takes its key cannot use (its own `check_endpoints`: the line
names the nettest, key and value), input for nettests that take none, a nettest that needs
input and got none, and a missing `tor` binary for vanilla_tor and torsf. Each nettest is
given the values of its own keys only (`Endpoints.only`), in the check and in the run.

Inputs: web_connectivity reads URLs from --input, --input-file, --test-list and --country;
the other nettests that take input read --input and --input-file as written (a dnscheck
resolver URL, a STUN endpoint). A run of several nettests gives the inputs to those that
take input, and runs those that take none once each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from netvigil.addresses import Bogons
from netvigil.cli.console import fail
from netvigil.probe.dnscheck import DNSCheck
from netvigil.probe.fbmessenger import FacebookMessenger
from netvigil.probe.nettest import EndpointError, Endpoints, Nettest
from netvigil.probe.nettests import NETTESTS
from netvigil.probe.stun import STUNReachability
from netvigil.probe.tor_bootstrap import ToolMissing, find_binary

WEB = "web_connectivity"


def known() -> tuple[str, ...]:
    return (WEB, *sorted(NETTESTS))


# The nettests that drive a local `tor` (ts-016, ts-030): the binary --tor-binary names, or
# `tor` on PATH, must exist before anything is measured (probe/tor_bootstrap.py).
NEEDS_TOR = frozenset({"vanilla_tor", "torsf"})

TestOpt = Annotated[
    list[str],
    typer.Option(
        "--test",
        metavar="NAME[,NAME...]",
        help="The nettest(s) to run (repeatable or comma-separated; default "
        f"web_connectivity): {', '.join(known())}.",
    ),
]


def endpoint_keys() -> str:
    """Each nettest's --endpoint keys with what they are, for --help."""
    listed = [
        f"{name}: "
        + ", ".join(f"{key} ({what})" for key, what in sorted(test.endpoint_help.items()))
        for name, test in sorted(NETTESTS.items())
        if test.endpoint_help
    ]
    return "; ".join(listed) or "no nettest here takes one"


EndpointOpt = Annotated[
    list[str],
    typer.Option(
        "--endpoint",
        metavar="KEY=VALUE",
        help="Replace a server a nettest contacts, e.g. dc=127.0.0.1:8443 (repeatable; a key "
        f"given twice is a list). Keys: {endpoint_keys()}.",
    ),
]
TorBinaryOpt = Annotated[
    str | None,
    typer.Option(
        "--tor-binary",
        metavar="PATH",
        help="The tor executable vanilla_tor and torsf start (default: tor on PATH).",
    ),
]


@dataclass(frozen=True)
class Plan:
    """What the run measures: web_connectivity or not, then the other nettests in order."""

    web: bool
    nettests: tuple[Nettest, ...]
    endpoints: Endpoints
    tor_binary: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return ((WEB,) if self.web else ()) + tuple(n.name for n in self.nettests)


def test_names(values: Sequence[str]) -> tuple[str, ...]:
    """The --test values, split on commas, each once, in order; unknown ones refused."""
    names: dict[str, None] = {}
    for value in values or [WEB]:
        for name in (part.strip() for part in value.split(",")):
            if name not in known():
                raise fail(f"--test: unknown nettest {name!r} (known: {', '.join(known())})")
            names[name] = None
    return tuple(names)


def _takes(nettest: Nettest) -> str:
    return ", ".join(sorted(nettest.endpoint_help)) or "none"


def endpoints_for(items: Sequence[str], nettests: Sequence[Nettest], web: bool) -> Endpoints:
    """The parsed --endpoint values; a bad item, a key no nettest here takes or a value one
    that takes it cannot use is refused."""
    try:
        endpoints = Endpoints.parse(items)
    except EndpointError as exc:
        raise fail(str(exc)) from None
    accepted = {key for n in nettests for key in n.endpoint_help}
    for item in items:
        key = item.partition("=")[0].strip()
        if key not in accepted:
            takes = [f"{n.name} takes {_takes(n)}" for n in nettests]
            takes += [f"{WEB} takes none: its test helper is --th"] if web else []
            raise fail(
                f"--endpoint {item!r}: no nettest of this run takes {key!r}; {'; '.join(takes)}"
            )
    for nettest in nettests:
        try:
            nettest.check_endpoints(endpoints.only(nettest.endpoint_help))
        except EndpointError as exc:
            raise fail(f"{nettest.name}: {exc}") from None
    return endpoints


def plan_run(
    tests: Sequence[str],
    endpoint_items: Sequence[str],
    tor_binary: str | None,
    *,
    urls_given: bool,
    lists_given: bool,
) -> Plan:
    """The run's nettests, after every check that needs no network (one line each).

    `urls_given`: --input or --input-file; `lists_given`: --test-list, --country or
    --category (web_connectivity's inputs only)."""
    names = test_names(tests)
    web = WEB in names
    nettests = tuple(NETTESTS[name] for name in names if name != WEB)
    endpoints = endpoints_for(endpoint_items, nettests, web)
    if lists_given and not web:
        raise fail(f"--test-list, --country and --category are {WEB}'s inputs: add --test {WEB}")
    takers = [n for n in nettests if n.input != "none"]
    if urls_given and not web and not takers:
        raise fail(f"{', '.join(names)}: takes no input (--input and --input-file are for {WEB} "
                   "and nettests that take input)")  # fmt: skip
    for nettest in nettests:
        if nettest.input == "required" and not urls_given:
            raise fail(f"{nettest.name} needs input: give --input or --input-file")
        if nettest.name in NEEDS_TOR:
            try:
                find_binary(tor_binary, "tor", "tor")
            except ToolMissing as exc:
                raise fail(f"{nettest.name}: {exc} (or pass --tor-binary PATH)") from None
    return Plan(web=web, nettests=nettests, endpoints=endpoints, tor_binary=tor_binary)


def configured(plan: Plan, *, bogon: Bogons, asn_of: Callable[[str], int] | None) -> Plan:
    """The plan's nettests told what the run knows: the lab's networks (--lab-network: their
    addresses are not bogons to dnscheck and stunreachability) and the IP-to-AS database
    facebook_messenger checks its answers against (without one it is never ok)."""

    def told(nettest: Nettest) -> Nettest:
        if isinstance(nettest, DNSCheck | STUNReachability):
            return dataclasses.replace(nettest, bogon=bogon)
        if isinstance(nettest, FacebookMessenger) and asn_of is not None:
            return FacebookMessenger(asn_of=asn_of)
        return nettest

    return dataclasses.replace(plan, nettests=tuple(told(n) for n in plan.nettests))


def nettest_inputs(nettest: Nettest, urls: Sequence[str], lines: Sequence[str]) -> list[str]:
    """The inputs a nettest gets: none for one that takes none, else --input and the file's."""
    return [] if nettest.input == "none" else [*urls, *lines]


def file_lines(path: Path) -> list[str]:
    """An --input-file's items for the other nettests: stripped lines, no blanks or # comments
    (a leading byte-order mark is not part of line 1)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise fail(f"cannot read input file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise fail(f"input file {path} is not UTF-8 (bad byte at {exc.start})") from None
    return [line for line in (raw.strip() for raw in text.split("\n")) if line and line[0] != "#"]
