"""Hostile input against a live server: every operation of the OpenAPI document gets the whole
list (issue 9 §3), and answers each with a 4xx and a one-line JSON error, never a 5xx, and
the server's log never shows a traceback.

The list: bodies that are invalid UTF-8, JSON nested 100,000 deep (arrays and objects), not
JSON, JSON of the wrong type, `{}` and empty; query values with non-ASCII digits (`²`, which
`str.isdigit` accepts and `int` refuses; `٣`, which `int` reads as 3), empty values, -1,
unknown enum values, undecodable percent-escapes, 10,000 characters, and each parameter given
twice; odd credentials. The test helper's POST /th/ and POST /api/v1/webhooks get only bodies
they must refuse before connecting anywhere (never a usable URL): no request leaves the
machine.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from netvigil.web.openapi import OPERATIONS
from netvigil.web.openapi_parts import Op
from tests.observatory.live import Live

BODIES: dict[str, bytes] = {
    "invalid UTF-8": b'{"probe_cc": "\xff\xfe", "url": "\xc3\x28"}',
    "invalid UTF-8 alone": b"\xff\xfe\xfd",
    "deep arrays": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "deep inside an object": b'{"addresses": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "not JSON": b"{not json",
    "NUL bytes": b'{"a": "\x00"}\x00',
    "a list": b"[]",
    "a string": b'"x"',
    "a number": b"1e999999",
    "null": b"null",
}
# Bodies a route may accept (its fields are optional): never a 5xx, maybe a 2xx.
LAX_BODIES: dict[str, bytes] = {"{}": b"{}", "empty": b""}
VALUES = {
    "non-ASCII digit ²": "²",
    "Arabic-Indic digit ٣": "٣",
    "empty": "",
    "minus one": "-1",
    "unknown value": "censored",
    "undecodable escape": "%FF%FE",
    "long": "9" * 10_000,
}
CREDENTIALS = ("Bearer ²", "Bearer", "Basic Og==", "Bearer nvk_" + "x" * 5000)
KEEP_OUT = {("/th/", "post"), ("/api/v1/webhooks", "post")}  # they take URLs: bodies only


def path_of(op: Op, report: str = "x%FFy") -> str:
    """The operation's path; a report's is a real one (its body is read), others an odd id."""
    return (
        op.path.replace("{report_id}", report)
        .replace("{uid}", "x%FFy")
        .replace("{id}", "x%FFy")
        .replace("{token}", "x%FFy")
    )


def is_one_line_error(response: httpx.Response) -> bool:
    try:
        message = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(message, str) and "\n" not in message and len(message) > 0


def test_every_operation_refuses_hostile_input(live: Live) -> None:
    statuses: Counter[int] = Counter()
    wrong: list[tuple[str, str, int, str]] = []

    def expect_4xx(op: Op, what: str, response: httpx.Response) -> None:
        statuses[response.status_code] += 1
        if not (400 <= response.status_code < 500 and is_one_line_error(response)):
            wrong.append((op.method, op.path, response.status_code, what))

    def expect_no_5xx(op: Op, what: str, response: httpx.Response) -> None:
        statuses[response.status_code] += 1
        if response.status_code >= 500 or (
            response.status_code >= 400 and not is_one_line_error(response)
        ):
            wrong.append((op.method, op.path, response.status_code, what))

    with httpx.Client(base_url=live.url, timeout=60) as client:
        opened = {"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"}
        report = client.post("/report", json=opened).json()["report_id"]

        def sent(op: Op, **kwargs: Any) -> httpx.Response:
            return client.request(op.method.upper(), path_of(op, report), **kwargs)

        for op in OPERATIONS:
            if op.body is not None:
                for what, body in BODIES.items():
                    headers = {"Content-Type": "application/json"}
                    expect_4xx(op, what, sent(op, content=body, headers=headers))
                packed = {"Content-Encoding": "zstd", "Content-Type": "application/json"}
                expect_4xx(op, "not zstd", sent(op, content=b"not zstd at all", headers=packed))
                if (op.path, op.method) not in KEEP_OUT:
                    for what, body in LAX_BODIES.items():
                        expect_no_5xx(op, what, sent(op, content=body))
            for param in op.query:
                for what, value in VALUES.items():
                    query = f"{param.name}={value}"
                    answer = client.request(op.method.upper(), f"{path_of(op, report)}?{query}")
                    typed = "enum" in param.schema or param.schema.get("type") == "integer"
                    check = expect_4xx if typed and what != "long" else expect_no_5xx
                    check(op, f"{param.name}: {what}", answer)
                twice = f"{path_of(op, report)}?{param.name}=a&{param.name}=b"
                expect_4xx(op, f"{param.name} twice", client.request(op.method.upper(), twice))
            if op.access == "incidents":
                for credential in CREDENTIALS:
                    answer = sent(op, headers={"Authorization": credential.encode()})
                    expect_4xx(op, f"credential {credential[:12]}", answer)
    assert not wrong, "\n".join(map(str, wrong))
    assert not any(status >= 500 for status in statuses), statuses
    assert sum(statuses.values()) > 900  # the whole list went out
    log = live.log_text()
    assert "Traceback" not in log and "Exception in ASGI" not in log, log[-5000:]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("outcome=censored", ["blocked", "down", "ok", "insufficient", "unanalysed", "error"]),
        ("technique=nonsense", ["dns_nxdomain", "tls_reset", "http_blockpage:FINGERPRINT"]),
        ("layer=ip", ["dns", "tcp", "tls", "http"]),
        ("limit=-1", ["1 to 10000"]),
        ("limit=²", ["1 to 10000"]),
        ("format=XML", ["JSON", "CSV"]),
        ("order=sideways", ["asc", "desc"]),
        ("probe_asn=AS4294967296", ["below 2^32"]),
        ("since=2024-02-30", ["2024-02-14"]),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/measurements", "/api/v1/analysis"])
def test_unknown_values_are_400s_naming_the_valid_ones(
    live: Live, path: str, query: str, names: list[str]
) -> None:
    answer = httpx.get(f"{live.url}{path}?{query}", timeout=30)
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert query.split("=")[0] in message and all(name in message for name in names), message


def test_aggregation_checks_time_grain_even_without_a_time_axis(live: Live) -> None:
    answer = httpx.get(f"{live.url}/api/v1/aggregation?time_grain=fortnight", timeout=30)
    assert answer.status_code == 400
    assert all(g in answer.json()["error"] for g in ("hour", "day", "week", "month", "auto"))


def test_valid_filter_values_are_accepted(live: Live) -> None:
    for query in ("outcome=unanalysed", "outcome=error", "technique=http_blockpage:ooni.th_12"):
        answer = httpx.get(f"{live.url}/api/v1/analysis?{query}", timeout=30)
        assert answer.status_code == 200, (query, answer.text)


@pytest.mark.parametrize("path", ["/api/v1/measurements", "/api/v1/analysis"])
def test_format_csv_like_the_aggregation(live: Live, path: str) -> None:
    json_rows = httpx.get(f"{live.url}{path}?limit=5", timeout=30).json()["results"]
    answer = httpx.get(f"{live.url}{path}?limit=5&format=CSV", timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.splitlines()
    header = lines[0].split(",")
    assert "measurement_uid" in header and len(lines) == 1 + len(json_rows) == 6
    outcome = "scores.outcome" if path.endswith("measurements") else "outcome"
    assert outcome in header
    assert [line.split(",")[header.index("measurement_uid")] for line in lines[1:]] == [
        row["measurement_uid"] for row in json_rows
    ]
