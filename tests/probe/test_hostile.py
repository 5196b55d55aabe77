"""Hostile servers cannot hurt the probe: every step ends by its deadline, bodies stay
capped, memory stays bounded, and the run goes on to the next URL."""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path

from netvigil.lab.dnsserver import Answer
from netvigil.lab.webserver import Behaviour
from netvigil.net.http import MAX_BODY
from netvigil.probe.runner import RunConfig, run
from netvigil.probe.webconnectivity import Settings
from netvigil.records import WebMeasurement, bytes_of
from tests.probe.world import SITE, world

HOSTILE = {
    "/endless": Behaviour(kind="endless"),  # a body of gigabytes, as fast as it can go
    "/drip": Behaviour(kind="drip", interval=5.0),  # one byte every five seconds
    "/flood": Behaviour(kind="header_flood"),  # 100,000 headers
    "/bomb": Behaviour(kind="gzip_bomb"),  # 64 MiB of zeros in 64 KiB of gzip
    "/loop": Behaviour(kind="redirect", status=302, location="/loop"),
    "/garbage": Behaviour(kind="garbage"),
}
# The hostile servers share the probe's event loop and CPU, so on a loaded machine honest
# work is slow and deadlines fire late (with 2 s, an endless body had not begun in 9 s and a
# drip ended 4 s late on a busy 2-core machine). Deadlines far above honest work; the bound
# on a request's duration only tells "ended by its deadline" from "never ended".
STEP_DEADLINE = 10.0
HTTP_DEADLINE = 10.0
ENDED_BY_DEADLINE = 60.0  # seconds; without a deadline the drip alone lasts over 10 minutes


def test_hostile_servers(tmp_path: Path) -> None:
    zone = {
        "www.example.com": Answer(addresses=(SITE,)),
        "broken-dns.example.com": Answer(malformed=True),
    }

    async def scenario() -> list[WebMeasurement]:
        async with world(tmp_path, honest_zone=zone, probe_zone=zone, site=Behaviour()) as w:
            w.http.router = lambda host, path, client: HOSTILE.get(path, Behaviour())
            w.https.tls = None  # the "TLS" port answers garbage to the ClientHello
            w.https.router = lambda host, path, client: Behaviour(kind="garbage")
            urls = [f"http://www.example.com:{w.http.port}{path}" for path in HOSTILE]
            urls += [
                f"https://www.example.com:{w.https.port}/",  # a garbage TLS reply
                f"http://broken-dns.example.com:{w.http.port}/",  # a malformed DNS reply
                f"http://www.example.com:{w.http.port}/fine",  # and the run goes on
            ]
            settings = Settings(
                test_helpers=(w.helper_url,),
                ca_file=str(w.ca.cert_file),
                resolver=(SITE, w.lying.port),
                dns_timeout=STEP_DEADLINE,
                connect_timeout=STEP_DEADLINE,
                tls_timeout=STEP_DEADLINE,
                http_timeout=HTTP_DEADLINE,
                control_timeout=20,
            )
            out: list[WebMeasurement] = []
            await run(
                urls, w.probe_backend(), RunConfig(settings=settings, parallelism=4), out.append
            )
            return out

    tracemalloc.start()
    measurements = asyncio.run(scenario())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"
    by_path = {m.url.split("/", 3)[-1]: m for m in measurements if m.url.startswith("http://www")}
    assert len(measurements) == len(HOSTILE) + 3, sorted(m.url for m in measurements)
    for measurement in measurements:
        keys = measurement.test_keys
        assert keys is not None
        for request in keys.requests or ():
            assert request.t is not None and request.t0 is not None
            assert request.t - request.t0 < ENDED_BY_DEADLINE, request.request.url
            body = bytes_of(request.response.body if request.response else None)
            assert len(body) <= MAX_BODY
    failure = {
        p: m.test_keys.requests[0] if m.test_keys and m.test_keys.requests else None
        for p, m in by_path.items()
    }
    endless = failure["endless"]
    assert endless is not None and endless.response is not None
    assert endless.response.body_is_truncated
    assert failure["drip"] is not None and failure["drip"].failure == "generic_timeout_error"
    assert failure["flood"] is not None and failure["flood"].failure is not None
    bomb = failure["bomb"]
    assert bomb is not None and bomb.response is not None and bomb.response.body_is_truncated
    loop = failure["loop"]
    assert loop is not None and loop.failure == "unknown_failure: stopped after too many redirects"
    assert failure["garbage"] is not None and failure["garbage"].failure is not None
    tls = next(m for m in measurements if m.url.startswith("https://")).test_keys
    assert tls is not None and tls.tls_handshakes and tls.tls_handshakes[0].failure is not None
    broken = next(m for m in measurements if "broken-dns" in m.url)
    assert broken.test_keys is not None and broken.test_keys.queries
    assert all(q.failure for q in broken.test_keys.queries)
    fine = failure["fine"]
    assert fine is not None and fine.failure is None and fine.response is not None
    assert fine.response.code == 200
