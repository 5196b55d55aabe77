"""The running server: no trace of its clients, and load answered with 200 or 503."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import uvicorn

from netvigil.datadir import DataDir
from netvigil.observatory import collector, services
from netvigil.observatory.archive import Archive
from tests.corpus import qa_files
from tests.observatory.apps import SECRET, bare, now
from tests.observatory.running import read_until, start_server, wait_ready
from tests.probe.world import free_port

CLIENT = "127.0.0.77"
GIVE_UP = 120.0  # seconds: bounds that only end a hung run, never a speed expectation


def test_server_keeps_no_trace_of_client_addresses(tmp_path: Path) -> None:
    data, port = tmp_path / "observatory", free_port()
    server = start_server(data, port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        transport = httpx.HTTPTransport(local_address=CLIENT)
        with httpx.Client(transport=transport, base_url=url, timeout=10) as client:
            report = client.post(
                "/report",
                json={"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"},
            ).json()
            for path in qa_files()[:5]:
                answer = client.post(
                    f"/report/{report['report_id']}",
                    json={"format": "json", "content": json.loads(path.read_text())},
                )
                assert answer.status_code == 200
            # The one answer that names the client's address: it goes back, nowhere else.
            told = client.post("/api/v1/geolookup", json={"addresses": []}).json()
            assert told["client"]["ip"] == CLIENT
            client.post("/report/not-a-report", content=b"{")  # an error path too
            client.get("/api/v1/measurements?probe_cc=nope")
            deadline = time.monotonic() + GIVE_UP  # until the pipeline has written its tables
            while (count := client.get("/api/v1/measurements").json()["metadata"]["count"]) < 5:
                assert time.monotonic() < deadline, f"hung: {count} of 5 measurements in tables"
                time.sleep(0.1)
            assert count == 5
    finally:
        server.terminate()
        logs, _ = server.communicate(timeout=10)
    assert CLIENT not in logs.decode()
    for path in data.rglob("*"):
        if path.is_file():
            assert CLIENT.encode() not in path.read_bytes(), path


def test_over_capacity_is_only_200_or_503_with_retry_after(tmp_path: Path) -> None:
    """The collector (and the probe services, to say it is ready) on a real socket."""
    port, archive = free_port(), Archive(DataDir(root=tmp_path).archive)
    routes = [
        *collector.routes(archive, SECRET, now=now, capacity=4, rate=50),
        *services.routes(SECRET, now=now),
    ]
    config = uvicorn.Config(
        bare(routes, archive),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_ready(url)
    report = httpx.post(
        f"{url}/report",
        json={"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"},
    ).json()["report_id"]
    seeds = [json.loads(p.read_text()) for p in qa_files()]

    async def flood() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"/report/{report}",
                        json={
                            "format": "json",
                            "content": {**seeds[n % 50], "annotations": {"n": str(n)}},
                        },
                    )
                    for n in range(200)
                )
            )

    try:
        responses = asyncio.run(flood())
    finally:
        server.should_exit = True
        thread.join(10)
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0 and statuses[503] > 0, statuses
    assert all(r.headers.get("retry-after") for r in responses if r.status_code == 503)


def test_a_failing_pipeline_is_one_line_and_collection_goes_on(tmp_path: Path) -> None:
    data, port = tmp_path / "observatory", free_port()
    data.mkdir()
    (data / "tables").write_text("a file where the tables folder should be")
    server = start_server(data, port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url, seen = f"http://127.0.0.1:{port}", b""
    try:
        wait_ready(url)
        report = httpx.post(
            f"{url}/report",
            json={"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"},
        ).json()["report_id"]
        content = json.loads(qa_files()[0].read_text())
        answer = httpx.post(f"{url}/report/{report}", json={"format": "json", "content": content})
        assert answer.status_code == 200  # acknowledged: it is in the archive
        assert server.stdout is not None
        wanted = b"error: the pipeline stopped; restarting in"
        seen = read_until(server.stdout.fileno(), wanted, GIVE_UP)
        assert wanted in seen, seen
    finally:
        server.terminate()
        logs = (seen + server.communicate(timeout=GIVE_UP)[0]).decode()
    assert "Traceback" not in logs
    assert "error: pipeline step failed:" in logs
    assert "error: the pipeline stopped; restarting in 5 s" in logs
