"""Reading submissions' bodies: a deadline, and bounds on how many and how much at once.

No slow client may hold what the others need (reliability.md; issue 9 "slow clients"):

- the collector reads a body *before* it takes a capacity slot (`collector.Capacity`), so a
  client trickling its body holds its own connection and nothing else;
- a body must arrive within `timeout` seconds, extended by one second per `min_rate` bytes
  received (Apache's mod_reqtimeout, `body=20,MinRate=500`): a probe on a slow mobile link
  still uploads a large measurement, a trickle of a few bytes a second gets 408 and its
  connection is closed;
- at most `readers` bodies are read at once, holding at most `buffered` bytes between them;
  beyond either, 503 with Retry-After, so memory stays bounded whatever clients send;
- a client that goes away before its body has arrived is its own business, not an error of
  the server's: nothing is logged (one line per disconnect would let anyone fill the log).

The limits are global, as the collector's: it never looks at who is asking. Connections and
request heads have their own bounds (netvigil.serving).
"""

from __future__ import annotations

import asyncio

import zstandard
from starlette.requests import ClientDisconnect, Request

from netvigil.observatory.errors import BadRequest, Busy, ObservatoryError, TooLarge, TooSlow

MAX_BODY = 16 << 20
BODY_TIMEOUT = 20.0  # seconds for a body, before the minimum rate extends it
MIN_RATE = 500.0  # bytes a second a body must average to be given more time
READERS = 1024  # bodies read at once
BUFFERED = 256 << 20  # bytes held by the bodies being read


def _unread(kind: type[ObservatoryError], message: str, **headers: str) -> ObservatoryError:
    """A refusal before the body was read whole: the connection cannot be reused."""
    return kind(message, Connection="close", **headers)


class Intake:
    def __init__(
        self,
        *,
        readers: int = READERS,
        buffered: int = BUFFERED,
        timeout: float = BODY_TIMEOUT,
        min_rate: float = MIN_RATE,
    ) -> None:
        self.max_readers, self.max_buffered = readers, buffered
        self.timeout, self.min_rate = timeout, min_rate
        self.readers = 0
        self.buffered = 0

    async def read(self, request: Request) -> bytes:
        """The body (inflated when `Content-Encoding: zstd`); raises ObservatoryError."""
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
            raise _unread(TooLarge, f"request body over {MAX_BODY} bytes")
        if self.readers >= self.max_readers:
            raise _unread(Busy, "too many uploads at once, retry later", **{"Retry-After": "5"})
        self.readers += 1
        held = 0
        body = bytearray()
        start = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(self.timeout) as deadline:
                async for chunk in request.stream():
                    if self.buffered + len(chunk) > self.max_buffered:
                        raise _unread(
                            Busy, "uploads over memory, retry later", **{"Retry-After": "5"}
                        )
                    self.buffered += len(chunk)
                    held += len(chunk)
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise _unread(TooLarge, f"request body over {MAX_BODY} bytes")
                    deadline.reschedule(start + self.timeout + len(body) / self.min_rate)
        except TimeoutError:
            raise _unread(
                TooSlow,
                f"the request body did not arrive in time ({self.timeout:.0f} s, then at "
                f"least {self.min_rate:.0f} bytes a second)",
            ) from None
        except ClientDisconnect:  # no one reads this answer
            raise BadRequest("the client went away before its body arrived") from None
        finally:
            self.readers -= 1
            self.buffered -= held
        if request.headers.get("content-encoding", "").lower() == "zstd":
            return _inflate(bytes(body))
        return bytes(body)


def _inflate(body: bytes) -> bytes:
    try:
        inflated = zstandard.ZstdDecompressor().stream_reader(body).read(MAX_BODY + 1)
    except zstandard.ZstdError:
        raise BadRequest("body is not valid zstd") from None
    if len(inflated) > MAX_BODY:
        raise TooLarge(f"decompressed body over {MAX_BODY} bytes")
    return bytes(inflated)
