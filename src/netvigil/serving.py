"""How our servers run: uvicorn on a socket already listening, bounded before the app.

`netvigil serve` and `netvigil th serve` are public servers that volunteers' probes reach, so
both run the same way (`serve`): no access log (nothing records a client's address), no
`Server` header, no proxy headers trusted, and two bounds before a request reaches the app (a
body's deadline is the collector's, observatory/intake.py):

- `connection_limit`: uvicorn's `limit_concurrency` (beyond it uvicorn answers 503 and closes),
  kept HEADROOM below the process's file-descriptor limit, raised first towards the hard limit,
  so a flood of sockets can neither make accept() fail nor starve the archive of descriptors.
- `TimelyH11`: uvicorn has no deadline for a request's head (h11 only bounds its size, 16 KiB),
  and its keep-alive timer is reset by every byte received, so a client sending a header byte
  every few seconds (slowloris) would hold its connection for ever. This is uvicorn's h11
  protocol with one: a connection that has not sent a whole request head HEAD_TIMEOUT seconds
  after opening, or after its previous response, is closed. Nothing is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
from typing import TYPE_CHECKING, Any, Literal

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

CONNECTIONS = 2048  # open connections the server accepts (uvicorn's limit_concurrency)
HEADROOM = 256  # file descriptors kept for segments, Parquet files, pipes, the database
HEAD_TIMEOUT = 10.0  # seconds for a request line and headers to arrive


def _server(
    app: ASGIApp,
    lifespan: Literal["auto", "on", "off"],
    head_timeout: float,
    tls: tuple[str, str] | None = None,
) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(
        app,
        access_log=False,
        log_level="warning",
        lifespan=lifespan,
        server_header=False,
        proxy_headers=False,
        limit_concurrency=connection_limit(),  # open sockets stay below the descriptor limit
        http=type("TimelyH11", (TimelyH11,), {"head_timeout": head_timeout}),
        # (certificate, key): uvicorn wraps the given sockets in TLS itself.
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    return uvicorn.Server(config)


def serve(
    app: ASGIApp,
    sock: socket.socket,
    *,
    lifespan: Literal["auto", "on", "off"] = "auto",
    head_timeout: float = HEAD_TIMEOUT,
) -> None:
    """Serve `app` on `sock` until Ctrl-C, which ends it quietly (uvicorn re-raises it)."""
    with contextlib.suppress(KeyboardInterrupt):
        _server(app, lifespan, head_timeout).run(sockets=[sock])


async def serve_here(
    app: ASGIApp,
    sock: socket.socket,
    *,
    lifespan: Literal["auto", "on", "off"] = "auto",
    head_timeout: float = HEAD_TIMEOUT,
    tls: tuple[str, str] | None = None,
) -> None:
    """The same, in the running event loop (the lab runs its servers side by side); `tls`
    is a (certificate, key) pair of files, for the lab's HTTPS test helper."""
    await _server(app, lifespan, head_timeout, tls).serve(sockets=[sock])


def connection_limit(wanted: int = CONNECTIONS) -> int:
    """How many connections the server may hold open: the soft file-descriptor limit is
    raised towards the hard one first, and HEADROOM descriptors are kept for everything else."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + HEADROOM if hard == resource.RLIM_INFINITY else min(hard, wanted + HEADROOM)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # not allowed here: serve fewer connections instead
    return max(16, min(wanted, soft - HEADROOM))


class TimelyH11(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's head (see the module)."""

    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()  # the next request's head, on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        waiting = self.cycle  # a new request head makes a new cycle
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_late, waiting)

    def _head_late(self, waiting: object) -> None:
        self._head_timer = None
        if self.cycle is waiting and not self.transport.is_closing():
            self.transport.close()
