"""Probe throughput: `--parallelism 1` against the default, through the whole run path.

100 URLs on 100 loopback addresses (127.0.0.2 – 127.0.0.101), each site answering after a
fixed delay (default 200 ms, a far-away server). Both runs go through the same path as
`netvigil probe run`: the runner (bounded concurrency, per-host politeness), our test
helper over HTTP (its in-flight cap raised for the run), a resolver, recording and JSON
encoding of every measurement. Prints URLs/s for each and, last, `ratio=<float>`
(default parallelism / parallelism 1). Target: ≥ 20.

Usage: python bench/probe_bench.py [--urls 100] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import time

import msgspec

from netvigil.lab.dnsserver import Answer, serve_dns
from netvigil.lab.webserver import Behaviour, WebServer, serve_web
from netvigil.listening import listen
from netvigil.net.backend import StubResolverBackend
from netvigil.probe.runner import DEFAULT_PARALLELISM, RunConfig, run
from netvigil.probe.webconnectivity import Settings
from netvigil.records import WebMeasurement
from netvigil.serving import serve_here
from netvigil.testhelper.app import create_app
from netvigil.testhelper.measure import HelperSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure_all(
    parallelism: int, urls: list[str], backend: StubResolverBackend, helper: str
) -> tuple[float, int]:
    settings = Settings(test_helpers=(helper,), connect_timeout=5, http_timeout=10)
    encoder = msgspec.json.Encoder()
    written: list[bytes] = []

    def sink(measurement: WebMeasurement) -> None:
        written.append(encoder.encode(measurement))  # as `probe run` writes each line

    start = time.perf_counter()
    await run(urls, backend, RunConfig(settings=settings, parallelism=parallelism), sink)
    elapsed = time.perf_counter() - start
    ok = sum(b'"control_failure":null' in line for line in written)
    return elapsed, ok


async def main(count: int, delay: float) -> float:
    zone = {f"site{i}.example": Answer(addresses=(f"127.0.0.{i + 2}",)) for i in range(count)}
    dns_server = await serve_dns(zone)
    page = Behaviour(delay=delay)
    sites: list[WebServer] = []
    port = free_port()
    for i in range(count):
        sites.append(await serve_web(lambda host, path, client: page, f"127.0.0.{i + 2}", port))
    backend = StubResolverBackend(("127.0.0.1", dns_server.port))
    helper_port = free_port()
    app = create_app(backend, HelperSettings(allow_private=True), in_flight=4 * DEFAULT_PARALLELISM)
    helper = asyncio.create_task(serve_here(app, listen("127.0.0.1", helper_port), lifespan="off"))
    await asyncio.sleep(0.5)
    urls = [f"http://site{i}.example:{port}/" for i in range(count)]
    helper_url = f"http://127.0.0.1:{helper_port}/"
    serial, serial_ok = await measure_all(1, urls, backend, helper_url)
    parallel, parallel_ok = await measure_all(DEFAULT_PARALLELISM, urls, backend, helper_url)
    helper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await helper
    print(f"{count} URLs, {delay * 1000:.0f} ms per site, with test helper")
    print(
        f"parallelism 1:  {count / serial:7.1f} URLs/s ({serial:.2f} s, {serial_ok} with control)"
    )
    print(
        f"parallelism {DEFAULT_PARALLELISM}: {count / parallel:7.1f} URLs/s ({parallel:.2f} s, "
        f"{parallel_ok} with control)"
    )
    assert serial_ok == parallel_ok == count, "some measurements had no control"
    print("target: ratio >= 20")
    return serial / parallel


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    ratio = asyncio.run(main(args.urls, args.delay))
    print(f"ratio={ratio:.2f}")
