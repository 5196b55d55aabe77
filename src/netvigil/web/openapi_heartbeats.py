"""The heartbeat operations of the OpenAPI document (web/openapi.py assembles the whole).

Their schemas take their patterns and bounds from the routes (observatory/heartbeats.py), so
what the document calls valid is what the server accepts: a country of two capital letters,
a network AS1..AS4294967295 (ZZ, XX and AS0 are refused: heartbeats count known networks),
a pseudonym of 32 lower-case hex digits, RFC 3339 times with an offset.
"""

from __future__ import annotations

from netvigil.observatory import heartbeats
from netvigil.patterns import TIMESTAMP
from netvigil.web.openapi_parts import Op, Schema, obj, string

WHERE: dict[str, Schema] = {
    "probe_cc": string(pattern=heartbeats.CC),
    "probe_asn": string(pattern=heartbeats.ASN),
    "pseudonym": string(pattern=heartbeats.PSEUDONYM),
}
HEARTBEAT = {
    **obj(
        ("probe_cc", "probe_asn", "pseudonym", "sent_at"),
        **WHERE,
        sent_at=string(pattern=TIMESTAMP),
    ),
    "additionalProperties": False,
}
CHECK = {
    **obj(
        ("time", "gateway_up", "upstream_down"),
        time=string(pattern=TIMESTAMP),
        gateway_up={"type": "boolean"},
        upstream_down={"type": "boolean"},
    ),
    "additionalProperties": False,
}
CHECKS = {
    **obj(
        ("probe_cc", "probe_asn", "pseudonym", "checks"),
        **WHERE,
        checks={"type": "array", "items": CHECK, "minItems": 1, "maxItems": heartbeats.MAX_CHECKS},
    ),
    "additionalProperties": False,
}
ERRORS = {
    400: "Not JSON of the expected shape: the error names the field, or the first bad item.",
    408: "The body did not arrive in time.",
    413: "The body is over the size limit.",
}

HEARTBEATS: tuple[Op, ...] = (
    Op("/api/v1/heartbeats", "post",
       "A probe daemon's heartbeat: counted once per pseudonym in the server's minute (more "
       "are accepted, not counted: `counted` false with a `reason`); a `sent_at` more than "
       "5 minutes off the server's clock is reported in `clock_skew_seconds` and `warning`. "
       "The client's address is never read.",
       body=HEARTBEAT, body_description=f"At most {heartbeats.MAX_HEARTBEAT} bytes.",
       result=obj(("counted", "minute"), counted={"type": "boolean"}, minute=string(),
                  reason=string(), clock_skew_seconds={"type": "integer"}, warning=string()),
       errors=ERRORS),
    Op("/api/v1/heartbeats/local", "post",
       "Local checks a probe recorded while it could not reach the server, one per minute, "
       "at their own times (within the last 35 days, at most 5 minutes ahead): counted once "
       "per pseudonym and minute.",
       body=CHECKS, body_description=f"At most {heartbeats.MAX_LOCAL} bytes.",
       result=obj(("accepted", "counted", "not_counted"), accepted={"type": "integer"},
                  counted={"type": "integer"}, not_counted={"type": "integer"}),
       errors=ERRORS),
)  # fmt: skip
