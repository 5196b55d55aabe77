"""What the explorer's pages read: one record over the server's parts.

The pages sit above the apps (the layout in tests/test_layout.py): they read the observatory's
analysis tables, its detected events and heartbeats, and the incidents, and change none of them
(the incident pages change incidents only through the incidents' own service, as the API
does). server.py builds one `Site` and hands it to `web.explorer.routes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import msgspec

from netvigil.addresses import REAL_WORLD, Bogons
from netvigil.datadir import DataDir
from netvigil.incidents.instance import Instance
from netvigil.observatory.data import ObservatoryData
from netvigil.observatory.eventstore import EventStore
from netvigil.observatory.heartbeat_store import HeartbeatStore


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Site(msgspec.Struct, frozen=True, kw_only=True):
    folder: DataDir
    data: ObservatoryData
    events: EventStore
    heartbeats: HeartbeatStore
    instance: Instance
    now: Callable[[], dt.datetime] = _utc_now
    bogon: Bogons = REAL_WORLD  # a lab's networks stand for public addresses (addresses.py)

    @property
    def tables(self) -> Path:
        """The analysis tables (query them with `observatory.data.query_rows`)."""
        return self.folder.tables

    @property
    def outside(self) -> Path:
        """Series from outside the observatory (the demo's Monash pings): `DataDir.series`."""
        return self.folder.series
