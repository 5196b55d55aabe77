"""The helper's control measurement on the fake network: legacy strings, and bugs raise."""

from __future__ import annotations

import asyncio

import pytest

from netvigil.net.fake import BLACKHOLE, FakeNetwork, http_response
from netvigil.records import ControlRequest, ControlResponse
from netvigil.testhelper.measure import HelperSettings, control

SITE = "192.0.2.1"
NAMES = {"www.example.com": [SITE]}
PAGE = http_response(200, b"<html><title>Example</title></html>")
# 192.0.2.1 is a documentation address, which the helper refuses unless told otherwise.
SETTINGS = HelperSettings(endpoint_timeout=0.05, allow_private=True)


def controlled(network: FakeNetwork, url: str = "http://www.example.com/") -> ControlResponse:
    return asyncio.run(control(ControlRequest(http_request=url), network, SETTINGS))


def test_a_control_measurement() -> None:
    network = FakeNetwork(names=NAMES, endpoints={(SITE, 80): PAGE, (SITE, 443): BLACKHOLE})
    answer = controlled(network)
    assert answer.dns is not None and answer.dns.addrs == [SITE]
    assert answer.tcp_connect is not None
    assert answer.tcp_connect[f"{SITE}:80"].status is True
    assert answer.tcp_connect[f"{SITE}:443"].failure == "generic_timeout_error"
    assert answer.http_request is not None and answer.http_request.title == "Example"
    assert network.resolved == ["www.example.com"]


def test_failures_in_the_legacy_vocabulary() -> None:
    answer = controlled(FakeNetwork())  # no such name
    assert answer.dns is not None and answer.dns.failure == "dns_name_error"
    assert answer.http_request is not None and answer.http_request.failure == "dns_lookup_error"
    refused = controlled(FakeNetwork(names=NAMES))
    assert refused.tcp_connect is not None
    assert refused.tcp_connect[f"{SITE}:80"].failure == "connection_refused_error"


@pytest.mark.parametrize("location", ["http://www.example.com:99999/", "http://[x/"])
def test_a_redirect_to_an_unusable_location_is_unknown_error(location: str) -> None:
    moved = http_response(302, headers=[("Location", location)])
    answer = controlled(FakeNetwork(names=NAMES, endpoints={(SITE, 80): moved}))
    assert answer.http_request is not None and answer.http_request.failure == "unknown_error"


def test_a_bug_in_the_resolver_raises() -> None:
    with pytest.raises(RuntimeError):
        controlled(FakeNetwork(names={"www.example.com": RuntimeError("bug")}))


def test_a_bug_in_a_connect_raises() -> None:
    with pytest.raises(BaseExceptionGroup) as raised:  # from the task group of endpoints
        controlled(FakeNetwork(names=NAMES, endpoints={(SITE, 80): RuntimeError("bug")}))
    assert raised.group_contains(RuntimeError)
