"""Bare apps for the tests that need one router, not the whole server.

`bare` serves a router's routes behind the observatory's error edge (errors.HANDLERS), with
the archive's writer running for the app's life when it is given an archive, as server.py
runs it. `observatory` is the observatory app (collector, probe services and data API) over
one data folder, without the pipeline's worker process: a test submits, then calls
`analyse`, which runs one pipeline step in this process, so what it queries next is known,
with no waiting.
`open_report` and `submit` speak the collector's protocol for any of these clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.testclient import TestClient

from netvigil.datadir import DataDir
from netvigil.geoip import GeoIP
from netvigil.observatory import api, errors
from netvigil.observatory.app import Observatory as App
from netvigil.observatory.archive import Archive
from netvigil.observatory.pipeline import Pipeline

SECRET = bytes(32)  # a collector's secret for tests that open no report


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def bare(routes: Sequence[BaseRoute], archive: Archive | None = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with asyncio.TaskGroup() as group:
            writer = group.create_task(archive.run()) if archive is not None else None
            try:
                yield
            finally:
                if writer is not None:
                    writer.cancel()

    app = Starlette(routes=list(routes), lifespan=lifespan, exception_handlers=errors.HANDLERS)
    app.state.archive = archive
    return app


def data_api(data_dir: Path) -> Starlette:
    """The data API over a data folder (filled by `netvigil ingest`, say)."""
    folder = DataDir(root=data_dir)
    return bare(api.routes(folder.tables, Archive(folder.archive)))


@dataclass(frozen=True)
class Observatory:
    client: TestClient
    folder: DataDir
    archive: Archive
    geo: GeoIP | None

    def analyse(self) -> int:
        """One pipeline step over what the archive holds: the number of rows written."""
        return Pipeline(self.folder.archive, self.folder.tables, geo=self.geo).step()


@contextlib.contextmanager
def observatory(
    data_dir: Path,
    *,
    fsync: Callable[[int], None] = os.fsync,
    geoip: Path | None = None,
) -> Iterator[Observatory]:
    app = App(DataDir(root=data_dir), now=now, fsync=fsync, geoip=geoip)
    with TestClient(bare(app.routes(), app.archive)) as client:
        yield Observatory(client=client, folder=app.folder, archive=app.archive, geo=app.geo)


def open_report(
    client: TestClient, cc: str = "IT", asn: str = "AS137", test: str = "web_connectivity"
) -> str:
    response = client.post(
        "/report",
        json={
            "probe_cc": cc,
            "probe_asn": asn,
            "test_name": test,
            "software_name": "t",
            "software_version": "1",
            "test_version": "0.5.28",
            "format": "json",
            "data_format_version": "0.2.0",
            "test_start_time": "2024-02-12 20:33:47",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["supported_formats"] == ["json"]
    return str(body["report_id"])


def submit(client: TestClient, report: str, content: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/report/{report}", json={"format": "json", "content": content}, headers=headers
    )
