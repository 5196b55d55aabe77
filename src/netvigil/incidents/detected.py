"""The incident a detected event opens, and how a later state of the event revises it.

An alert (alerts.py) opens a *suspected* incident: the detector saw it, nobody has checked
it. The record says no more than the event does:

- kind: an outage is `outage` (connectivity lost, cause not established), with the tag
  `cause:unknown` and a title that says so (detect/model.py: from outside series alone we
  never guess an order); a shutdown (probes measured through the cut) is the shutdown kind
  of its scope; a network's is `full_shutdown` with scope `network`;
- times are `estimated` (a detector's start and end, not an observer's);
- evidence: the event itself (`changepoint`, its URL on this instance, hashed over its
  RFC 8785 JSON, the JSON in the note), the measurements that witness it which this instance
  holds (at most `MAX_MEASUREMENTS`, each hashed over the raw measurement as any evidence
  is), and in the body the signals that fired with their baselines, and the networks.

A revision (the event ended, or became a shutdown) keeps what people added: their evidence,
tags and, once someone moved the status past `suspected`, their title and text too; it
updates the end, confidence, the detector's evidence and tags, and the networks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, get_args

import msgspec
import pycountry
import rfc8785

from netvigil.detect.model import Event
from netvigil.incidents.model import (
    EvidenceInput,
    Incident,
    IncidentInput,
    Network,
    Target,
    Technique,
    TimePoint,
    Verification,
)
from netvigil.incidents.validate import known_country

MAX_MEASUREMENTS = 20
MAX_ROWS = 200  # of the body's tables: the whole record is the evidence (a body is 100 kB)
TAG = "netvigil-detect"
_MACHINE_TAGS = (TAG, "event:", "detected-kind:", "level:", "cause:")
SHUTDOWN = {"country": "full_shutdown", "region": "regional_shutdown", "asn": "full_shutdown"}
KINDS = {"outage": "outage", "throttling": "throttling", "service_block": "app_blocking"}
KINDS["blocking_change"] = "website_blocking"
SCOPES = {"country": "national", "region": "subnational", "asn": "network"}
WORDS = {"outage": "outage (cause unknown)", "service_block": "service blocking"}
WORDS["blocking_change"] = "blocking"


def event_url(instance: str, event: Event) -> str:
    return f"{instance}/api/v1/events/{event.id}"


def _point(moment: dt.datetime) -> TimePoint:
    return TimePoint(time=moment.astimezone(dt.UTC), precision="minute", bound="estimated")


def _body(event: Event, url: str) -> str:
    end = event.end.isoformat() if event.end else "ongoing"
    lines = [
        "Detected automatically by netvigil; nobody has verified it yet.",
        "",
        f"- Event: {url}",
        f"- Entity: {event.entity}; kind: {event.kind}; level: {event.level}",
        f"- Cause: {event.cause}"
        + (" (the data does not show why)" if event.cause == "unknown" else ""),
        f"- Start: {event.start.isoformat()}; end: {end}",
        f"- Confidence: {event.confidence:.2f}",
        "",
        "| entity | signal | at | baseline | value | ratio | statistic | threshold |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {s.entity} | {s.signal} | {s.at.isoformat()} | {s.baseline:.4g} | {s.value:.4g} "
            f"| {s.ratio:.3g} | {s.statistic:.3g} | {s.threshold:.3g} |"
            for s in event.signals[:MAX_ROWS]
        ),
        "",
        "| network | probes | silent | measured locally |",
        "|---|---|---|---|",
        *(
            f"| AS{n.asn} | {n.probes} | {n.silent} | {n.measured_locally} |"
            for n in event.networks[:MAX_ROWS]
        ),
        "",
        "The event's record (JSON) is the first piece of evidence.",
    ]
    return "\n".join(lines)


def _place(entity: str, countries: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(countries, ISO 3166-2 subdivisions, other area names) of an entity."""
    known = [c for c in countries if known_country(c)]
    kind, _, rest = entity.partition(":")
    if kind != "region":
        return known, [], []
    code = rest.strip()
    lookup: Any = pycountry.subdivisions  # untyped
    if lookup.get(code=code) is not None and code[:2] in known:
        return known, [code], []
    return known, [], [rest[3:].strip()[:500]]


def _blocked(event: Event) -> tuple[list[Target], list[str]]:
    """What a blocking event names ("DOMAIN by TECHNIQUE") as the incident's target and
    technique; a technique the incidents have no name for is `unknown`."""
    if not event.target:
        return [], []
    domain, _, technique = event.target.partition(" by ")
    if technique.startswith("http_blockpage:"):  # a blockpage named by its fingerprint
        technique = "http_blockpage"
    named = technique if technique in get_args(Technique) else "unknown"
    return [Target(type="domain", value=domain[:4096])], [named]


