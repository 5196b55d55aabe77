"""The probe learns its public address from the observatory's geolookup answer, end to end.

A site echoes each client's address in its page (as "what is my IP" pages and some
blockpages do); the probe connects from 127.0.0.77 and was never told that address: it must
learn it from the observatory, scrub it from everything it writes, and take its country and
network from the answer (or from its own database when it has one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from netvigil.lab.dnsserver import Answer, DNSServer
from netvigil.lab.webserver import Behaviour, WebServer
from netvigil.probe.whoami import WHOAMI
from tests.cli.loopback_dns import running_dns, system_resolver
from tests.cli.test_probe import CLIENT, running_site
from tests.observatory.running import start_server, wait_ready
from tests.probe.world import free_port

# The probe's resolver is itself (unbound on the probe's machine, a router doing recursion):
# the whoami answer is the probe's own public address, which must never be written.
OWN_RESOLVER = {WHOAMI: Answer(addresses=(CLIENT,))}


def echo(host: str, path: str, client: str) -> Behaviour:
    return Behaviour(body=f"<html><body>your address is {client}</body></html>".encode())


@pytest.fixture
def echo_site() -> Iterator[WebServer]:
    yield from running_site(echo)


def loopback_database(path: Path, cc: str, asn: int, name: str) -> Path:
    # Only the test's own loopback client: the world a real database would describe.
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="ip2country-as")
    writer.insert_network(
        IPSet([f"{CLIENT}/32"]),
        {
            "country": {"iso_code": cc},
            "autonomous_system_number": asn,
            "autonomous_system_organization": name,
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def observatory(tmp_path: Path) -> Iterator[str]:
    data, port = tmp_path / "observatory", free_port()
    loopback_database(data / "geoip.mmdb", "IT", 137, "Consortium GARR")
    server = start_server(data, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def own_resolver() -> Iterator[DNSServer]:
    with running_dns(OWN_RESOLVER) as server:
        yield server


def probe(
    site: WebServer, services: str, data: Path, resolver: DNSServer, *extra: str
) -> tuple[dict[str, object], str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "netvigil",
            "probe",
            "run",
            "--input",
            f"http://127.0.0.1:{site.port}/",
            "--th",
            "http://127.0.0.1:1/",  # no control needed here
            "--probe-services",
            services,
            "--source-address",
            CLIENT,
            "--lab-network",  # a loopback address standing for a public one
            f"{CLIENT}/32",
            "--accept-risks",
            "--json",
            "--data-dir",
            str(data),
            *system_resolver(resolver),  # the run's whoami stays on loopback
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NETVIGIL_HOME": str(data)},
    )
    assert done.returncode == 0, done.stderr
    (result,) = list((data / "results").glob("*.jsonl"))
    (measurement,) = [json.loads(line) for line in result.read_text().splitlines()]
    return measurement, done.stderr


def test_the_learnt_address_is_scrubbed_and_located_by_the_server(
    echo_site: WebServer, observatory: str, own_resolver: DNSServer, tmp_path: Path
) -> None:
    measurement, stderr = probe(echo_site, observatory, tmp_path / "probe", own_resolver)
    location = [measurement[k] for k in ("probe_cc", "probe_asn", "probe_network_name")]
    assert location == ["IT", "AS137", "Consortium GARR"]
    assert measurement["probe_ip"] == "127.0.0.1"
    # Asked once (its A and AAAA questions), the resolver answered with the learnt address:
    # no identity is written, rather than the probe's own address (or "[scrubbed]").
    assert own_resolver.queries.count(WHOAMI) == 2
    keys = measurement["test_keys"]
    assert (measurement["resolver_ip"], keys["client_resolver"]) == ("", "")  # type: ignore[index]
    body = measurement["test_keys"]["requests"][0]["response"]["body"]  # type: ignore[index]
    assert "your address is [scrubbed]" in json.dumps(body)
    for path in (tmp_path / "probe").rglob("*"):
        if path.is_file():
            assert CLIENT.encode() not in path.read_bytes(), path
    # Only the (expected) missing control is warned about: the helper here is down.
    assert [
        line for line in stderr.splitlines() if "warning" in line and "no control" not in line
    ] == []


def test_a_local_database_is_preferred(
    echo_site: WebServer, observatory: str, own_resolver: DNSServer, tmp_path: Path
) -> None:
    mine = loopback_database(tmp_path / "mine.mmdb", "BR", 28573, "Claro NXT")
    given = ("--geoip-db", str(mine))
    measurement, _ = probe(echo_site, observatory, tmp_path / "probe", own_resolver, *given)
    assert [measurement["probe_cc"], measurement["probe_asn"]] == ["BR", "AS28573"]


def test_an_unreachable_observatory_is_one_warning_and_zz_as0(
    echo_site: WebServer, own_resolver: DNSServer, tmp_path: Path
) -> None:
    services = f"http://127.0.0.1:{free_port()}"
    measurement, stderr = probe(echo_site, services, tmp_path / "p", own_resolver)
    assert [measurement["probe_cc"], measurement["probe_asn"]] == ["ZZ", "AS0"]
    # No address to check a whoami answer against: the resolver is not even asked.
    assert (own_resolver.queries, measurement["resolver_ip"]) == ([], "")
    warnings = [line for line in stderr.splitlines() if "warning" in line and "control" not in line]
    assert len(warnings) == 1 and "ZZ/AS0" in warnings[0]
    body = json.dumps(measurement["test_keys"]["requests"][0]["response"]["body"])  # type: ignore[index]
    assert CLIENT in body  # nothing to scrub with: which is why the warning matters
