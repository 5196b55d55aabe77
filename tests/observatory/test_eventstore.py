"""The event store: rounds of events upserted by id, and each change handed on once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec

from netvigil.observatory.eventstore import EventStore, Query
from tests.observatory.events import event, utc

SINCE = utc("2026-01-01T00:00:00")
OUTAGE = event("country:IR", "outage", "2026-01-08T16:00:00", level="warning", confidence=0.6)


def minute(n: int) -> dt.datetime:
    return utc("2026-01-08T17:00:00") + dt.timedelta(minutes=n)


def handed(store: EventStore, expected: list[tuple[str, str]]) -> None:
    """Hand every pending change on, as the worker does: (change, event id) of each."""
    pending = store.pending()
    for change in pending:
        store.handed(change.seq)
    assert [(c.change, c.stored.event.id) for c in pending] == expected


def test_a_change_is_handed_on_once_and_silent_updates_are_not_changes(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events.sqlite")
    store.update([(OUTAGE, ("IR",))], since=SINCE, now=minute(0))
    handed(store, [("opened", OUTAGE.id)])
    surer = msgspec.structs.replace(OUTAGE, confidence=0.7)
    assert store.update([(surer, ("IR",))], since=SINCE, now=minute(1)) == []
    (stored,) = store.select(Query())
    assert stored.event.confidence == 0.7  # kept, silently
    assert (stored.first_seen, stored.last_changed) == (minute(0), minute(0))
    critical = msgspec.structs.replace(surer, level="critical")
    store.update([(critical, ("IR",))], since=SINCE, now=minute(2))
    handed(store, [("raised", OUTAGE.id)])
    ended = msgspec.structs.replace(critical, end=minute(30))
    store.update([(ended, ("IR",))], since=SINCE, now=minute(31))
    store.update([(ended, ("IR",))], since=SINCE, now=minute(32))
    handed(store, [("ended", OUTAGE.id)])
    got = store.get(OUTAGE.id)
    assert got is not None and (got.first_seen, got.last_changed) == (minute(0), minute(31))


def test_a_change_not_handed_before_a_crash_is_handed_after(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events.sqlite")
    store.update([(OUTAGE, ("IR",))], since=SINCE, now=minute(0))
    again = EventStore(tmp_path / "events.sqlite")  # a restart: nothing was handed
    handed(again, [("opened", OUTAGE.id)])
    assert again.update([(OUTAGE, ("IR",))], since=SINCE, now=minute(1)) == []


def test_an_outage_that_becomes_a_shutdown_keeps_its_line(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events.sqlite")
    store.update([(OUTAGE, ("IR",))], since=SINCE, now=minute(0))
    handed(store, [("opened", OUTAGE.id)])
    # The engine's id hashes the kind: the shutdown is a new id, and a later start.
    shutdown = event("country:IR", "shutdown", "2026-01-08T16:10:00", cause="network_cut")
    store.update([(shutdown, ("IR",))], since=SINCE, now=minute(1))
    handed(store, [("raised", shutdown.id)])
    (stored,) = store.select(Query())
    assert (stored.event.id, stored.lineage) == (shutdown.id, OUTAGE.id)
    assert store.get(OUTAGE.id) is None  # replaced, not withdrawn: no change of its own


def test_an_event_the_detector_no_longer_reports_is_withdrawn_inside_the_window(
    tmp_path: Path,
) -> None:
    store = EventStore(tmp_path / "events.sqlite")
    old = event("asn:44244", "outage", "2025-11-20T00:00:00", "2025-11-20T03:00:00")
    store.update(
        [(OUTAGE, ("IR",)), (old, ("IR",))], since=utc("2025-11-01T00:00:00"), now=minute(0)
    )
    handed(store, [("opened", OUTAGE.id), ("opened", old.id)])
    # The window has moved past `old`; `OUTAGE`, inside it, is no longer reported.
    store.update([], since=SINCE, now=minute(1))
    handed(store, [("withdrawn", OUTAGE.id)])
    assert [s.event.id for s in store.select(Query())] == [old.id]
    store.update([(OUTAGE, ("IR",))], since=SINCE, now=minute(2))  # reported again
    handed(store, [("opened", OUTAGE.id)])
