"""Hostile measurements: valid JSON, valid report, values the typed records do not allow.

Each was acknowledged before issue 9 and then stopped the pipeline for good (or would have
stopped the writing of the tables). Each entry: a name, how to spoil a web_connectivity
measurement, and what the collector's 400 must say (the path of the field, in msgspec's
words).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from tests.corpus import qa_files

Spoil = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Spoil:
    def spoil(measurement: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        where: Any = measurement
        for name in parents:
            where = where[int(name)] if name.isdigit() else where[name]
        where[int(last) if last.isdigit() else last] = value

    return spoil


RAW = {  # JSON that json.dumps cannot write, put in place of a marker by submission()
    "<deep>": "[" * 5000 + "]" * 5000,  # deeper than any decoder follows
    "<huge float>": "1e400",  # no float holds it
}


def _raw(path: str, marker: str) -> Spoil:
    return _set(path, marker)


HOSTILE: list[tuple[str, Spoil, str]] = [
    ("number_network_name", _set("probe_network_name", 137), "`$.content.probe_network_name`"),
    ("object_input", _set("input", {"url": "https://example.org/"}), "`$.content.input`"),
    ("object_software_name", _set("software_name", {"n": "x"}), "`$.content.software_name`"),
    ("null_test_name", _set("test_name", None), "`$.content.test_name`"),
    ("null_in_queries", _set("test_keys.queries", [None]), "`$.content.test_keys.queries[0]`"),
    (
        "junk_queries",
        _set("test_keys.queries", {"a": [1, {"b": 2}]}),
        "$.content.test_keys.queries",
    ),
    (
        "string_status_code",
        _set("test_keys.requests.0.response.code", "200"),
        "$.content.test_keys.requests[0].response.code",
    ),
    (
        "huge_answer_asn",
        _set("test_keys.queries.0.answers.0.asn", 2**70),
        "$.content.test_keys.queries[0].answers[0].asn",
    ),
    ("huge_float_runtime", _raw("test_runtime", "<huge float>"), "`$.content.test_runtime`"),
    (
        "number_start_time",
        _set("measurement_start_time", 1707769227),
        "$.content.measurement_start_time",
    ),
    ("deep_nesting", _raw("test_keys.x_junk", "<deep>"), "JSON nested too deep"),
]


def base() -> dict[str, Any]:
    """A real web_connectivity measurement (OONI's QA run) with an answer and a response."""
    for path in qa_files():
        measurement: dict[str, Any] = json.loads(path.read_text())
        keys = measurement["test_keys"]
        queries, requests = keys.get("queries") or [], keys.get("requests") or []
        if queries and queries[0].get("answers") and requests and requests[0].get("response"):
            return measurement
    raise AssertionError("no QA measurement with a DNS answer and an HTTP response")


def submission(spoil: Spoil, fresh: dict[str, Any]) -> bytes:
    """The collector's request body for a spoilt copy of `fresh`."""
    measurement = copy.deepcopy(fresh)
    spoil(measurement)
    text = json.dumps({"format": "json", "content": measurement})
    for marker, raw in RAW.items():
        text = text.replace(json.dumps(marker), raw)
    return text.encode()
