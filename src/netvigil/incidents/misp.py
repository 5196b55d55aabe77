"""MISP event JSON, one event per incident, built with PyMISP (MISP's own library).

- `info` is the title; `date` the start; `analysis` follows the status (suspected → initial,
  confirmed/ongoing → ongoing, resolved/retracted → completed); `distribution` comes from the
  visibility level (levels.py; 4 = sharing group); `threat_level_id` 4 (undefined: MISP's
  scale is about threats, not violations).
- Tags: `tlp:<level>` (MISP's TLP taxonomy), `estimative-language:likelihood-probability=`
  (MISP's estimative-language taxonomy), and `netvigil:kind=` / `netvigil:technique=`.
- Attributes: targets as `domain` / `url`, networks as `AS`, countries as `text`
  ("country: IR"), evidence as `link` (query URLs) or `text` (measurement uids, hashes) with
  the evidence's sha256 in the comment.
- A retracted incident's event is tagged `netvigil:status="retracted"` and says why.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from pymisp import MISPEvent

from netvigil.incidents.levels import Level
from netvigil.incidents.model import Incident

ANALYSIS = {"suspected": 0, "confirmed": 1, "ongoing": 1, "resolved": 2, "retracted": 2}
LIKELIHOOD = {
    "almost no chance": "almost-no-chance",
    "very unlikely": "very-unlikely",
    "unlikely": "unlikely",
    "roughly even chance": "roughly-even-chance",
    "likely": "likely",
    "very likely": "very-likely",
    "almost certain": "almost-certain",
}


def event(incident: Incident, org_name: str, instance: str) -> MISPEvent:
    item = MISPEvent()
    item.uuid = incident.id
    item.info = incident.title.get("en") or next(iter(incident.title.values()))
    item.date = incident.start.time.date()
    item.analysis = ANALYSIS[incident.status]
    item.threat_level_id = 4
    item.distribution = Level.parse(incident.visibility).misp_distribution
    item.published = incident.visibility == Level.PUBLIC.label
    item.timestamp = incident.updated_at
    if incident.tlp:
        item.add_tag(incident.tlp.lower())
    item.add_tag(f'estimative-language:likelihood-probability="{LIKELIHOOD[incident.estimative]}"')
    item.add_tag(f'netvigil:kind="{incident.kind}"')
    item.add_tag(f'netvigil:status="{incident.status}"')
    for technique in incident.techniques:
        item.add_tag(f'netvigil:technique="{technique}"')
    item.add_attribute("text", f"reported by: {org_name}", category="Other")
    if incident.retraction_reason:
        item.add_attribute("text", f"retracted: {incident.retraction_reason}", category="Other")
    for country in incident.countries:
        item.add_attribute("text", f"country: {country}", category="Other")
    for network in incident.networks:
        item.add_attribute(
            "AS", str(network.asn), category="Network activity", comment=network.name
        )
    for target in incident.targets:
        if target.type in ("domain", "url"):
            item.add_attribute(
                target.type,
                target.value,
                category="Network activity",
                comment=target.category_code or "",
            )
    for evidence in incident.evidence:
        ref = instance + evidence.ref if evidence.ref.startswith("/") else evidence.ref
        kind = "link" if ref.startswith(("http://", "https://")) else "text"
        item.add_attribute(
            kind,
            ref,
            category="External analysis",
            comment=f"{evidence.type}; sha256 {evidence.sha256}"
            + (f"; vendor {evidence.vendor}" if evidence.vendor else ""),
        )
    for n, attribute in enumerate(item.attributes):  # stable ids: the same export twice
        attribute.uuid = str(uuid.uuid5(uuid.UUID(incident.id), f"{incident.revision}/{n}"))
    return item


def events(
    incidents: Iterable[Incident], names: dict[str, str], instance: str
) -> list[dict[str, Any]]:
    """MISP's import format: a list of {"Event": {...}}."""
    return [
        {"Event": json.loads(event(i, names.get(i.author_org, i.author_org), instance).to_json())}
        for i in incidents
    ]
