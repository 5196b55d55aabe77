"""What the scenario table's schema cannot say, checked once it has decoded.

- Every site is a name under `lab.test` (or a real one marked `real_name`) at an address of
  the lab's own range (10.77.2.10-99, one per site, docs/design/011-lab.md): a typo cannot
  send a rule or a probe anywhere else.
- Every host a scenario measures or a rule names is one of those sites; an address a rule
  drops or resets is a site's. Only DNS answers may be other addresses: a censor's bogon or
  a country's blockpage IP is what it answers, not where anything is sent.
- Every expectation is one our analysis can give: an Outcome and a Layer (msgspec checks
  those), a technique in analysis.nettests.TECHNIQUES_OF for the nettest (or web
  connectivity's `http_blockpage:<fingerprint>`), a layer exactly when the verdict has a
  decisive one (blocked, tampered, down: analysis/layered.py, nettest_verdict.py).
- The shutdown cases: an alert is expected exactly when the censor blacks everything out,
  and it is an outage exactly when the devices are dark too (lab/rules.py Blackout).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from netvigil.analysis.nettests import BLOCKPAGE_PREFIX, TECHNIQUES_OF
from netvigil.analysis.verdicts import Outcome
from netvigil.lab.rules import (
    Blackout,
    DNSAnswer,
    DNSInjection,
    Drop,
    HTTPBlockpage,
    HTTPHostReset,
    Loss,
    Reset,
    Rule,
    Throttle,
    TLSIntercept,
    TLSSNIBlock,
)
from netvigil.lab.scenario_records import Scenario, Table

__all__ = ["TableError", "check_scenario", "check_table"]

SITE_RANGE = (ipaddress.IPv4Address("10.77.2.10"), ipaddress.IPv4Address("10.77.2.99"))
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_HOST = re.compile(r"([a-z0-9-]+\.)+lab\.test")
_REAL = re.compile(r"([a-z0-9-]+\.)+[a-z]{2,63}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_QA = re.compile(r"[A-Za-z0-9]{1,80}")
_DECISIVE = frozenset((Outcome.BLOCKED, Outcome.TAMPERED, Outcome.DOWN))
# Endpoint keys whose values are not hosts (probe/fbmessenger.py: the AS the hosts must be in).
_NOT_HOSTS = frozenset(("asn",))


class TableError(ValueError):
    """A scenario table that cannot be used; the message is one line."""


def check_table(table: Table, where: str) -> None:
    for network in table.lab.networks:
        _network(network, f"{where}: [lab]: networks")
    _address(table.lab.resolver, f"{where}: [lab]: resolver")
    seen: dict[str, str] = {}
    for name, site in table.sites.items():
        label = f"{where}: site {name!r}"
        lab_name = bool(_HOST.fullmatch(name))
        if site.real_name and (lab_name or not _REAL.fullmatch(name)):
            raise TableError(f"{label}: real_name is for a real-world host name")
        if not site.real_name and not lab_name:
            raise TableError(f"{label}: not a name under lab.test (a real one: real_name = true)")
        if site.dir_port is not None and (
            site.service != "tor_relay" or site.dir_port not in site.ports
        ):
            raise TableError(f"{label}: dir_port must be one of a tor_relay's ports")
        if site.udp_ports and site.service != "stun":
            raise TableError(f"{label}: udp_ports are served for a stun site only")
        if site.address is None:
            if site.published:
                raise TableError(f"{label}: a published site needs an address")
            continue
        ip = _address(site.address, f"{label}: address")
        if not (isinstance(ip, ipaddress.IPv4Address) and SITE_RANGE[0] <= ip <= SITE_RANGE[1]):
            raise TableError(f"{label}: address {site.address} is outside 10.77.2.10-99")
        if site.address in seen:
            raise TableError(f"{label}: address {site.address} is also {seen[site.address]!r}'s")
        seen[site.address] = name
    names: set[str] = set()
    for scenario in table.scenarios:
        if scenario.name in names:
            raise TableError(f"{where}: scenario {scenario.name!r}: the name is used twice")
        names.add(scenario.name)


def check_scenario(table: Table, s: Scenario, where: str) -> None:
    if not _NAME.fullmatch(s.name):
        raise TableError(f"{where}: name: lowercase letters, digits and '-' only")
    if s.nettest not in TECHNIQUES_OF:
        raise TableError(f"{where}: nettest: {s.nettest!r} is not one our analysis judges")
    web = s.nettest == "web_connectivity"
    if web and not s.inputs:
        raise TableError(f"{where}: inputs: web_connectivity needs a URL")
    for i, url in enumerate(s.inputs):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise TableError(f"{where}: inputs[{i}]: {url!r} is not an http(s) URL")
        _site(table, parts.hostname or "", f"{where}: inputs[{i}]")
    for key, values in s.endpoints.items():
        for i, value in enumerate(values):
            if key not in _NOT_HOSTS:
                _endpoint(table, value, f"{where}: endpoints.{key}[{i}]")
    for i, rule in enumerate(s.rules):
        _rule(table, rule, f"{where}: rules[{i}]")
    if not _COUNTRY.fullmatch(s.probe_cc):
        raise TableError(f"{where}: probe_cc: {s.probe_cc!r} is not a two-letter country code")
    if s.qa is not None and (not web or not _QA.fullmatch(s.qa)):
        raise TableError(f"{where}: qa: {s.qa!r} is not a web_connectivity QA scenario's name")
    _expect(s, where)


def _expect(s: Scenario, where: str) -> None:
    expect, web = s.expect, s.nettest == "web_connectivity"
    decisive = expect.outcome in _DECISIVE
    if decisive and expect.layer is None:
        raise TableError(f"{where}: expect.layer: a {expect.outcome} verdict names its layer")
    if not decisive and expect.layer is not None:
        raise TableError(f"{where}: expect.layer: an {expect.outcome} verdict names no layer")
    blocks = expect.outcome in (Outcome.BLOCKED, Outcome.TAMPERED)
    if blocks and expect.technique is None:
        raise TableError(f"{where}: expect.technique: a {expect.outcome} verdict names one")
    technique = expect.technique
    if technique is not None and technique not in TECHNIQUES_OF[s.nettest]:
        fingerprint = technique.removeprefix(BLOCKPAGE_PREFIX)
        if not (web and technique.startswith(BLOCKPAGE_PREFIX) and fingerprint):
            raise TableError(
                f"{where}: expect.technique: {technique!r} is not one {s.nettest} can name"
            )
    if web != (expect.classic is not None):
        needs = "needs" if web else "has no"
        raise TableError(f"{where}: expect.classic: {s.nettest} {needs} classic keys")
    blackouts = [r for r in s.rules if isinstance(r, Blackout)]
    if bool(blackouts) != (s.expect_alert is not None):
        raise TableError(f"{where}: expect_alert: expected exactly when a blackout rule is set")
    if blackouts and (s.expect_alert == "outage") != blackouts[0].devices_dark:
        raise TableError(f"{where}: expect_alert: an outage exactly when devices_dark is true")


def _rule(table: Table, rule: Rule, where: str) -> None:
    match rule:
        case DNSAnswer() | DNSInjection():
            _site(table, rule.domain, f"{where}: domain")
            for i, answer in enumerate(rule.addresses):
                _address(answer, f"{where}: addresses[{i}]")
            if isinstance(rule, DNSInjection) and not 0 < rule.delay <= 10:
                raise TableError(f"{where}: delay: {rule.delay} is not in (0, 10] seconds")
        case Drop() | Reset():
            if table.site_of_address(rule.address) is None:
                raise TableError(f"{where}: address: {rule.address} is no site's address")
            if rule.port is not None and not 0 < rule.port < 65536:
                raise TableError(f"{where}: port: {rule.port} is not a port")
        case HTTPHostReset() | HTTPBlockpage():
            _site(table, rule.host, f"{where}: host")
        case TLSSNIBlock() | TLSIntercept():
            _site(table, rule.sni, f"{where}: sni")
        case Throttle():
            if rule.rate_kbit <= 0:
                raise TableError(f"{where}: rate_kbit: {rule.rate_kbit} is not a rate")
            if rule.host is not None:
                _site(table, rule.host, f"{where}: host")
        case Loss() if not 0 < rule.percent < 100:
            raise TableError(f"{where}: percent: {rule.percent} is not in 1-99")


def _site(table: Table, host: str, where: str) -> None:
    if host not in table.sites:
        raise TableError(f"{where}: {host!r} is not one of the lab's [sites]")


def _endpoint(table: Table, value: str, where: str) -> None:
    # A URL, HOST:PORT or a bare host: whichever, its host must be the lab's.
    host = urlsplit(value).hostname if "://" in value else value.rsplit(":", 1)[0]
    if host not in table.sites and table.site_of_address(host or "") is None:
        raise TableError(f"{where}: {value!r} is not one of the lab's sites or their addresses")


def _address(text: str, where: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise TableError(f"{where}: {text!r} is not an IP address") from None


def _network(text: str, where: str) -> None:
    try:
        ipaddress.ip_network(text)
    except ValueError:
        raise TableError(f"{where}: {text!r} is not a network") from None
