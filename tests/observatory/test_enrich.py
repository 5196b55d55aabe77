"""Addresses get their network and country from the observatory's MaxMind-format database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from typer.testing import CliRunner

from netvigil.cli.main import app
from netvigil.server import create_app
from tests.corpus import QA
from tests.geo import tiny_database
from tests.observatory.apps import data_api, open_report, submit
from tests.observatory.running import wait_for

runner = CliRunner()


def relocated() -> dict[str, Any]:
    """A QA measurement whose answer and connection moved into a documentation prefix.

    The real answer (104.154.89.105, which the probe annotated as AS396982 Google LLC) is
    kept as a second answer: it is not in the tiny database, so the probe's word stands.
    """
    data = json.loads((QA / "badSSLWithExpiredCertificate.json").read_text())
    keys = data["test_keys"]
    first = keys["queries"][0]["answers"][0]
    moved = {**first, "ipv4": "203.0.113.9", "asn": 15169, "as_org_name": "probe's guess"}
    keys["queries"][0]["answers"] = [moved, first]
    for connect in keys["tcp_connect"]:
        connect["ip"] = "203.0.113.9"
    keys["queries"].append(
        {
            **keys["queries"][1],
            "failure": None,
            "answers": [{"answer_type": "AAAA", "ipv6": "2001:db8::10", "ttl": None}],
        }
    )
    return dict(data)


EXPECTED = [
    {"ip": "203.0.113.9", "asn": "AS137", "as_name": "Consortium GARR", "cc": "IT"},
    {"ip": "104.154.89.105", "asn": "AS396982", "as_name": "Google LLC", "cc": "ZZ"},
    {"ip": "2001:db8::10", "asn": "AS28573", "as_name": "Claro NXT", "cc": "BR"},
]


def test_imports_are_enriched_with_the_given_database(tmp_path: Path) -> None:
    source = tmp_path / "moved.json"
    source.write_text(json.dumps(relocated()))
    database = tiny_database(tmp_path / "elsewhere" / "ip2country-as.mmdb")
    result = runner.invoke(
        app,
        ["ingest", str(source), "--data-dir", str(tmp_path / "data"), "--geoip-db", str(database)],
    )
    assert result.exit_code == 0, result.output
    with TestClient(data_api(tmp_path / "data")) as client:
        rows = client.get("/api/v1/analysis").json()["results"]
        assert [r["addresses"] for r in rows] == [EXPECTED]
        uid = rows[0]["measurement_uid"]
        assert client.get(f"/api/v1/measurement/{uid}").json()["addresses"] == EXPECTED


def test_submissions_are_enriched_from_the_data_folder_database(tmp_path: Path) -> None:
    """The whole server: it finds the folder's database and hands it to the pipeline's
    process, whose rows it then waits for."""
    tiny_database(tmp_path / "geoip" / "2026-11-01-ip2country_as.mmdb")
    with TestClient(create_app(tmp_path)) as client:
        assert submit(client, open_report(client), relocated()).status_code == 200
        assert wait_for(client, "/api/v1/measurements", 1)["metadata"]["count"] == 1
        assert client.get("/api/v1/analysis").json()["results"][0]["addresses"] == EXPECTED


def test_without_a_database_the_probe_annotation_stands(tmp_path: Path) -> None:
    source = tmp_path / "moved.json"
    source.write_text(json.dumps(relocated()))
    assert runner.invoke(app, ["ingest", str(source), "--data-dir", str(tmp_path)]).exit_code == 0
    with TestClient(data_api(tmp_path)) as client:
        addresses = client.get("/api/v1/analysis").json()["results"][0]["addresses"]
    assert [(a["asn"], a["as_name"], a["cc"]) for a in addresses] == [
        ("AS15169", "probe's guess", "ZZ"),
        ("AS396982", "Google LLC", "ZZ"),
        ("AS0", "", "ZZ"),
    ]


def test_a_bad_database_is_one_line_and_imports_nothing(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a database")
    result = runner.invoke(
        app, ["ingest", str(QA), "--data-dir", str(tmp_path / "d"), "--geoip-db", str(garbage)]
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --geoip-db: cannot read garbage.mmdb")
    assert not any((tmp_path / "d").glob("tables/**/*.parquet"))
