"""The observatory as one app of the server: its parts over one data folder.

The archive (what the collector received), the collector's secret, the GeoIP database, the
routes of the collector, the probe services and the data API, and the background work that
must run beside them: the archive's writer and the pipeline, whose analysis runs in a worker
process (pipeline.py). server.py composes this with the incidents and the test helper, and
runs `workers()` in its lifespan's task group; a test that needs no pipeline process runs
only the archive's writer, and a pipeline step itself.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from netvigil.addresses import Bogons
from netvigil.datadir import DataDir
from netvigil.geoip import GeoIP
from netvigil.observatory import api, collector, events_api, heartbeats, services, works_api
from netvigil.observatory.archive import Archive
from netvigil.observatory.data import ObservatoryData
from netvigil.observatory.detection import Detection
from netvigil.observatory.eventstore import Change, EventStore
from netvigil.observatory.heartbeat_store import HeartbeatStore
from netvigil.observatory.ids import load_secret
from netvigil.observatory.pipeline import run_in_worker
from netvigil.observatory.sources import from_archive


class Observatory:
    def __init__(
        self,
        folder: DataDir,
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        fsync: Callable[[int], None] = os.fsync,
        capacity: int = 256,
        rate: float = 5000.0,
        geoip: Path | None = None,
        on_change: Callable[[Change], None] | None = None,
        detection_interval: float = 60.0,
        lab_networks: tuple[str, ...] = (),
        listening_tick: float = 15.0,
    ) -> None:
        """`geoip` defaults to the folder's database. Raises GeoIPError (one line) for a
        database that cannot be read. `on_change` is told of each change of a detected
        event (detection.py), in a worker thread. `lab_networks` are analysed as public
        addresses (a censorship lab's, addresses.Bogons.with_lab; ValueError if not CIDRs).
        `listening_tick` (real seconds) must be well under one minute of `now`: a sped-up
        clock (the lab's) needs a shorter one."""
        Bogons.with_lab(lab_networks)  # refused here, not in the pipeline's worker
        folder.root.mkdir(parents=True, exist_ok=True)
        self.folder, self.now, self.capacity, self.rate = folder, now, capacity, rate
        self.archive = Archive(folder.archive, fsync=fsync)
        self.geoip = geoip or folder.geoip_database()
        self.geo = GeoIP(self.geoip) if self.geoip is not None else None
        self.secret = load_secret(folder.collector_secret)
        self.data = ObservatoryData(folder.tables, from_archive(self.archive))
        self.heartbeats = HeartbeatStore(folder.heartbeats, now=now)
        self.events = EventStore(folder.events)
        self.detection_interval = detection_interval
        self.lab_networks = lab_networks
        self.listening_tick = listening_tick
        self.detection = Detection(
            folder.tables, self.events, self.heartbeats, on_change=on_change, now=now
        )

    def routes(self) -> list[BaseRoute]:
        """The collector's, the probe services', the data API's, the events' and the heartbeats'."""
        return [
            *collector.routes(
                self.archive, self.secret, now=self.now, capacity=self.capacity, rate=self.rate
            ),
            *services.routes(self.secret, now=self.now, geo=self.geo),
            *api.routes(self.folder.tables, self.archive),
            *works_api.routes(self.folder.tables, self.now, self.folder.demo.is_file),
            *events_api.routes(self.events, self.now),
            *heartbeats.routes(self.heartbeats, now=self.now),
        ]

    def workers(self) -> list[Coroutine[Any, Any, None]]:
        """The background work, to run while the routes are served: the archive's writer
        (no submission is acknowledged without it), the pipeline, the detection, and the
        heartbeat store's note of the minutes the server is listening."""
        return [
            self.archive.run(),
            run_in_worker(
                self.folder.archive, self.folder.tables, self.geoip, lab_networks=self.lab_networks
            ),
            self.detection.run(self.detection_interval),
            self.heartbeats.run(self.listening_tick),
        ]
