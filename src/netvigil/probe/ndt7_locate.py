"""M-Lab's locate service (v2): which ndt7 server to measure against, and with what token.

OONI's ndt7 asks `https://locate.measurementlab.net/v2/nearest/ndt/ndt7` first (ooni/probe-cli
internal/mlablocatev2): the answer lists the nearest servers, each with its `machine` name and
`urls` keyed by scheme and path (`wss:///ndt/v7/download` → a URL that carries the access
token M-Lab's servers demand). probe-cli takes the first result's secure URLs (we take its
plain ones only when it offers no secure ones: a lab's own locate), and writes the
download URL's host as `server.hostname` and the site the machine name holds
(`mlab1-lga03.mlab-oti.measurement-lab.org` → `lga03`) as `server.site`. So do we, through
the probe's own connections (the Backend, as every other step); the tests and the lab host
their own locate endpoint (`--endpoint locate=`).

The answer is a stranger's JSON: its size is bounded, it is decoded into a typed record, and
any other shape is the measurement's failure, never an exception.
"""

from __future__ import annotations

import asyncio
import re
from typing import Final
from urllib.parse import SplitResult, urlsplit

import msgspec

from netvigil.failures import Failure, unknown
from netvigil.net.errors import map_failures
from netvigil.net.http import REQUEST_HEADERS, round_trip
from netvigil.probe.nettest import Context
from netvigil.probe.websocket import OpenFailed, open_connection
from netvigil.records.speed import DOWNLOAD_PATH, UPLOAD_PATH, NdtServer

__all__ = ["LOCATE", "MAX_ANSWER", "LocateFailed", "Located", "locate", "target_of"]

LOCATE: Final = "https://locate.measurementlab.net/v2/nearest/ndt/ndt7"  # OONI's default
MAX_ANSWER: Final = 1 << 16  # a handful of results; more is not a locate answer
_SITE: Final = re.compile(r"mlab[1-4]-([a-z]{3}[0-9tc]{2})\.")  # probe-cli mlablocatev2


class _Result(msgspec.Struct, frozen=True):
    machine: str = ""
    urls: dict[str, str] = {}


class _Answer(msgspec.Struct, frozen=True):
    results: list[_Result] = []


class Located(msgspec.Struct, frozen=True, kw_only=True):
    """The server to measure: its download and upload URLs (token included), as OONI writes it."""

    download: str
    upload: str
    server: NdtServer


class LocateFailed(Exception):
    """The locate step failed; the message is the df-007 failure string to record."""


async def locate(ctx: Context, url: str) -> Located:
    """Ask the locate service at `url` for the nearest server; LocateFailed when it cannot say."""
    where = urlsplit(url)
    target = (where.path or "/") + (f"?{where.query}" if where.query else "")
    failure: str | None = None
    with map_failures() as caught:
        try:
            async with asyncio.timeout(ctx.settings.http_timeout):
                connection = await open_connection(ctx, where)
                try:
                    exchange = await round_trip(
                        connection.reader,
                        connection.writer,
                        method="GET",
                        target=target,
                        headers=[("Host", where.netloc), *REQUEST_HEADERS],
                        deadline=ctx.settings.http_timeout,
                        max_body=MAX_ANSWER,
                    )
                finally:
                    connection.close()
        except OpenFailed as failed:
            failure = str(failed)
    failure = failure or caught.failure
    if failure is not None:
        raise LocateFailed(failure)
    if exchange.failure is not None:
        raise LocateFailed(exchange.failure)
    if exchange.status != 200:
        raise LocateFailed(Failure.HTTP_UNEXPECTED_STATUS_CODE)
    return _first(exchange.body, exchange.truncated)


def _first(body: bytes, truncated: bool) -> Located:
    """The first result with both URLs (probe-cli uses the first result), `wss` before `ws`."""
    if truncated:
        raise LocateFailed(unknown("the locate answer is larger than a locate answer can be"))
    try:
        answer = msgspec.json.decode(body, type=_Answer)
    except msgspec.DecodeError:
        raise LocateFailed(unknown("the locate answer is not a locate answer")) from None
    for result in answer.results:
        for scheme in ("wss", "ws"):
            download = result.urls.get(f"{scheme}://{DOWNLOAD_PATH}", "")
            upload = result.urls.get(f"{scheme}://{UPLOAD_PATH}", "")
            if urlsplit(download).scheme == urlsplit(upload).scheme == scheme:
                site = _SITE.match(result.machine)
                server = NdtServer(
                    hostname=urlsplit(download).hostname or "",
                    site=site.group(1) if site else None,
                )
                return Located(download=download, upload=upload, server=server)
    raise LocateFailed(unknown("the locate service named no ndt7 server"))


def target_of(url: str) -> tuple[SplitResult, str]:
    """A located URL as the connection's address and the upgrade's target (token kept)."""
    where = urlsplit(url)
    return where, where.path + (f"?{where.query}" if where.query else "")
