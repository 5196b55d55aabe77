"""The observatory's data as the incidents read it: through their `Observatory` interface."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netvigil.cli.main import app
from netvigil.datadir import DataDir
from netvigil.incidents.evidence import Observatory, ObservatoryEvidence
from netvigil.observatory.data import ObservatoryData, query_rows
from netvigil.observatory.sources import scan_archive
from tests.corpus import QA


def test_incident_evidence_is_hashed_from_the_observatorys_data(tmp_path: Path) -> None:
    source = QA / "successWithHTTPS.json"
    command = ["ingest", str(source), "--data-dir", str(tmp_path)]
    assert CliRunner().invoke(app, command).exit_code == 0
    folder = DataDir(root=tmp_path)
    data: Observatory = ObservatoryData(folder.tables, scan_archive(folder.archive))
    evidence = ObservatoryEvidence(data)
    ((uid, cc, asn, name),) = [
        tuple(r.values())
        for r in query_rows(
            folder.tables,
            "SELECT measurement_uid, probe_cc, probe_asn, probe_network_name FROM analysis",
            [],
        )
    ]
    raw = data.raw_measurement(uid)
    assert raw is not None and json.loads(raw) == json.loads(source.read_text())
    assert evidence.sha256("measurement", uid) == hashlib.sha256(raw).hexdigest()
    assert evidence.sha256("measurement", "nope") is None
    assert evidence.seen([uid, "nope"]) == {uid: (cc, asn, name)}
    assert evidence.networks([asn]) == {asn: name}
    query = "/api/v1/aggregation?axis_x=probe_cc"
    assert data.aggregate({"axis_x": "probe_cc"})[0]["measurement_count"] == 1
    assert evidence.sha256("aggregate_query", query) is not None
    assert evidence.sha256("aggregate_query", f"{query}&probe_cc=BR") is None  # finds nothing
    with pytest.raises(LookupError, match="axis_x: expected one of"):
        evidence.sha256("aggregate_query", "/api/v1/aggregation?axis_x=probe_ip")
