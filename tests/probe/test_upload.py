"""Measurements made offline are uploaded later, once each, with their own start time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from netvigil.cli.main import app
from netvigil.net.fake import FakeNetwork, http_response
from netvigil.probe.upload import upload
from tests.corpus import qa_files
from tests.observatory.running import start_server, wait_ready
from tests.probe.world import free_port

runner = CliRunner()


def test_offline_results_upload_later_once_each(tmp_path: Path) -> None:
    data = tmp_path / "probe"
    (data / "results").mkdir(parents=True)
    lines = [json.dumps(json.loads(p.read_text())) for p in qa_files()[:3]]
    (data / "results" / "20240212T203347Z.jsonl").write_text("\n".join(lines) + "\n")

    offline = runner.invoke(
        app, ["probe", "upload", "--collector", "http://127.0.0.1:1/", "--data-dir", str(data)]
    )
    assert offline.exit_code == 1 and "kept for later" in offline.stderr
    assert f"`netvigil probe upload --collector URL --data-dir {data}`" in offline.stderr

    port = free_port()
    server = start_server(tmp_path / "observatory", port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        first = runner.invoke(app, ["probe", "upload", "--collector", url, "--data-dir", str(data)])
        assert first.exit_code == 0, first.output
        assert "uploaded 3" in first.stderr
        again = runner.invoke(app, ["probe", "upload", "--collector", url, "--data-dir", str(data)])
        assert "uploaded 0, already uploaded 3" in again.stderr
        uids = [
            json.loads(line)["uid"] for line in (data / "uploaded.jsonl").read_text().splitlines()
        ]
        assert f"measurement uid(s): {', '.join(uids)}" in first.stderr.splitlines()
        for uid, line in zip(uids, lines, strict=True):
            raw = httpx.get(f"{url}/api/v1/raw_measurement", params={"measurement_uid": uid}).json()
            assert raw["measurement_start_time"] == json.loads(line)["measurement_start_time"]
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"<html>maintenance</html>", "not a JSON object"),
        (b"{}", "no report_id in the collector's answer"),
    ],
)
def test_a_collector_answering_nonsense_fails_the_upload_without_a_crash(
    tmp_path: Path, answer: bytes, error: str
) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(json.loads(qa_files()[0].read_text())) + "\n")
    collector = FakeNetwork(
        names={"collector.example.org": ["192.0.2.9"]},
        endpoints={("192.0.2.9", 80): http_response(200, answer)},
    )
    ledger = tmp_path / "uploaded.jsonl"
    summary = asyncio.run(upload([results], "http://collector.example.org", collector, ledger))
    assert (summary.uploaded, summary.failed, summary.last_error) == (0, 1, error)
    assert collector.connected == [("192.0.2.9", 80)]
    assert ledger.read_text() == ""
