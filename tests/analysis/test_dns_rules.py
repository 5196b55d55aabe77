"""The layered DNS layer: a private answer the control also got (issue 9 §2)."""

from __future__ import annotations

import json
from typing import Any

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Layer, Outcome, Verdict
from netvigil.records import decode_measurement
from tests.corpus import QA

DB = FingerprintDB.load()


def verdict(data: dict[str, Any]) -> Verdict:
    return analyze(decode_measurement(json.dumps(data).encode()), DB)


def with_private_answer(scenario: str, address: str) -> dict[str, Any]:
    """The QA scenario with `address` added to every A answer of the probe and the control's.

    A site that publishes a private address beside its public one (a leftover internal
    record); the probe connects to the public one, as in the scenario.
    """
    data: dict[str, Any] = json.loads((QA / f"{scenario}.json").read_bytes())
    keys = data["test_keys"]
    for query in keys["queries"]:
        if query["query_type"] in ("A", "ANY") and query["answers"]:
            query["answers"].append({"answer_type": "A", "ipv4": address, "ttl": None})
    keys["control"]["dns"]["addrs"].append(address)
    return data


def dns_layer(v: Verdict) -> Any:
    return next(layer for layer in v.layers if layer.layer is Layer.DNS)


def test_a_private_answer_the_control_also_got_is_not_down_when_the_page_matches() -> None:
    # 127.0.0.1 is also a known (unconfirming) DNS blockpage address.
    for address, kinds in (
        ("10.0.0.7", ["dns_bogon_in_control"]),
        ("127.0.0.1", ["dns_fingerprint_unconfirmed", "dns_bogon_in_control"]),
    ):
        v = verdict(with_private_answer("successWithHTTP", address))
        assert v.outcome is Outcome.OK, (address, v.rule)
        assert dns_layer(v).rule == "dns.bogon_in_control_page_ok"
        assert [f.kind for f in v.findings] == kinds


def test_over_https_too() -> None:
    v = verdict(with_private_answer("successWithHTTPS", "192.168.1.1"))
    assert v.outcome is Outcome.OK and dns_layer(v).rule == "dns.bogon_in_control_page_ok"


def test_without_the_page_the_same_bogon_is_still_down() -> None:
    # The site's DNS really answers 127.0.0.1 and nothing is fetched (QA localhostWithHTTP).
    data: dict[str, Any] = json.loads((QA / "localhostWithHTTP.json").read_bytes())
    v = verdict(data)
    assert (v.outcome, v.layer, v.rule) == (Outcome.DOWN, Layer.DNS, "dns.bogon_in_control")


def test_a_bogon_only_the_probe_got_is_still_blocked() -> None:
    data = with_private_answer("successWithHTTP", "10.0.0.7")
    data["test_keys"]["control"]["dns"]["addrs"].remove("10.0.0.7")
    v = verdict(data)
    assert (v.outcome, v.layer, v.rule) == (Outcome.BLOCKED, Layer.DNS, "dns.bogon_not_in_control")
