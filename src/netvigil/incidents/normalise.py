"""From a member's checked input to a revision: levels, evidence hashes, derived labels.

- A request for `public` is stored at `coalition` with publication "requested" until a
  second person approves (ecosystem.md §3.3); a revision of an incident that is already
  public stays public (it was reviewed; corrections must not wait).
- Each piece of evidence is shared at the strictest of its own level, its incident's and its
  cap (levels.py), and carries a sha256: of the raw measurement, of the aggregate query's
  result when captured, or else of the evidence item itself (a document's hash can be given).
- `estimative` is the ICD 203 expression of likelihood for the confidence (0–100).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Protocol

import msgspec
import rfc8785

from netvigil.incidents.levels import Level
from netvigil.incidents.model import (
    Evidence as EvidenceItem,
)
from netvigil.incidents.model import (
    EvidenceInput,
    Incident,
    IncidentInput,
    Sighting,
    TimePoint,
)
from netvigil.incidents.validate import InvalidIncident, evidence_level, i18n


class Evidence(Protocol):
    """What the instance can re-check of evidence: the observatory's data, handed in."""

    def sha256(self, kind: str, ref: str) -> str | None:
        """The hash of what `ref` points to (None: it does not exist); raise LookupError
        for a type whose reference the instance does not read."""

    def networks(self, asns: Sequence[int]) -> dict[int, str]:
        """AS number → the network's name, for those the instance's data names (places.py)."""

    def seen(self, uids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        """measurement uid → (country, AS number, network name), for those it holds."""

    def vendors(self, uids: Sequence[str]) -> dict[str, str]:
        """measurement uid → the product its verdict names, for those that name one."""


# ICD 203 (2015), "expressions of likelihood": upper bound of each band, in percent.
ESTIMATIVE = (
    (5, "almost no chance"),
    (20, "very unlikely"),
    (45, "unlikely"),
    (55, "roughly even chance"),
    (80, "likely"),
    (95, "very likely"),
    (100, "almost certain"),
)
RESOLVED = frozenset({"measurement", "aggregate_query"})


def utc(value: dt.datetime) -> dt.datetime:
    """Every stored time in UTC: the record reads the same everywhere, and SQLite (which
    keeps no zone) compares embargo dates correctly."""
    return value.astimezone(dt.UTC)


def _point(point: TimePoint) -> TimePoint:
    return msgspec.structs.replace(point, time=utc(point.time))


def estimative(confidence: int) -> str:
    return next(label for bound, label in ESTIMATIVE if confidence <= bound)


def _evidence(item: EvidenceInput, level: Level, resolver: Evidence, where: str) -> EvidenceItem:
    vendor: str | None = None
    if item.type in RESOLVED:
        try:
            found = resolver.sha256(item.type, item.ref)
        except LookupError as exc:
            raise InvalidIncident([f"{where}.ref: {exc}"]) from None
        if found is None:
            raise InvalidIncident([f"{where}.ref: no {item.type.replace('_', ' ')} {item.ref!r}"])
        sha = found
        if item.type == "measurement":
            vendor = resolver.vendors([item.ref]).get(item.ref)
    else:
        claim = msgspec.to_builtins(msgspec.structs.replace(item, sha256=None))
        sha = item.sha256 or hashlib.sha256(rfc8785.dumps(claim)).hexdigest()
    own = evidence_level(level, item.visibility, item.type, item.identifies_volunteer)
    return EvidenceItem(
        type=item.type,
        ref=item.ref,
        visibility=own.label,
        sha256=sha,
        captured_at=utc(item.captured_at) if item.captured_at else None,
        archive_url=item.archive_url,
        note=i18n(item.note) if item.note else {},
        identifies_volunteer=item.identifies_volunteer,
        vendor=vendor,
    )


def build(
    data: IncidentInput,
    *,
    evidence: Evidence,
    id: str,
    revision: int,
    created_at: dt.datetime,
    now: dt.datetime,
    instance: str,
    author_org: str,
    sightings: Sequence[Sighting] = (),
    previous: Incident | None = None,
) -> Incident:
    requested = Level.parse(data.visibility)
    publication = "none"
    level = requested
    if requested is Level.PUBLIC and not (previous and previous.visibility == "public"):
        level, publication = Level.COALITION, "requested"
    elif previous is not None and previous.visibility == "public":
        publication = "approved" if requested is Level.PUBLIC else "none"
    # Evidence without a level of its own follows the level asked for: held at coalition
    # while the request waits, the incident hides it anyway; once a second person approves,
    # it is published with the incident they reviewed (released() changes the incident's
    # level only). Evidence that asked for a stricter level, or whose cap is stricter, keeps it.
    items = [
        _evidence(item, requested, evidence, f"evidence[{n}]")
        for n, item in enumerate(data.evidence)
    ]
    return Incident(
        id=id,
        revision=revision,
        created_at=created_at,
        updated_at=now,
        supersedes=previous.revision if previous else None,
        origin_instance=instance,
        author_org=author_org,
        title=i18n(data.title),
        summary=i18n(data.summary) if data.summary else {},
        body_md=i18n(data.body_md) if data.body_md else {},
        kind=data.kind,
        techniques=list(data.techniques),
        targets=list(data.targets),
        themes=list(data.themes),
        tags=list(data.tags),
        countries=list(data.countries),
        subdivisions=list(data.subdivisions),
        area_names=list(data.area_names),
        networks=list(data.networks),
        scope=data.scope,
        start=_point(data.start),
        end=_point(data.end) if data.end else None,
        status=data.status,
        retraction_reason=None,
        confidence=data.confidence,
        estimative=estimative(data.confidence),
        verification=data.verification,
        sightings=list(sightings),
        context=data.context,
        evidence=items,
        visibility=level.label,
        tlp=level.tlp,
        publication=publication,  # type: ignore[arg-type]
        recipients=list(data.recipients) if level is Level.NAMED else [],
        sharing_group=data.sharing_group if level is Level.GROUP else None,
        embargo_until=utc(data.embargo_until) if data.embargo_until else None,
        release_policy=data.release_policy,
        related=list(data.related),
    )
