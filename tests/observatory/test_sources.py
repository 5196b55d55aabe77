"""raw_measurement for imported files: read back from the file and line, checked by uid."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from starlette.testclient import TestClient
from typer.testing import CliRunner

from netvigil.cli.main import app
from tests.corpus import JSONL, QA
from tests.observatory.apps import data_api

runner = CliRunner()


def test_raw_measurements_of_imports_come_from_their_files(tmp_path: Path) -> None:
    single = tmp_path / "one.json"
    shutil.copy(QA / "successWithHTTPS.json", single)  # not among lines[:40]
    lines = JSONL.read_text().splitlines()
    plain = tmp_path / "some.jsonl"
    plain.write_text("\n".join(lines[:20]) + "\n")
    packed = tmp_path / "more.jsonl.gz"
    packed.write_bytes(gzip.compress(("\n\n".join(lines[20:40]) + "\n").encode()))
    result = runner.invoke(app, ["ingest", str(tmp_path), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    # Served without the volunteer's address (the test below): `probe_ip` is OONI's placeholder.
    originals = {
        json.dumps(json.loads(x) | {"probe_ip": "127.0.0.1"}, sort_keys=True) for x in lines[:40]
    }
    originals.add(json.dumps(json.loads(single.read_text()), sort_keys=True))
    with TestClient(data_api(tmp_path / "data")) as client:
        listing = client.get("/api/v1/measurements?limit=1000").json()["results"]
        assert len(listing) == len(originals)
        served: dict[str, str] = {}  # canonical JSON -> uid
        for row in listing:
            uid = row["measurement_uid"]
            raw = client.get(f"/api/v1/raw_measurement?measurement_uid={uid}")
            assert raw.status_code == 200, raw.text
            served[json.dumps(raw.json(), sort_keys=True)] = uid
            assert client.get(row["measurement_url"]).json()["raw_measurement"] == raw.json()
        assert set(served) == originals

        def uid_of_line(number: int) -> str:
            placeholder = json.loads(lines[number]) | {"probe_ip": "127.0.0.1"}
            return served[json.dumps(placeholder, sort_keys=True)]

        def raw_status(uid: str) -> int:
            status: int = client.get(f"/api/v1/raw_measurement?measurement_uid={uid}").status_code
            return status

        # The file changed under us: never serve another measurement under the same uid.
        plain.write_text("\n".join(lines[1:21]) + "\n")
        assert raw_status(uid_of_line(3)) == 404
        assert client.get(f"/api/v1/measurement/{uid_of_line(3)}").json()["raw_measurement"] is None
        packed.unlink()
        assert raw_status(uid_of_line(25)) == 404  # gone with its file
        assert raw_status(served[json.dumps(json.loads(single.read_text()), sort_keys=True)]) == 200
        unknown = client.get("/api/v1/raw_measurement?measurement_uid=nope")
        assert unknown.status_code == 404
        assert unknown.json() == {"error": "no raw measurement 'nope'"}


def test_an_imported_measurement_is_served_without_its_volunteers_address(
    tmp_path: Path,
) -> None:
    """Two real measurements of the corpus still carry the volunteer's public address (OONI's
    probes of 2017–2018 sent it): read back from the file, it is in no form in what is
    served, `probe_ip` is OONI's placeholder, and everything else is as imported."""
    carrying = {}
    for line in JSONL.read_text().splitlines():
        measurement = json.loads(line)
        if measurement["probe_ip"] != "127.0.0.1":
            carrying[measurement["probe_ip"]] = measurement
    assert sorted(carrying) == ["202.138.55.172", "27.19.191.196"]
    (tmp_path / "in").mkdir()
    for n, measurement in enumerate(carrying.values()):
        (tmp_path / "in" / f"{n}.json").write_text(json.dumps(measurement))
    result = runner.invoke(app, ["ingest", str(tmp_path / "in"), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    with TestClient(data_api(tmp_path / "d")) as client:
        rows = client.get("/api/v1/measurements?limit=10").json()["results"]
        assert len(rows) == 2
        for row in rows:
            uid = row["measurement_uid"]
            raw = client.get(f"/api/v1/raw_measurement?measurement_uid={uid}")
            served = raw.json()
            original = next(m for m in carrying.values() if m["input"] == served["input"])
            address = original["probe_ip"]
            assert address not in raw.text
            assert address.replace(".", "-") not in raw.text
            assert served["probe_ip"] == "127.0.0.1"
            assert served | {"probe_ip": address} == original  # nowhere else in these two
