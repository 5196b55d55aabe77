"""Detected events built by hand, for the event store, the events API and the alerts."""

from __future__ import annotations

import datetime as dt

from netvigil.detect.model import Cause, Event, Fired, Kind, Level, Network, event_id


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def event(
    entity: str,
    kind: Kind,
    start: str,
    end: str | None = None,
    *,
    level: Level = "critical",
    confidence: float = 0.9,
    cause: Cause = "unknown",
    asn: int = 44244,
    evidence: tuple[str, ...] = (),
) -> Event:
    began = utc(start)
    return Event(
        id=event_id(entity, kind, began),
        entity=entity,
        kind=kind,
        level=level,
        start=began,
        end=utc(end) if end else None,
        detected=began + dt.timedelta(minutes=5),
        confidence=confidence,
        cause=cause,
        summary=f"{kind} of {entity}",
        signals=(
            Fired(
                entity=entity,
                signal="heartbeats",
                at=began + dt.timedelta(minutes=5),
                baseline=180.0,
                value=12.0,
                ratio=12.0 / 180.0,
                statistic=14.5,
                threshold=8.0,
            ),
        ),
        networks=(Network(asn=asn, probes=3, silent=2, measured_locally=2),),
        evidence=evidence,
    )
