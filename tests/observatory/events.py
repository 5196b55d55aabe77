"""Detected events built by hand, for the event store, the events API and the alerts; and
analysis rows as the pipeline writes them, for the detection's inputs."""

from __future__ import annotations

import datetime as dt

from netvigil.detect.model import Cause, Event, Fired, Kind, Level, Network, event_id
from netvigil.observatory.columns import Row


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


def row(
    uid: str,
    at: str,
    cc: str,
    asn: int,
    url: str | None,
    outcome: str,
    technique: str | None = None,
) -> Row:
    moment = utc(at)
    return Row(
        measurement_uid=uid,
        report_id=None,
        input=url,
        domain=url.split("/")[2] if url else None,
        probe_cc=cc,
        probe_asn=asn,
        probe_network_name="",
        test_name="web_connectivity" if url else "dnscheck",
        measurement_start_time=moment,
        date=moment.strftime("%Y-%m-%d"),
        anomaly=outcome == "blocked",
        confirmed=False,
        failure=outcome in ("insufficient", "unanalysed", "error"),
        outcome=outcome,
        layer="tcp" if technique else None,
        technique=technique,
        rule=None,
        confidence=0.9,
        blocking_type=None,
        flags="",
        rules_version="test",
        analysed_at=moment,
        source="archive",
        source_line=None,
    )


CHANGE = utc("2026-01-10T00:00:00")  # 24 accessible hours, then twitter.com reset


def blocking_rows() -> list[Row]:
    return [
        row(
            f"m{n:02d}",
            (CHANGE + dt.timedelta(hours=n, minutes=30)).isoformat()[:19],
            "UG",
            20294,
            "https://twitter.com/",
            "blocked" if n >= 24 else "ok",
            "tcp_reset" if n >= 24 else None,
        )
        for n in range(40)
    ]
