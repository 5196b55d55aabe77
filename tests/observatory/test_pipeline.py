"""No measurement stops the pipeline: a real `netvigil serve`, hostile input, restarts.

The collector refuses what the typed records cannot read (a 400 naming the field), and an
archive written before it did (old data: poison lines written straight into a segment) gives
error rows, found with `outcome=error`, while every normal measurement still reaches the API
within 10 s, also after a restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from netvigil.observatory.archive import Stored
from netvigil.observatory.ids import measurement_uid
from tests.observatory.hostile import HOSTILE, base, submission
from tests.observatory.running import start_server, wait_ready
from tests.probe.world import free_port

VISIBLE_WITHIN = 10.0  # seconds, the bound from acknowledgement to the API


def _old_poison(fresh: dict[str, Any]) -> list[tuple[str, dict[str, Any] | list[int], str]]:
    """(name, archived measurement, what its error row must say): what older collectors took."""
    spoilt: list[tuple[str, dict[str, Any], str]] = [
        ("number_network_name", {"probe_network_name": 137}, "$.probe_network_name"),
        ("object_input", {"input": {"url": "x"}}, "$.input"),
        ("object_software_name", {"software_name": {"n": 1}}, "$.software_name"),
        ("probe_cc_path", {"probe_cc": "../../etc"}, "probe_cc"),  # would be a partition folder
        ("asn_beyond_64_bits", {"probe_asn": "AS" + "9" * 25}, "probe_asn"),  # no int64 holds it
        ("keys_junk", {"test_keys": {"queries": "junk"}}, "$.test_keys.queries"),
    ]
    cases: list[tuple[str, dict[str, Any] | list[int], str]] = [
        (name, {**fresh, **change}, said) for name, change, said in spoilt
    ]
    cases.append(("not_an_object", [1, 2, 3], "Expected `object`"))
    return cases


def _archive_old(folder: Path, cases: list[tuple[str, Any, str]]) -> dict[str, str]:
    """Poison lines in a segment, as the collector wrote them before issue 9; name -> uid."""
    folder.mkdir(parents=True)
    lines, uids = [], {}
    received = dt.datetime(2024, 2, 13, tzinfo=dt.UTC)
    for name, measurement, _ in cases:
        key = hashlib.sha256(name.encode()).hexdigest()
        uid = measurement_uid(key, received=received, probe_cc="IT", test_name="web_connectivity")
        raw = msgspec.Raw(json.dumps(measurement).encode())
        stored = Stored(uid=uid, key=key, received=received.isoformat(), report_id=None)
        lines.append(msgspec.json.encode(msgspec.structs.replace(stored, measurement=raw)))
        uids[name] = uid
    lines.append(b'{"uid": "torn in the middle of a disk block')  # no record at all
    (folder / "segment-000001.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    uids["damaged"] = f"damaged_segment-000001_{sum(len(line) + 1 for line in lines[:-1])}"
    return uids


class Observatory:
    def __init__(self, data: Path) -> None:
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs = b""
        self.sequence = 0

    def __enter__(self) -> Observatory:
        self.server = start_server(
            self.data, self.port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        wait_ready(self.url)
        self.report = httpx.post(
            f"{self.url}/report",
            json={"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"},
        ).json()["report_id"]
        return self

    def __exit__(self, *_: object) -> None:
        self.server.terminate()
        self.logs += self.server.communicate(timeout=30)[0]

    def post(self, body: bytes) -> httpx.Response:
        return httpx.post(f"{self.url}/report/{self.report}", content=body, timeout=30)

    def normal_is_visible(self, fresh: dict[str, Any]) -> None:
        """Submit a normal measurement (new, by its annotation); it is in the API within 10 s."""
        self.sequence += 1
        content = {**fresh, "annotations": {"sequence": f"{time.time_ns()}-{self.sequence}"}}
        answer = self.post(json.dumps({"format": "json", "content": content}).encode())
        assert answer.status_code == 200, answer.text
        uid = answer.json()["measurement_uid"]
        deadline = time.monotonic() + VISIBLE_WITHIN
        while time.monotonic() < deadline:
            row = httpx.get(f"{self.url}/api/v1/measurement/{uid}", timeout=10).json()
            if "scores" in row:
                assert row["scores"]["outcome"] not in ("error", "unanalysed"), row
                return
            time.sleep(0.1)
        raise AssertionError(f"a normal measurement was not visible within {VISIBLE_WITHIN} s")

    def errors(self) -> dict[str, str]:
        body = httpx.get(f"{self.url}/api/v1/measurements?outcome=error&limit=100").json()
        return {r["measurement_uid"]: r["scores"]["error"] for r in body["results"]}


def test_after_each_hostile_measurement_a_normal_one_is_visible_also_after_a_restart(
    tmp_path: Path,
) -> None:
    fresh = base()
    data = tmp_path / "observatory"
    old = _old_poison(fresh)
    uids = _archive_old(data / "archive", old)
    with Observatory(data) as observatory:
        observatory.normal_is_visible(fresh)  # behind the old poison in the archive
        errors = observatory.errors()
        for name, _, said in old:  # each old poison line is an error row saying why
            assert said in errors[uids[name]], (name, errors.get(uids[name]))
        assert "damaged archive line" in errors[uids["damaged"]]
        for name, spoil, field in HOSTILE:
            answer = observatory.post(submission(spoil, fresh))
            assert answer.status_code == 400 and field in answer.json()["error"], name
            observatory.normal_is_visible(fresh)
    with Observatory(data) as observatory:  # a restart: nothing is stuck, nothing doubled
        observatory.normal_is_visible(fresh)
        for name, spoil, field in HOSTILE[:3]:
            answer = observatory.post(submission(spoil, fresh))
            assert answer.status_code == 400 and field in answer.json()["error"], name
            observatory.normal_is_visible(fresh)
        assert set(observatory.errors()) == set(uids.values())
        total = httpx.get(f"{observatory.url}/api/v1/aggregation").json()["result"]
        assert total["error_count"] == len(old) + 1  # and the damaged line
        assert total["measurement_count"] == len(old) + 1 + 1 + len(HOSTILE) + 1 + 3
    logs = observatory.logs.decode()
    assert "Traceback" not in logs and "pipeline" not in logs, logs
