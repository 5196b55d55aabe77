"""Vega-Lite to SVG and PNG on the server (vl-convert), bounded so charts cannot starve it.

vl-convert runs Vega in an embedded JavaScript engine: a render is 0.05–0.5 s of CPU (the
first in a process about 3 s: the engine starts), the world map the slowest. So:

- renders run in a pool of `slots` threads, off the event loop, and at most `slots` at once
  (a semaphore taken before a render is queued and given back when the thread finishes it,
  even if the client has gone): a client asking for a hundred charts waits its turn. (vl-
  convert is thread-safe and runs the renders on its own engine one after another, so more
  slots would only queue more work inside it);
- a request that finds every slot busy for longer than `wait` seconds is refused with 503
  and Retry-After (errors.Busy), rather than queueing without bound;
- results are kept in an LRU cache keyed by the SHA-256 of the spec (and format and scale),
  up to `budget` bytes: the same chart asked again is not drawn again;
- a chart carrying more than MAX_ROWS data rows is refused (400) before anything is drawn;
- nothing is fetched: `allowed_base_urls=[]` makes vl-convert refuse every data URL, so a
  spec can only draw what it carries (issue 12: nothing loaded from another host).

Path coordinates are written with one decimal: a tenth of a pixel is below what a screen
shows, and the world map's SVG shrinks from 190 KB to 150 KB.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import vl_convert

from netvigil.observatory.errors import BadRequest, Busy

VEGA_LITE = "6.4"  # the newest vl-convert 1.9 bundles; charts.SCHEMA names its major version
MAX_ROWS = 5_000
SLOTS = 2
WAIT = 2.0  # seconds a render may wait for a slot
RETRY_AFTER = "5"
BUDGET = 32 << 20  # bytes of cached images
PNG_SCALE = 2.0  # a PNG for a report: twice the pixels of the SVG's size
_DECIMALS = re.compile(r'(\sd=")([^"]*)(")')
_NUMBER = re.compile(r"(\d+\.\d)\d+")

T = TypeVar("T")


class TooManyRows(BadRequest):
    """A chart over MAX_ROWS: a 400 that says so and how to narrow it."""


def rows_in(spec: object) -> int:
    """The data rows inlined in a spec: every `values` list, at any depth."""
    if isinstance(spec, dict):
        found = spec.get("values")
        own = len(found) if isinstance(found, list) else 0
        return own + sum(rows_in(v) for k, v in spec.items() if k != "values")
    if isinstance(spec, list):
        return sum(rows_in(v) for v in spec)
    return 0


def check(spec: dict[str, Any], most: int = MAX_ROWS) -> None:
    count = rows_in(spec)
    if count > most:
        raise TooManyRows(
            f"this chart would draw {count} data rows, over the {most} a chart may hold: "
            "narrow the query (a country, a shorter time range, a coarser time_grain)"
        )


def _short(svg: str) -> str:
    return _DECIMALS.sub(lambda m: m[1] + _NUMBER.sub(r"\1", m[2]) + m[3], svg)


def svg_of(spec: dict[str, Any]) -> str:
    """One render, in the calling thread (the pool's)."""
    return _short(vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE, allowed_base_urls=[]))


def png_of(spec: dict[str, Any], scale: float = PNG_SCALE) -> bytes:
    return bytes(
        vl_convert.vegalite_to_png(spec, vl_version=VEGA_LITE, scale=scale, allowed_base_urls=[])
    )


def key_of(kind: str, spec: dict[str, Any]) -> str:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()}"


class Renderer:
    """The server's one renderer (chart_routes.py makes it; its pool lives as long)."""

    def __init__(
        self, slots: int = SLOTS, wait: float = WAIT, budget: int = BUDGET, rows: int = MAX_ROWS
    ) -> None:
        self.slots, self.wait, self.budget, self.rows = slots, wait, budget, rows
        self._free = asyncio.Semaphore(slots)
        self._pool = concurrent.futures.ThreadPoolExecutor(slots, thread_name_prefix="chart")
        self._cache: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._size = 0
        self.busy = 0  # renders holding a slot now (the tests count them)
        self.drawn = 0  # renders done: a cache hit draws nothing

    async def run(self, work: Callable[[], T]) -> T:
        """`work` in the pool once a slot is free; errors.Busy when none frees in time."""
        try:
            if self._free.locked():  # wait_for(…, 0) would refuse even a free slot
                await asyncio.wait_for(self._free.acquire(), self.wait)
            else:
                await self._free.acquire()
        except TimeoutError:
            raise Busy(
                "every chart renderer is busy: retry in a few seconds",
                **{"Retry-After": RETRY_AFTER},
            ) from None
        loop = asyncio.get_running_loop()
        self.busy += 1

        def done(_: object) -> None:
            loop.call_soon_threadsafe(self._release)

        future = self._pool.submit(work)
        future.add_done_callback(done)
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        self.busy -= 1
        self._free.release()

    async def _cached(self, key: str, work: Callable[[], bytes]) -> bytes:
        if (hit := self._cache.get(key)) is not None:
            self._cache.move_to_end(key)
            return hit
        result = await self.run(work)
        self.drawn += 1
        if len(result) <= self.budget // 4:  # one huge image does not empty the cache
            self._cache[key] = result
            self._size += len(result)
            while self._size > self.budget:
                _, old = self._cache.popitem(last=False)
                self._size -= len(old)
        return result

    def check(self, spec: dict[str, Any]) -> None:
        """TooManyRows (a 400) for a spec over this renderer's cap."""
        check(spec, self.rows)

    async def svg(self, spec: dict[str, Any]) -> bytes:
        """The SVG, UTF-8."""
        self.check(spec)
        return await self._cached(key_of("svg", spec), lambda: svg_of(spec).encode())

    async def png(self, spec: dict[str, Any], scale: float = PNG_SCALE) -> bytes:
        self.check(spec)
        return await self._cached(key_of(f"png{scale}", spec), lambda: png_of(spec, scale))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
