"""The lab's scenario table: it loads, covers the issue's techniques, and expects only what
our analysis can say — checked against OONI's netem QA measurements where one matches.

No root and no network: the table is data, and the QA files are read from the shared corpus.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from netvigil.addresses import Bogons, is_loopback
from netvigil.analysis.fingerprints import FingerprintDB, confirms
from netvigil.analysis.layered import analyze
from netvigil.analysis.nettests import BLOCKPAGE_PREFIX, TECHNIQUES_OF
from netvigil.analysis.verdicts import Layer, Outcome
from netvigil.lab.rules import (
    Blackout,
    DNSAnswer,
    DNSInjection,
    Drop,
    HTTPBlockpage,
    HTTPHostReset,
    Loss,
    OneWayCut,
    Reset,
    Throttle,
    TLSIntercept,
    TLSSNIBlock,
)
from netvigil.lab.scenario_records import Scenario
from netvigil.lab.scenarios import MAX_SCENARIOS, TableError, load_table, select, summary
from netvigil.records import decode_measurement
from tests.corpus import QA

TABLE = load_table()
DB = FingerprintDB.load()
# The lab's own addresses stand for public hosts; only what a censor answers beyond them is a bogon.
BOGON = Bogons.with_lab(TABLE.lab.networks)
MESSAGING = ("signal", "telegram", "whatsapp", "facebook_messenger")
CIRCUMVENTION = ("tor", "stunreachability", "vanilla_tor", "torsf", "psiphon", "riseupvpn")


def _dns_answer(s: Scenario, test: Callable[[DNSAnswer], bool]) -> bool:
    return any(isinstance(r, DNSAnswer) and test(r) for r in s.rules)


def _blockpage_ip(s: Scenario, r: DNSAnswer) -> bool:
    """A blockpage address whose fingerprint's country is the probe's (docs/fingerprints.md)."""
    return any(confirms(m.fingerprint, s.probe_cc) for ip in r.addresses for m in DB.match_dns(ip))


def _bogon(s: Scenario, r: DNSAnswer) -> bool:
    return bool(r.addresses) and all(map(BOGON, r.addresses)) and not _blockpage_ip(s, r)


def _sni(action: str) -> Callable[[Scenario], bool]:
    return lambda s: any(isinstance(r, TLSSNIBlock) and r.action == action for r in s.rules)


def _has(kind: type) -> Callable[[Scenario], bool]:
    return lambda s: any(isinstance(r, kind) for r in s.rules)


def _blocks(nettest: str) -> Callable[[Scenario], bool]:
    return lambda s: s.nettest == nettest and s.expect.outcome is Outcome.BLOCKED and bool(s.rules)


def _control(nettest: str, scheme: str = "") -> Callable[[Scenario], bool]:
    return lambda s: (
        s.nettest == nettest
        and not s.rules
        and s.expect.outcome is Outcome.OK
        and all(url.startswith(scheme) for url in s.inputs)
    )


# Issue 14's list, from its text ("Build"), not from the table.
ISSUE: dict[str, Callable[[Scenario], bool]] = {
    "DNS NXDOMAIN": lambda s: _dns_answer(s, lambda r: r.rcode == "NXDOMAIN"),
    "DNS bogon answer": lambda s: _dns_answer(s, lambda r: _bogon(s, r)),
    "DNS blockpage-IP answer": lambda s: _dns_answer(s, lambda r: _blockpage_ip(s, r)),
    "DNS injection (a forged reply racing the real one)": _has(DNSInjection),
    "IP blackhole (drop)": _has(Drop),
    "RST on connect": _has(Reset),
    "HTTP Host-header RST": _has(HTTPHostReset),
    "HTTP blockpage injection": _has(HTTPBlockpage),
    "TLS SNI-keyed RST": _sni("reset"),
    "TLS SNI-keyed drop": _sni("drop"),
    "TLS SNI-keyed timeout": _sni("timeout"),
    "TLS interception with an unknown CA": _has(TLSIntercept),
    "throttling (tbf/htb)": _has(Throttle),
    "random loss": _has(Loss),
    "a one-way cut": _has(OneWayCut),
    **{f"blocking of {app}": _blocks(app) for app in MESSAGING},
    "blocking of tor": _blocks("tor"),
    "blocking of stunreachability": _blocks("stunreachability"),
    "full blackout": lambda s: any(isinstance(r, Blackout) and not r.devices_dark for r in s.rules),
    "full blackout, devices dark": lambda s: any(
        isinstance(r, Blackout) and r.devices_dark for r in s.rules
    ),
    "no censorship: web_connectivity over http": _control("web_connectivity", "http://"),
    "no censorship: web_connectivity over https": _control("web_connectivity", "https://"),
    "no censorship: a messaging nettest": lambda s: any(_control(a)(s) for a in MESSAGING),
    "no censorship: a circumvention nettest": lambda s: any(_control(t)(s) for t in CIRCUMVENTION),
}


def test_the_bundled_table_has_at_least_30_uniquely_named_scenarios() -> None:
    names = [s.name for s in TABLE.scenarios]
    assert len(names) >= 30
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("technique", list(ISSUE))
def test_every_technique_of_the_issue_has_a_scenario(technique: str) -> None:
    assert any(ISSUE[technique](s) for s in TABLE.scenarios), technique


@pytest.mark.parametrize("scenario", TABLE.scenarios, ids=lambda s: s.name)
def test_expectations_are_ids_our_analysis_gives(scenario: Scenario) -> None:
    expect = scenario.expect
    assert Outcome(expect.outcome) is expect.outcome
    assert expect.layer is None or Layer(expect.layer) is expect.layer
    technique = expect.technique
    if technique is None:
        return
    if not technique.startswith(BLOCKPAGE_PREFIX):
        assert technique in TECHNIQUES_OF[scenario.nettest]
        return
    # A blockpage technique names a real fingerprint, and the censor's page matches it.
    name = technique.removeprefix(BLOCKPAGE_PREFIX)
    assert DB.named(name) is not None, name
    pages = [r for r in scenario.rules if isinstance(r, HTTPBlockpage)]
    assert any(m.fingerprint.name == name for r in pages for m in DB.match_http(r.body, {}))


def test_a_blockpage_no_fingerprint_knows_is_expected_as_a_diff() -> None:
    diffs = [s for s in TABLE.scenarios if s.expect.technique == "http_diff"]
    assert diffs
    for s in diffs:
        assert all(not DB.match_http(r.body, {}) for r in s.rules if isinstance(r, HTTPBlockpage))


def test_dns_answers_are_expected_as_our_dns_rules_name_them() -> None:
    # dns_rules.dns_layer: a fingerprinted address confirmed for the probe's country is a
    # blockpage IP; other bogons are bogons, loopback ones dns_loopback.
    for s in TABLE.scenarios:
        for r in s.rules:
            if not isinstance(r, DNSAnswer) or not r.addresses:
                continue
            if _blockpage_ip(s, r):
                assert s.expect.technique == "dns_blockpage_ip", s.name
            elif _bogon(s, r):
                loopback = all(map(is_loopback, r.addresses))
                assert s.expect.technique == ("dns_loopback" if loopback else "dns_bogon"), s.name


QA_LINKED = [s for s in TABLE.scenarios if s.qa is not None]


def test_at_least_a_dozen_scenarios_name_their_qa_twin() -> None:
    assert len(QA_LINKED) >= 12


@pytest.mark.parametrize("scenario", QA_LINKED, ids=lambda s: s.name)
def test_qa_twins_agree_on_classic_keys_and_our_verdict(scenario: Scenario) -> None:
    raw = (QA / f"{scenario.qa}.json").read_bytes()
    keys = msgspec.json.decode(raw)["test_keys"]
    classic = scenario.expect.classic
    assert classic is not None
    assert (classic.blocking, classic.accessible) == (keys["blocking"], keys["accessible"])
    verdict = analyze(decode_measurement(raw), DB)
    expect = scenario.expect
    assert (verdict.outcome, verdict.layer, verdict.technique) == (
        expect.outcome,
        expect.layer,
        expect.technique,
    ), verdict.rule


def test_shutdowns_expect_an_alert_and_the_dark_one_an_outage() -> None:
    alerts = {s.name: s.expect_alert for s in TABLE.scenarios if s.expect_alert}
    assert sorted(alerts.values()) == ["outage", "shutdown"]


def test_select_keeps_the_order_asked_and_all_for_none() -> None:
    picked = select(TABLE, ["tls-sni-reset", "dns-nxdomain", "tls-sni-reset"])
    assert [s.name for s in picked] == ["tls-sni-reset", "dns-nxdomain"]
    assert select(TABLE, []) == TABLE.scenarios


def test_select_refuses_an_unknown_name_with_the_closest_ones() -> None:
    with pytest.raises(TableError) as caught:
        select(TABLE, ["dns-nxdomian"])
    assert str(caught.value).startswith(
        "unknown scenario 'dns-nxdomian': did you mean dns-nxdomain"
    )
    with pytest.raises(TableError, match="netvigil lab list"):
        select(TABLE, ["zzzzzzzz"])


def test_summary_is_one_line_naming_the_scenario_and_its_verdict() -> None:
    for s in TABLE.scenarios:
        line = summary(s)
        assert "\n" not in line
        assert line.startswith(s.name)
        assert f"-> {s.expect.outcome}" in line
    assert "alert=outage" in summary(select(TABLE, ["shutdown-blackout-devices-dark"])[0])


MINIMAL = """
[lab]
networks = ["10.77.0.0/16"]
resolver = "10.77.2.53"
[sites."www.lab.test"]
address = "10.77.2.10"
[[scenario]]
name = "x"
description = "d"
nettest = "web_connectivity"
inputs = ["http://www.lab.test/"]
rules = [{ kind = "drop", address = "10.77.2.10" }, RULE]
expect = { outcome = "blocked", layer = "tcp", technique = "tcp_timeout", classic = {} }
"""
GOOD_RULE = '{ kind = "tls_sni", sni = "www.lab.test" }'


def _load(tmp_path: Path, text: str) -> TableError:
    path = tmp_path / "scenarios.toml"
    path.write_text(text)
    with pytest.raises(TableError) as caught:
        load_table(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("scenarios.toml: "), message
    return caught.value


def test_the_minimal_table_loads(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_text(MINIMAL.replace("RULE", GOOD_RULE))
    assert [s.name for s in load_table(path).scenarios] == ["x"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[lab]", "[lab", "not TOML: "),
        (
            GOOD_RULE,
            '{ kind = "dns_poison", domain = "www.lab.test" }',
            "scenario 'x': rules[1].kind: Invalid value 'dns_poison'",
        ),
        (GOOD_RULE, '{ kind = "dns_answer" }', "rules[1]: Object missing required field `domain`"),
        (GOOD_RULE, '{ kind = "loss", percent = "ten" }', "rules[1].percent: Expected `int`"),
        (GOOD_RULE, '{ kind = "tls_sni", sni = "www.lab.test", via = 1 }', "unknown field `via`"),
        (GOOD_RULE, '{ kind = "tls_sni", sni = "example.com" }', "rules[1]: sni: 'example.com'"),
        (GOOD_RULE, '{ kind = "drop", address = "192.0.2.1" }', "rules[1]: address: 192.0.2.1"),
        ('"tcp_timeout"', '"tcp_blocked"', "expect.technique: 'tcp_blocked' is not one"),
        ('outcome = "blocked"', 'outcome = "censored"', "expect.outcome: Invalid enum value"),
        ('layer = "tcp", ', "", "expect.layer: a blocked verdict names its layer"),
        (", classic = {}", "", "expect.classic: web_connectivity needs classic keys"),
        ('"10.77.2.10"\n[[', '"10.77.3.10"\n[[', "site 'www.lab.test': address 10.77.3.10 is"),
        ("http://www.lab.test/", "http://www.example.com/", "inputs[0]: 'www.example.com'"),
        ('"web_connectivity"', '"web_connectivty"', "nettest: 'web_connectivty' is not one"),
        ("[lab]", "[labs]", "unknown section 'labs'"),
        ('."www.lab.test"]', '."www.example.com"]', "site 'www.example.com': not a name under"),
        (
            'address = "10.77.2.10"\n',
            'address = "10.77.2.10"\nport = 80\n',
            "site 'www.lab.test': ",
        ),
        (
            'address = "10.77.2.10"\n',
            'address = "10.77.2.10"\ndir_port = 9030\n',
            "site 'www.lab.test': dir_port must be one of a tor_relay's ports",
        ),
        (
            'address = "10.77.2.10"\n',
            'address = "10.77.2.10"\nservice = "tor_relay"\nports = [9001]\ndir_port = 9030\n',
            "site 'www.lab.test': dir_port must be one of a tor_relay's ports",
        ),
        (
            'address = "10.77.2.10"\n',
            'address = "10.77.2.10"\nudp_ports = [3478]\n',
            "site 'www.lab.test': udp_ports are served for a stun site only",
        ),
    ],
)
def test_a_hostile_table_is_one_precise_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = MINIMAL.replace("RULE", GOOD_RULE)
    assert old in text
    assert message in str(_load(tmp_path, text.replace(old, new, 1)))


def test_a_duplicate_name_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("RULE", GOOD_RULE)
    scenario = text[text.index("[[scenario]]") :]
    error = _load(tmp_path, text + scenario)
    assert "scenario 'x': the name is used twice" in str(error)


def test_ten_thousand_scenarios_are_refused_before_any_is_decoded(tmp_path: Path) -> None:
    # Bare entries: the count is refused first, so none of them needs to be valid.
    text = MINIMAL.replace("RULE", GOOD_RULE) + "[[scenario]]\n" * 9_999
    error = _load(tmp_path, text)
    assert f"10000 scenarios, more than the {MAX_SCENARIOS} allowed" in str(error)


def test_a_missing_or_binary_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.toml"
    with pytest.raises(TableError, match=r"^scenarios.toml: cannot read: "):
        load_table(path)
    path.write_bytes(b"\xff\xfe[lab]")
    with pytest.raises(TableError, match=r"^scenarios.toml: not UTF-8"):
        load_table(path)


def test_the_table_s_addresses_are_the_topology_s() -> None:
    # The table and lab/topology.py are written apart: a site must sit on one of the server
    # namespace's site addresses, and the table's resolver must be the one the lab starts.
    from netvigil.lab.topology import RESOLVER, plan

    table = load_table()
    addresses = plan("t").site_addresses
    placed = {name: site.address for name, site in table.sites.items() if site.address}
    assert table.lab.resolver == RESOLVER
    assert set(placed.values()) <= set(addresses), placed
    assert RESOLVER not in placed.values()
