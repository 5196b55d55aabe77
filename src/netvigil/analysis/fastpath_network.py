"""The fastpath's middlebox, network and performance scorers.

Rules from ooni/backend fastpath/fastpath/core.py: `score_measurement_hhfm`
(http_header_field_manipulation), `score_http_invalid_request_line`,
`score_dns_consistency` (no scoring: zeros), `score_tcp_connect`, `score_ndt` (`{}`),
`score_dash` and `score_browser_web`. Where core.py raises on a shape, they raise NoRow.
"""

from __future__ import annotations

import json
from typing import Any

from netvigil.analysis.fastpath_score import (
    NoRow,
    Scores,
    as_dict,
    dget_or,
    failed_scores,
    init_scores,
)

_MALFORMED = object()


def _echoed_headers(body: Any) -> Any:
    """The echo helper's `headers_dict`, _MALFORMED when the body is not that JSON (core.py's
    bare `except` around `ujson.loads(resp_body)["headers_dict"]`)."""
    if not isinstance(body, str):
        return _MALFORMED
    try:
        echoed = json.loads(body)
    except ValueError:
        return _MALFORMED
    if not isinstance(echoed, dict) or "headers_dict" not in echoed:
        return _MALFORMED
    return echoed["headers_dict"]


def score_hhfm(msm: dict[str, Any]) -> Scores:
    """Anomaly when the headers the helper echoes differ from those sent (`Connection:
    close` aside), or when the echo is missing or malformed; accuracy 0 without a response."""
    tk = as_dict(dget_or(msm, "test_keys", {}))
    scores = init_scores()
    requests = tk.get("requests")
    if not isinstance(requests, list) or not requests:
        return failed_scores()  # core.py: KeyError / IndexError / TypeError
    first = requests[0]
    if not isinstance(first, dict):
        raise NoRow
    resp = first.get("response", {})
    if resp is None:
        return failed_scores()
    if not isinstance(resp, dict):
        raise NoRow
    body = resp.get("body")
    if body is None:
        scores.update(total_tampering=True, blocking_general=1.0, msg="Empty body")
        return scores
    echoed = _echoed_headers(body)
    if echoed is _MALFORMED:
        scores.update(blocking_general=1.0, msg="Malformed ctrl_headers")
        return scores
    if not isinstance(echoed, dict) or not all(_first_hashable(v) for v in echoed.values()):
        raise NoRow  # core.py: `v[0]` of a value that is not a list raises
    sent = as_dict(as_dict(first.get("request", {})).get("headers", {}))
    if not all(isinstance(v, str | int | float | bool) or v is None for v in sent.values()):
        raise NoRow  # an unhashable value: core.py's set() raises
    ctrl = {(k, v[0]) for k, v in echoed.items()} - {("Connection", "close")}
    expected = set(sent.items()) - {("Connection", "close")}
    if expected != ctrl:
        scores["blocking_general"] = 1.1
        scores["msg"] = f"{len(expected ^ ctrl)} unexpected header change"
    return scores


def _first_hashable(value: Any) -> bool:
    return (
        isinstance(value, list | str) and len(value) > 0 and not isinstance(value[0], list | dict)
    )


def score_http_invalid_request_line(msm: dict[str, Any]) -> Scores:
    """Anomaly when any line the echo helper sent back differs from the one sent (the
    probe's own `tampering` flag is ignored, ooni/probe#1278)."""
    tk = as_dict(dget_or(msm, "test_keys", {}))
    sent, received = tk.get("sent", []), tk.get("received", [])
    if not isinstance(sent, list | str | dict) or not isinstance(received, list | str | dict):
        raise NoRow  # len(None) raises in core.py
    if not sent and not received:
        return failed_scores()
    scores = init_scores()
    if any(s != r for s, r in zip(sent, received, strict=False)):
        scores["blocking_general"] = 1.0
    return scores


def score_dns_consistency(msm: dict[str, Any]) -> Scores:
    return init_scores()  # "TODO: implement scoring" in core.py


_TCP_FAILURES = ("generic_timeout_error", "connection_refused_error", "connect_error")


def score_tcp_connect(msm: dict[str, Any]) -> Scores:
    """ts-008: 0.8 for the known connect failures, 1.0 for any other non-success."""
    if not msm.get("input"):
        raise NoRow  # core.py: `assert msm["input"]`
    result = as_dict(dget_or(msm, "test_keys", {})).get("connection")
    scores = init_scores()
    if result == "success":
        return scores
    known = result in (*_TCP_FAILURES, "tcp_timed_out_error")
    scores["blocking_general"] = 0.8 if known else 1.0
    return scores


_DASH_FAILURES = frozenset(
    {
        "connection_aborted",
        "json_parse_error",
        "eof_error",
        "json_processing_error",
        "http_request_failed",
        "connect_error",
        "generic_timeout_error",
        "broken_pipe",
        "connection_refused",
    }
)


def score_dash(msm: dict[str, Any]) -> Scores:
    """No blocking score: known network failures get 0.1 and accuracy 0, others accuracy 0."""
    scores = init_scores()
    tk = as_dict(dget_or(msm, "test_keys", {}))
    failure = tk.get("failure")
    if not tk:
        return failed_scores()
    if failure is None:
        return scores
    if not isinstance(failure, str | list | dict):
        raise NoRow  # `"ssl_error" in failure` raises
    if (isinstance(failure, str) and failure in _DASH_FAILURES) or "ssl_error" in failure:
        scores["blocking_general"] = 0.1
    else:
        scores["msg"] = "Probe error"
    scores["accuracy"] = 0.0
    return scores


def score_browser_web(msm: dict[str, Any]) -> Scores:
    tk = as_dict(dget_or(msm, "test_keys", {}))
    scores = init_scores()
    result = dget_or(tk, "result", "")
    if result == "error":
        scores["blocking_general"] = 1.0
    elif result != "ok":
        scores["accuracy"] = 0.0
    scores["extra"] = {
        "browser_name": dget_or(tk, "browser_name", ""),
        "load_time_ms": dget_or(tk, "load_time_ms", 0),
    }
    return scores
