"""Judging a scenario from what the observatory serves: every field the table names must
match, a lost or unjudged measurement is a failure, and the page must show the rule."""

from __future__ import annotations

from typing import Any

from netvigil.lab.scenario_result import Observed, judge, observed
from netvigil.lab.scenarios import load_table

UID = "20261202061253.835539_ZZ_web_connectivity_96f9b275175b20b0"
PAGE = "<dt>Rule</dt><dd>dns.failure_control_ok</dd><dt>Technique</dt><dd>dns_nxdomain</dd>"


def _scenario(name: str) -> Any:
    (found,) = [s for s in load_table().scenarios if s.name == name]
    return found


def _api(**scores: Any) -> dict[str, Any]:
    """The shape of /api/v1/measurement/{uid} (observatory/api.py): scores and the raw one."""
    return {
        "measurement_uid": UID,
        "scores": {
            "outcome": "blocked",
            "layer": "dns",
            "technique": "dns_nxdomain",
            "rule": "dns.failure_control_ok",
            "confidence": 0.9,
            **scores,
        },
        "raw_measurement": {"test_keys": {"blocking": "dns", "accessible": False}},
    }


def test_a_measurement_served_as_the_table_expects_passes() -> None:
    result = judge(_scenario("dns-nxdomain"), [observed(UID, _api(), PAGE)])
    assert result.passed and result.why is None
    assert result.expected == {
        "outcome": "blocked",
        "layer": "dns",
        "technique": "dns_nxdomain",
        "blocking": "dns",
        "accessible": False,
    }


def test_each_difference_fails_and_names_the_field() -> None:
    scenario = _scenario("dns-nxdomain")
    technique = judge(scenario, [observed(UID, _api(technique="dns_bogon"), PAGE)])
    assert not technique.passed
    assert technique.why == "technique: expected 'dns_nxdomain', got 'dns_bogon'"
    body = _api()
    body["raw_measurement"]["test_keys"]["blocking"] = False
    classic = judge(scenario, [observed(UID, body, PAGE)])
    assert classic.why == "blocking: expected 'dns', got False"


def test_nothing_observed_unjudged_or_a_page_without_the_rule_is_a_failure() -> None:
    scenario = _scenario("dns-nxdomain")
    assert judge(scenario, []).why == "no measurement reached the observatory"
    unjudged = observed(UID, {"measurement_uid": UID, "raw_measurement": {}}, None)
    assert judge(scenario, [unjudged]).why == f"{UID}: the pipeline gave no verdict"
    no_page = judge(scenario, [observed(UID, _api(), None)])
    assert not no_page.passed and "explorer page" in (no_page.why or "")
    other_page = judge(scenario, [observed(UID, _api(), "<p>Blocked</p>")])
    assert not other_page.passed


def test_one_bad_measurement_among_good_ones_fails_the_scenario() -> None:
    good = observed(UID, _api(), PAGE)
    bad = Observed(uid="x", outcome="ok", rule="http.matches_control", page_names_rule=True)
    assert not judge(_scenario("dns-nxdomain"), [good, bad]).passed


def test_a_failed_step_is_the_why_and_never_a_pass() -> None:
    result = judge(_scenario("web-http-ok"), [], problem="probe run: exit status 1")
    assert (result.passed, result.why) == (False, "probe run: exit status 1")


def test_a_nettest_without_classic_keys_is_judged_on_the_verdict_alone() -> None:
    scenario = _scenario("telegram-dc-blackhole")
    body = _api(layer="tcp", technique="tcp_timeout", rule="telegram.dc_unreachable")
    body["raw_measurement"] = {"test_keys": {}}
    result = judge(scenario, [observed(UID, body, "telegram.dc_unreachable")])
    assert result.passed, result.why
    assert "blocking" not in result.expected
