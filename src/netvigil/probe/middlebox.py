"""The middlebox nettests: http_header_field_manipulation (ts-006) and
http_invalid_request_line (ts-007), measured as OONI's probe does.

- hhfm (ooni/probe-cli internal/experiment/hhfm/hhfm.go, test_version 0.2.1): one request,
  method `GeT`, six headers whose names have a random capitalisation (Host a random
  15-letter `.com` name), written byte for byte on a plain TCP connection — no HTTP
  library normalises them — to the http-return-json-headers helper, whose JSON answer
  says what reached it. `tampering` is filled as hhfm.go's FillTampering does.
- hirl (internal/experiment/hirl/hirl.go, 0.2.1): five invalid request lines, each on its
  own connection to the tcp-echo helper, read back until the helper closes or
  `read_timeout` (hirl.go: 5 s) passes; a timeout is the expected end, not a failure.

The helpers' defaults are OONI's (ooni/backend probe_services.py
`generate_test_helpers_conf`: "http-return-json-headers" http://37.218.241.94:80,
"tcp-echo" 37.218.241.93, port 80 in hirl.go); `--endpoint backend=...` replaces them.
What comes back may carry the probe's address (a proxy's X-Forwarded-For, an error page
naming the client: ts-006 and ts-007 "Privacy considerations"), so it is scrubbed
(`ctx.scrub`) before it is recorded; the comparison runs on what arrived.
"""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Mapping
from typing import Literal
from urllib.parse import SplitResult, urlsplit

import msgspec

from netvigil.failures import MALFORMED_HTTP_RESPONSE, Failure
from netvigil.probe.middlebox_wire import (
    open_helper,
    parse_response,
    read_to_close,
    send,
    tampering_of,
)
from netvigil.probe.nettest import Context, Endpoints
from netvigil.records import HTTPRequest, HTTPResponse, HTTPTransaction, TorInfo, maybe_binary
from netvigil.records.middlebox import EchoAnswer, HHFMKeys, HIRLKeys

HHFM_HELPER = "http://37.218.241.94:80"
ECHO_HELPER = "37.218.241.93:80"
MAX_ANSWER = 1 << 20  # bytes read of an answer (a middlebox's page can be large: mbx-1's is 116 kB)
_UPPER = string.ascii_uppercase


class HeaderFieldManipulation:
    name = "http_header_field_manipulation"
    version = "0.2.1"
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "backend": f"the http-return-json-headers helper's URL (default {HHFM_HELPER})"
    }

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.SystemRandom()

    def _mixed(self, name: str) -> str:
        """hhfm.go randx.ChangeCapitalization: each letter's case chosen at random."""
        return "".join(c.upper() if self.rng.random() < 0.5 else c.lower() for c in name)

    def headers(self) -> list[tuple[str, str]]:
        host = "".join(self.rng.choice(string.ascii_letters) for _ in range(15)) + ".com"
        values = (  # hhfm.go, with probe-cli internal/model/http.go's constants
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Charset", "ISO-8859-1,utf-8;q=0.7,*;q=0.3"),
            ("Accept-Encoding", "gzip,deflate,sdch"),
            ("Accept-Language", "en-US,en;q=0.9"),
            ("Host", host),
            (
                "User-Agent",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/17.10 Safari/605.1.1",
            ),
        )
        return [(self._mixed(name), value) for name, value in values]

    def endpoints(self, endpoints: Endpoints) -> str:
        """The helper's URL; EndpointError for a key or value it cannot use."""
        endpoints.check(self.endpoint_help)
        return endpoints.urls("backend", (HHFM_HELPER,), schemes=("http",))[0]

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> HHFMKeys:
        url = self.endpoints(ctx.endpoints)
        parts = urlsplit(url)
        sent = self.headers()
        method, path = "GeT", parts.path or "/"
        request = HTTPRequest(
            url=url,
            method=method,
            headers=dict(sent),
            headers_list=[[name, value] for name, value in sent],
            body=None,
            tor=TorInfo(),
        )
        t0 = ctx.trace.now()
        failure, operation, response, answer = await self._exchange(ctx, parts, method, path, sent)
        transaction = HTTPTransaction(
            failure=failure, request=request, response=response, t0=t0, t=ctx.trace.now()
        )
        return HHFMKeys(
            agent="agent",
            failure=failure,
            requests=[transaction],
            socksproxy=None,
            tampering=tampering_of(method, sent, answer, failed=failure is not None),
            failed_operation=operation,
            queries=list(ctx.trace.queries) or None,
            tcp_connect=list(ctx.trace.tcp_connect),
        )

    async def _exchange(
        self,
        ctx: Context,
        parts: SplitResult,
        method: str,
        path: str,
        sent: list[tuple[str, str]],
    ) -> tuple[str | None, str | None, HTTPResponse | None, EchoAnswer | None]:
        """(failure, failed_operation, the response as recorded, the helper's answer)."""
        connection, failure = await open_helper(ctx, parts.hostname or "", parts.port or 80)
        if connection is None:
            return failure or Failure.GENERIC_TIMEOUT, "connect", None, None
        try:
            head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sent)
            failure = await send(connection, (head + "\r\n").encode("latin-1"))
            raw, read_failure = b"", None
            if failure is None:
                raw, read_failure = await read_to_close(
                    connection, MAX_ANSWER, ctx.settings.http_timeout
                )
        finally:
            connection.close()
        failure = failure or read_failure
        if not raw:  # closed, reset or silent before a byte came: no answer at all
            return failure or Failure.EOF, "http_round_trip", None, None
        parsed = parse_response(raw)
        if parsed is None:  # bytes, but not HTTP: kept, as what answered in the helper's place
            what = maybe_binary(ctx.scrub(raw))
            response = HTTPResponse(code=0, headers={}, headers_list=[], body=what)
            return failure or MALFORMED_HTTP_RESPONSE, "http_round_trip", response, None
        code, headers, body = parsed
        recorded = [
            (name, ctx.scrub(value.encode("latin-1")).decode("latin-1")) for name, value in headers
        ]
        response = HTTPResponse(
            code=code,
            headers=dict(recorded),
            headers_list=[[name, value] for name, value in recorded],
            body=maybe_binary(ctx.scrub(body)),
            body_is_truncated=len(raw) >= MAX_ANSWER,
        )
        if code != 200:  # hhfm.go: any other status is urlgetter.ErrHTTPRequestFailed
            return Failure.HTTP_REQUEST_FAILED, "http_round_trip", response, None
        try:
            answer = msgspec.json.decode(body, type=EchoAnswer)
        except msgspec.DecodeError:
            # An answer cut off (a reset, a timeout) says so rather than "not JSON".
            return read_failure or Failure.JSON_PARSE_ERROR, None, response, None
        return None, None, response, answer


