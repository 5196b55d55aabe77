"""Exports in JSON (with a published JSON Schema) and CSV, of what the caller may read.

- JSON: `{"format": "netvigil-incidents", "version": 1, ..., "incidents": [revision, ...]}`,
  each revision as signed (or re-signed as given, views.py), so `netvigil incidents verify`
  checks any copy. The schema is generated from the record types (msgspec) and committed
  as docs/incident.schema.json; a test checks they agree.
- CSV: one row per incident × country × network (ecosystem.md §3.3), a stable column order,
  UTF-8 (with a BOM when asked, for spreadsheet programs that need it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from typing import Any

import msgspec

from netvigil.incidents.model import Incident, Network

FORMAT = "netvigil-incidents"
VERSION = 1
CSV_COLUMNS = (
    "id",
    "revision",
    "title",
    "kind",
    "status",
    "country",
    "asn",
    "network_name",
    "network_type",
    "start",
    "end",
    "confidence",
    "estimative",
    "techniques",
    "targets",
    "visibility",
    "tlp",
    "author_org",
    "updated_at",
    "url",
)


def schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of one exported revision."""
    generated = msgspec.json.schema(Incident)
    generated["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    generated["title"] = "netvigil incident revision, v1"
    return generated


def rendered_schema() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def text_of(value: dict[str, str], language: str = "en") -> str:
    """A {lang: text} map in one language (English, else the first given)."""
    return value.get(language) or next(iter(value.values()), "")


def to_json(incidents: Iterable[Incident], *, instance: str, keys: list[str]) -> bytes:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "instance": instance,
        "schema": f"{instance}/api/v1/incidents/schema",
        "keys": keys,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "incidents": [msgspec.to_builtins(i) for i in incidents],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode() + b"\n"


def to_csv(
    incidents: Iterable[Incident], *, instance: str, names: dict[str, str], bom: bool = False
) -> str:
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for incident in incidents:
        networks: list[Network | None] = [*incident.networks] or [None]
        for country in incident.countries:
            for network in networks:
                writer.writerow(
                    {
                        "id": incident.id,
                        "revision": incident.revision,
                        "title": text_of(incident.title),
                        "kind": incident.kind,
                        "status": incident.status,
                        "country": country,
                        "asn": f"AS{network.asn}" if network else "",
                        "network_name": network.name if network else "",
                        "network_type": network.type if network else "",
                        "start": incident.start.time.isoformat(),
                        "end": incident.end.time.isoformat() if incident.end else "",
                        "confidence": incident.confidence,
                        "estimative": incident.estimative,
                        "techniques": ";".join(incident.techniques),
                        "targets": ";".join(t.value for t in incident.targets),
                        "visibility": incident.visibility,
                        "tlp": incident.tlp or "",
                        "author_org": names.get(incident.author_org, incident.author_org),
                        "updated_at": incident.updated_at.isoformat(),
                        "url": f"{instance}/incidents/{incident.id}",
                    }
                )
    return buffer.getvalue()
