"""--endpoint values: parsed once, refused in one line when they do not parse."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from netvigil.probe.nettest import EndpointError, Endpoints, parse_host
from netvigil.probe.nettests import NETTESTS
from netvigil.probe.report import Location, nettest_envelope, report_id
from netvigil.records import Record, decode_measurement


def test_a_key_may_repeat_and_its_values_keep_their_order() -> None:
    given = Endpoints.parse(["dc=127.0.0.1:8443", "web=https://127.0.0.1:8444/", "dc=[::1]:80"])
    assert given.host_ports("dc", ("149.154.175.50:443",)) == (("127.0.0.1", 8443), ("::1", 80))
    assert given.urls("web", ()) == ("https://127.0.0.1:8444/",)
    assert given.get("other", ("x:1",)) == ("x:1",)  # the nettest's default
    assert given.keys() == frozenset({"dc", "web"})


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["dc"], "'dc' is not KEY=VALUE"),
        (["=127.0.0.1:1"], "is not KEY=VALUE"),
        (["DC=127.0.0.1:1"], "is not KEY=VALUE"),
        (["dc="], "is not KEY=VALUE"),
    ],
)
def test_an_item_that_is_not_key_value_is_refused(items: list[str], message: str) -> None:
    with pytest.raises(EndpointError, match=message):
        Endpoints.parse(items)


@pytest.mark.parametrize(
    "value", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "host:port", "[nothost]:80", "a b:80"]
)
def test_a_host_port_that_does_not_parse_is_refused(value: str) -> None:
    with pytest.raises(EndpointError, match="is not HOST:PORT") as caught:
        Endpoints.parse([f"dc={value}"]).host_ports("dc", ())
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value", ["ftp://x/", "https://", "https://h:99999/", "not a url"])
def test_a_url_that_does_not_parse_is_refused(value: str) -> None:
    with pytest.raises(EndpointError, match="is not a http/https URL"):
        Endpoints.parse([f"web={value}"]).urls("web", ())


def test_a_key_the_nettest_does_not_take_is_named_with_those_it_takes() -> None:
    with pytest.raises(EndpointError, match=r"'dcc' is not one this test takes \(dc, web\)"):
        Endpoints.parse(["dcc=127.0.0.1:1"]).check({"web", "dc"})


def test_a_value_a_parser_refuses_is_named_with_its_key() -> None:
    given = Endpoints.parse(["uptime=localhost", "uptime=a b"])
    with pytest.raises(EndpointError) as caught:
        given.values("uptime", (), parse_host)
    assert str(caught.value) == "--endpoint uptime: 'a b' is not a host name or address"
    assert Endpoints.parse(["uptime=::1"]).values("uptime", (), parse_host) == ("::1",)


def test_only_gives_a_nettest_its_own_keys() -> None:
    given = Endpoints.parse(["dc=127.0.0.1:1", "web=https://127.0.0.1/", "stun=127.0.0.1:2"])
    assert given.only({"dc", "web", "other"}).keys() == frozenset({"dc", "web"})
    assert given.only(()).keys() == frozenset()


@pytest.mark.parametrize("name", sorted(NETTESTS))
def test_every_nettest_checks_its_endpoints_its_defaults_pass_and_other_keys_do_not(
    name: str,
) -> None:
    nettest = NETTESTS[name]
    nettest.check_endpoints(Endpoints())  # OONI's defaults are values it can use
    with pytest.raises(EndpointError, match=r"'nokey' is not one this test takes \(") as caught:
        nettest.check_endpoints(Endpoints.parse(["nokey=127.0.0.1:1"]))
    takes = str(caught.value).rpartition("(")[2].rstrip(")")
    assert takes == (", ".join(sorted(nettest.endpoint_help)) or "none")  # declared, all of them


class _Keys(Record, frozen=True):
    failure: str | None = None


def test_the_envelope_of_any_nettest_is_df000_without_the_probe_address() -> None:
    start = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    location = Location(probe_cc="IT", probe_asn="AS3269")
    rid = report_id(start, location, "facebook_messenger")
    assert rid.startswith("20261201T100000Z_facebookmessenger_IT_3269_n1_")
    measurement = nettest_envelope(
        "telegram",
        "0.3.0",
        None,
        _Keys(failure="generic_timeout_error"),
        location=location,
        report=rid,
        started=start,
        test_started=start,
        runtime=1.5,
    )
    decoded = decode_measurement(msgspec.json.encode(measurement))
    assert (decoded.test_name, decoded.probe_ip, decoded.input, decoded.measurement_start_time) == (
        "telegram",
        "127.0.0.1",
        None,
        "2026-12-01 10:00:00",
    )
    assert decoded.test_keys_object() == {"failure": "generic_timeout_error"}