def evidence_of(event: Event, instance: str, held: Callable[[str], bool]) -> list[EvidenceInput]:
    """The event as a changepoint, and the witnessing measurements `held` says exist."""
    record = msgspec.to_builtins(event)
    text = msgspec.json.encode(record).decode()
    items = [
        EvidenceInput(
            type="changepoint",
            ref=event_url(instance, event),
            sha256=hashlib.sha256(rfc8785.dumps(record)).hexdigest(),
            note={"en": text},
        )
    ]
    uids = [uid for uid in event.evidence if held(uid)][:MAX_MEASUREMENTS]
    return items + [EvidenceInput(type="measurement", ref=uid) for uid in uids]


def opened(
    event: Event,
    *,
    lineage: str,
    countries: Sequence[str],
    instance: str,
    held: Callable[[str], bool],
    visibility: str,
    recipients: Sequence[str] = (),
    sharing_group: str | None = None,
) -> IncidentInput:
    """The suspected incident for `event` (`countries` must hold a known one)."""
    scope = event.entity.partition(":")[0]
    kind = SHUTDOWN[scope] if event.kind == "shutdown" else KINDS[event.kind]
    known, subdivisions, areas = _place(event.entity, countries)
    url = event_url(instance, event)
    networks = [n.asn for n in event.networks]
    if scope == "asn" and int(event.entity[4:]) not in networks:
        networks.insert(0, int(event.entity[4:]))
    targets, techniques = _blocked(event)
    what = f"{WORDS.get(event.kind, event.kind)}" + (f" of {targets[0].value}" if targets else "")
    title = f"Suspected {what} in {event.entity}"[:200]
    return IncidentInput(
        title={"en": title},
        kind=kind,  # type: ignore[arg-type]  # a value of the incidents' Kind, by the tables
        countries=known,
        subdivisions=subdivisions,
        area_names=areas,
        start=_point(event.start),
        end=_point(event.end) if event.end else None,
        summary={"en": (event.summary or title)[:280]},
        body_md={"en": _body(event, url)},
        networks=[Network(asn=asn) for asn in networks],
        targets=targets,
        techniques=techniques,  # type: ignore[arg-type]  # values of Technique, checked above
        scope=SCOPES[scope],  # type: ignore[arg-type]
        status="suspected",
        confidence=round(event.confidence * 100),
        tags=[
            TAG,
            f"event:{lineage}",
            f"detected-kind:{event.kind}",
            f"level:{event.level}",
            f"cause:{event.cause}",
        ],
        verification=Verification(
            method="netvigil detect (automatic)",
            n_vantage_points=sum(n.probes for n in event.networks),
            n_asns=len(event.networks),
        ),
        evidence=evidence_of(event, instance, held),
        visibility=visibility,
        recipients=list(recipients),
        sharing_group=sharing_group,
    )


def input_of(incident: Incident) -> IncidentInput:
    """A stored revision as the input that would make it again."""
    fields = set(IncidentInput.__struct_fields__)
    data = msgspec.to_builtins(incident, builtin_types=(dt.datetime,))
    # An evidence's `vendor` is the instance's reading of its data, not input: made again.
    given = set(EvidenceInput.__struct_fields__)
    data["evidence"] = [{k: v for k, v in e.items() if k in given} for e in data["evidence"]]
    return msgspec.convert({k: v for k, v in data.items() if k in fields}, IncidentInput)


def revised(current: IncidentInput, machine: IncidentInput, instance: str) -> IncidentInput:
    """`current` brought up to the event's new state (`machine`), keeping people's work."""
    ours = f"{instance}/api/v1/events/"
    kept = [e for e in current.evidence if not (e.type == "changepoint" and e.ref.startswith(ours))]
    refs = {e.ref for e in kept}
    added = [e for e in machine.evidence if e.ref not in refs]
    tags = [t for t in current.tags if not t.startswith(_MACHINE_TAGS)] + list(machine.tags)
    changes: dict[str, object] = {
        "end": machine.end,
        "confidence": machine.confidence,
        "tags": tags,
        "evidence": (added[:1] + kept + added[1:])[:200],
        "networks": machine.networks,
        "verification": machine.verification,
    }
    if current.status == "suspected":
        changes.update(
            title=machine.title,
            summary=machine.summary,
            body_md=machine.body_md,
            kind=machine.kind,
            targets=machine.targets,
            techniques=machine.techniques,
        )
    return msgspec.structs.replace(current, **changes)


def same(a: IncidentInput, b: IncidentInput) -> bool:
    """Whether a revision would change anything the detector writes (evidence compared by
    what it points to: a stored item's level and hash are the instance's)."""

    def key(data: IncidentInput) -> object:
        evidence = [(e.type, e.ref, e.note) for e in data.evidence]
        return (data.end, data.kind, data.confidence, data.title, data.summary, data.body_md,
                data.tags, evidence, data.networks, data.verification)  # fmt: skip

    return key(a) == key(b)
