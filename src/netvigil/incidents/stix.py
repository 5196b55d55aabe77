"""STIX 2.1 bundles of incidents, built and validated by the `stix2` library (OASIS).

STIX's `incident` is a stub object meant to be extended, so each incident carries our
`extension-definition` (a property extension holding the record's fields that STIX has no
place for: kind, status, techniques, scope, times with precision, confidence label,
verification, context). Around it:

- the author organisation as an `identity` (`created_by_ref`);
- one `location` per country, and `autonomous-system`, `domain-name` and `url` objects for
  the networks and targets, linked to the incident by `related-to` relationships;
- networks' operators as `identity` objects of the telecommunications sector;
- TLP 2.0 marking definitions (the OASIS TLP 2.0 extension: fixed ids, from
  cti-stix-common-objects) on every object; ids of our objects are UUIDv5 of the incident
  and the thing, so two exports of the same revision give the same ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import stix2

from netvigil.incidents.model import Incident

NAMESPACE = uuid.UUID("5f0c5d1e-6f8a-4b8e-9a57-6e6574766967")  # netvigil's, for UUIDv5 ids
EXTENSION = f"extension-definition--{uuid.uuid5(NAMESPACE, 'incident-extension-v1')}"
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2 = {
    "TLP:CLEAR": "94868c89-83c2-464b-929b-a1a8aa3c8487",
    "TLP:GREEN": "bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "TLP:AMBER": "55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "TLP:AMBER+STRICT": "939a9414-2ddd-4d32-a0cd-375ea402b003",
    "TLP:RED": "e828b379-4e03-4974-9ac4-e53a884c97c1",
}
CREATED = "2026-11-01T00:00:00.000Z"


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '|'.join(parts))}"


def _marking(label: str) -> stix2.MarkingDefinition:
    return stix2.MarkingDefinition(
        id=f"marking-definition--{TLP2[label]}",
        created="2022-10-01T00:00:00.000Z",
        name=label,
        extensions={
            TLP2_EXTENSION: {
                "extension_type": "property-extension",
                "tlp_2_0": label.removeprefix("TLP:").lower(),
            }
        },
    )


def _extension_definition(author: str) -> stix2.ExtensionDefinition:
    return stix2.ExtensionDefinition(
        id=EXTENSION,
        created_by_ref=author,
        created=CREATED,
        modified=CREATED,
        name="netvigil incident",
        description="Censorship and shutdown incidents: netvigil's incident record, v1.",
        schema="https://netvigil.example/docs/incident.schema.json",
        version="1.0.0",
        extension_types=["property-extension"],
    )


def _fields(incident: Incident) -> dict[str, Any]:
    return {
        "extension_type": "property-extension",
        "netvigil_id": incident.id,
        "revision": incident.revision,
        "kind": incident.kind,
        "status": incident.status,
        "techniques": incident.techniques,
        "scope": incident.scope,
        "start": incident.start.time.isoformat(),
        "start_precision": incident.start.precision,
        "end": incident.end.time.isoformat() if incident.end else None,
        "estimative": incident.estimative,
        "verification_state": incident.verification.state,
        "trigger_event": incident.context.trigger_event,
        "ordered_by": incident.context.ordered_by or None,
        "retraction_reason": incident.retraction_reason,
        "evidence": [
            {
                "type": e.type,
                "ref": e.ref,
                "sha256": e.sha256,
                **({"vendor": e.vendor} if e.vendor else {}),
            }
            for e in incident.evidence
        ],
    }


def bundle(incidents: Iterable[Incident], names: dict[str, str]) -> stix2.Bundle:
    """One bundle for many incidents; objects shared between them appear once."""
    objects: dict[str, Any] = {}

    def add(item: Any) -> str:
        objects.setdefault(item.id, item)
        return str(item.id)

    for incident in incidents:
        author = stix2.Identity(
            id=_id("identity", "org", incident.author_org),
            name=names.get(incident.author_org, incident.author_org),
            identity_class="organization",
            created=CREATED,
            modified=CREATED,
        )
        author_id = add(author)
        add(_extension_definition(author_id))
        marks = [add(_marking(incident.tlp))] if incident.tlp else []
        stamp = incident.updated_at
        record = stix2.Incident(
            id=_id("incident", incident.id),
            created=incident.created_at,
            modified=stamp,
            name=incident.title.get("en") or next(iter(incident.title.values())),
            description=incident.summary.get("en") or None,
            created_by_ref=author_id,
            confidence=incident.confidence,
            revoked=incident.status == "retracted",
            object_marking_refs=marks or None,
            extensions={EXTENSION: _fields(incident)},
            allow_custom=False,
        )
        add(record)
        related = [
            stix2.Location(
                id=_id("location", c),
                country=c,
                created=CREATED,
                modified=CREATED,
                object_marking_refs=marks or None,
            )
            for c in incident.countries
        ]
        for network in incident.networks:
            related.append(stix2.AutonomousSystem(number=network.asn, name=network.name or None))
            if network.name:
                related.append(
                    stix2.Identity(
                        id=_id("identity", "isp", str(network.asn)),
                        name=network.name,
                        identity_class="organization",
                        sectors=["telecommunications"],
                        created=CREATED,
                        modified=CREATED,
                    )
                )
        for target in incident.targets:
            if target.type == "domain":
                related.append(stix2.DomainName(value=target.value))
            elif target.type == "url":
                related.append(stix2.URL(value=target.value))
        for other in related:
            other_id = add(other)
            add(
                stix2.Relationship(
                    id=_id("relationship", incident.id, other_id),
                    relationship_type="related-to",
                    source_ref=record.id,
                    target_ref=other_id,
                    created=incident.created_at,
                    modified=stamp,
                    object_marking_refs=marks or None,
                )
            )
    return stix2.Bundle(objects=list(objects.values()), allow_custom=False)
