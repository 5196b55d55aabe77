"""The key-set and type check a probe's measurement passes against OONI's of the same nettest.

OONI's measurement is the reference: every key it has must be in ours with the same JSON type
(recursively), so that OONI's pipeline and Explorer read ours as they read theirs.
"""

from __future__ import annotations

from typing import Any

# Maps keyed by data (header names, "ip:port", IPs): compare their values' type, not keys.
DATA_KEYED = {
    "headers",
    "ip_info",
    "annotations",
    "http_request_headers",
    "quic_handshake",
    "tls_handshake",
    "extensions",
}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def missing_or_different(theirs: Any, ours: Any, path: str = "") -> list[str]:
    """Every key of OONI's measurement must be in ours, with the same JSON type.

    Null on our side is accepted only for experimental `x_` keys we do not produce (df-000:
    consumers must tolerate null), for failure keys (null means success, df-007), and
    wherever OONI's value is null too.
    """
    problems: list[str] = []
    for key, value in theirs.items():
        where = f"{path}.{key}" if path else key
        if key not in ours:
            problems.append(f"{where}: missing")
            continue
        mine = ours[key]
        if value is None or mine is None:
            nullable = key.startswith("x_") or key == "failure" or key.endswith("_failure")
            if value is not None and not nullable:
                problems.append(f"{where}: null in ours, {kind(value)} in OONI's")
            continue
        if kind(value) != kind(mine):
            problems.append(f"{where}: {kind(mine)} in ours, {kind(value)} in OONI's")
        elif (
            isinstance(value, dict)
            and key not in DATA_KEYED
            and not (key == "tcp_connect" and path.endswith("control"))
        ):
            problems += missing_or_different(value, mine, where)
        elif isinstance(value, list) and value and mine and isinstance(value[0], dict):
            # Compare like with like: a UDP lookup with a UDP lookup, not with getaddrinfo.
            engine = value[0].get("engine")
            peer = next((m for m in mine if m.get("engine") == engine), mine[0])
            problems += missing_or_different(value[0], peer, f"{where}[0]")
    return problems