class InvalidRequestLine:
    name = "http_invalid_request_line"
    version = "0.2.1"
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "backend": f"the tcp-echo helper, HOST:PORT (default {ECHO_HELPER})"
    }

    def __init__(self, rng: random.Random | None = None, read_timeout: float = 5.0) -> None:
        self.rng = rng or random.SystemRandom()
        self.read_timeout = read_timeout

    def _upper(self, n: int) -> str:
        return "".join(self.rng.choice(_UPPER) for _ in range(n))

    def lines(self) -> list[str]:
        """hirl.go's five methods, in its order, with their exact line endings."""
        return [
            self._upper(4) + " / HTTP/1.1\n\r",  # random_invalid_method
            " ".join(self._upper(5) for _ in range(4)) + "\r\n",  # random_invalid_field_count
            self._upper(1024) + " / HTTP/1.1\r\n",  # random_big_request_method
            "GET / HTTP/" + self._upper(3) + "\r\n",  # random_invalid_version_number
            "GET cache_object://localhost/ HTTP/1.0\n\r",  # squid_cache_manager
        ]

    async def _one(
        self, ctx: Context, host: str, port: int, line: str
    ) -> tuple[str, bytes, str | None]:
        connection, failure = await open_helper(ctx, host, port)
        if connection is None:
            return "", b"", failure
        try:
            failure = await send(connection, line.encode("ascii"))
            if failure is not None:
                return "", b"", failure
            received, failure = await read_to_close(connection, MAX_ANSWER, self.read_timeout)
        finally:
            connection.close()
        # hirl.go: "We expect this method to terminate w/ timeout".
        return line, received, None if failure == Failure.GENERIC_TIMEOUT else failure

    def endpoints(self, endpoints: Endpoints) -> tuple[str, int]:
        """The helper's host and port; EndpointError for a key or value it cannot use."""
        endpoints.check(self.endpoint_help)
        return endpoints.host_ports("backend", (ECHO_HELPER,))[0]

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> HIRLKeys:
        host, port = self.endpoints(ctx.endpoints)
        lines = self.lines()
        results = await asyncio.gather(*(self._one(ctx, host, port, line) for line in lines))
        tampered: list[bool | None] = [
            bool(sent) and sent.encode("ascii") != got for sent, got, _ in results
        ]
        return HIRLKeys(
            sent=[sent for sent, _, _ in results],
            received=[maybe_binary(ctx.scrub(got)) for _, got, _ in results],
            failure_list=[failure for _, _, failure in results],
            tampering_list=tampered,
            tampering=any(tampered),
            client_resolver="",
        )
