"""Exports that other tools import: validated by those tools' own libraries.

STIX 2.1 by `stix2` (parse with validation, no custom content), MISP by PyMISP's
`MISPEvent`, Atom as XML in the Atom namespace, CSV read back by `csv`, JSON against the
published (and committed) JSON Schema; and `netvigil incidents verify` on the JSON export:
any changed field, or another instance's key, fails.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import stix2
from pymisp import MISPEvent
from typer.testing import CliRunner

from netvigil.cli.main import app
from netvigil.incidents.exports import rendered_schema
from netvigil.incidents.model import Incident
from netvigil.incidents.signing import Keyring
from tests.incidents.coalition import Coalition

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "incident.schema.json"
runner = CliRunner()


def export(coalition: Coalition, kind: str, role: str = "a_admin") -> Any:
    response = coalition.client.get(
        f"/api/v1/incidents/export?format={kind}", headers=coalition.headers(role)
    )
    assert response.status_code == 200, response.text
    return response


def readable(coalition: Coalition, role: str = "a_admin") -> list[dict[str, Any]]:
    listing = coalition.client.get("/api/v1/incidents?limit=1000", headers=coalition.headers(role))
    return list(listing.json()["results"])


def test_stix_bundle_validates_with_stix2(coalition: Coalition) -> None:
    bundle = stix2.parse(export(coalition, "stix").text, allow_custom=False)
    kinds = [o.type for o in bundle.objects]
    assert kinds.count("incident") == len(readable(coalition))
    assert {"identity", "location", "relationship", "marking-definition"} <= set(kinds)
    markings = {o.name for o in bundle.objects if o.type == "marking-definition"}
    assert markings == {i["tlp"] for i in readable(coalition) if i["tlp"]}
    for incident in (o for o in bundle.objects if o.type == "incident"):
        assert incident.object_marking_refs and incident.created_by_ref.startswith("identity--")


def test_misp_events_load_in_pymisp(coalition: Coalition) -> None:
    events, incidents = export(coalition, "misp").json(), readable(coalition)
    assert len(events) == len(incidents)
    for item, incident in zip(events, incidents, strict=True):
        loaded = MISPEvent()
        loaded.load(item)
        assert loaded.info and loaded.attributes
        tlp = [tag.name for tag in loaded.tags if tag.name.startswith("tlp:")]
        assert tlp == ([incident["tlp"].lower()] if incident["tlp"] else [])


def test_atom_feeds_are_atom(coalition: Coalition) -> None:
    for response in (export(coalition, "atom"), coalition.client.get("/api/v1/incidents/feed")):
        root = ET.fromstring(response.content)
        assert root.tag == f"{ATOM}feed"
        assert root.find(f"{ATOM}id") is not None and root.find(f"{ATOM}updated") is not None
        for entry in root.findall(f"{ATOM}entry"):
            assert entry.find(f"{ATOM}id").text.startswith("urn:uuid:")  # type: ignore[union-attr]
    public = ET.fromstring(coalition.client.get("/api/v1/incidents/feed").content)
    assert len(public.findall(f"{ATOM}entry")) == 2  # the two public incidents


def test_csv_round_trips(coalition: Coalition) -> None:
    rows = list(csv.DictReader(io.StringIO(export(coalition, "csv").text)))
    incidents = readable(coalition)
    assert len(rows) == sum(len(i["countries"]) * max(1, len(i["networks"])) for i in incidents)
    by_id = {i["id"]: i for i in incidents}
    for row in rows:
        original = by_id[row["id"]]
        assert row["title"] == original["title"]["en"]
        assert row["country"] in original["countries"]
        assert int(row["revision"]) == original["revision"] and row["status"] == original["status"]


def test_json_export_matches_the_committed_schema(coalition: Coalition) -> None:
    assert SCHEMA.read_text() == rendered_schema(), "regenerate docs/incident.schema.json"
    schema = json.loads(SCHEMA.read_text())
    assert coalition.client.get("/api/v1/incidents/schema").json() == schema
    document = export(coalition, "json").json()
    assert document["format"] == "netvigil-incidents" and document["incidents"]
    for revision in document["incidents"]:
        jsonschema.validate(revision, schema)


def _altered(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return "changed"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, "x"]
    return {**value, "x": 1}


def test_verify_fails_on_any_altered_field_or_another_key(
    coalition: Coalition, tmp_path: Path
) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(export(coalition, "json").content)
    (key,) = coalition.client.get("/.well-known/netvigil/keys").json()["keys"]
    good = runner.invoke(app, ["incidents", "verify", str(path), "--public-key", key["public_key"]])
    assert good.exit_code == 0 and "verified" in good.stdout, good.output
    document = json.loads(path.read_text())
    first = document["incidents"][0]
    for field in [f for f in first if f != "signature"]:
        changed = {**document, "incidents": [{**first, field: _altered(first[field])}]}
        path.write_text(json.dumps(changed))
        result = runner.invoke(
            app, ["incidents", "verify", str(path), "--public-key", key["public_key"]]
        )
        assert result.exit_code == 1, field
    # Signed by another key: under its own key id, or passed off under ours.
    other = Keyring(tmp_path / "other-keys")
    forged = msgspec.to_builtins(other.sign(msgspec.convert(first, Incident)))
    passed_off = {**forged, "signature": {**forged["signature"], "kid": key["kid"]}}
    for revision, why in ((forged, "not with the key given"), (passed_off, "does not match")):
        path.write_text(json.dumps({**document, "incidents": [revision]}))
        result = runner.invoke(
            app, ["incidents", "verify", str(path), "--public-key", key["public_key"]]
        )
        assert result.exit_code == 1 and why in result.stdout
