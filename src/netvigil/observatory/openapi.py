"""The observatory's OpenAPI 3.1 document, generated from one table of operations.

Starlette does not derive a schema from handler signatures, so each operation is described
once here; `docs/openapi.json` is this document, committed, and a test checks that the
committed copy matches and that every route of the app has an entry (a new route without
one fails), so the document cannot drift from the server (aesthetics.md principle 13).
"""

from __future__ import annotations

import json
from typing import Any

from netvigil import __version__

FILTERS = [
    ("probe_cc", "Country, ISO 3166-1 alpha-2 (IT)."),
    ("probe_asn", "Network: AS1234 or 1234."),
    ("test_name", "Nettest, e.g. web_connectivity."),
    ("input", "The measured URL, exactly."),
    ("domain", "The measured URL's host."),
    ("report_id", "A report id."),
    ("since", "Start, inclusive: YYYY-MM-DD or ISO 8601. No since/until means all time."),
    ("until", "End, exclusive: YYYY-MM-DD or ISO 8601."),
    ("anomaly", "true or false: blocked per our analysis."),
    ("confirmed", "true or false: blocked with an artefact."),
    ("failure", "true or false: no verdict (insufficient data, unanalysed nettest or error)."),
    (
        "outcome",
        "blocked, down, ok, insufficient, unanalysed (a nettest we do not analyse yet) or "
        "error (the measurement failed a step; the row's `error` says why).",
    ),
    ("layer", "dns, tcp, tls or http."),
    ("technique", "e.g. dns_nxdomain, tls_reset, http_blockpage:NAME."),
]
PAGING = [
    ("limit", "Rows, 1 to 10000 (default 100)."),
    ("offset", "Rows to skip."),
    ("order_by", "measurement_start_time, input, probe_cc, probe_asn or test_name."),
    ("order", "asc or desc (default desc)."),
]
AGGREGATION = [
    (
        "axis_x",
        "measurement_start_day, probe_cc, probe_asn, test_name, domain, input, "
        "blocking_type, outcome, layer or technique.",
    ),
    ("axis_y", "A second axis, from the same list."),
    ("time_grain", "hour, day, week, month, year or auto (default day)."),
    ("format", "JSON (default) or CSV."),
]

INCIDENT_FILTERS = [
    ("country", "ISO 3166-1 alpha-2."),
    ("kind", "website_blocking, full_shutdown, throttling, ..."),
    ("status", "suspected, confirmed, ongoing, resolved or retracted."),
    ("technique", "dns_injection, tls_sni_filtering, ..."),
    ("asn", "AS1234 or 1234."),
    ("q", "Words in the title."),
    ("since", "Updated at or after (ISO 8601)."),
]
INCIDENT = "An incident (IncidentInput; see /api/v1/incidents/schema for a revision)."
INCIDENTS: list[tuple[str, str, str, list[tuple[str, str]], str | None]] = [
    ("/api/v1/incidents", "get", "Incidents the caller may read.", [*INCIDENT_FILTERS,
     ("limit", "1 to 1000 (default 100)."), ("offset", "Incidents to skip.")], None),
    ("/api/v1/incidents", "post", "Create an incident (a public one waits for review).", [],
     INCIDENT),
    ("/api/v1/incidents/schema", "get", "JSON Schema of an incident revision.", [], None),
    ("/api/v1/incidents/export", "get", "Export what the caller may read.",
     [("format", "json, csv, atom, stix or misp."), *INCIDENT_FILTERS], None),
    ("/api/v1/incidents/feed", "get", "Atom feed of public incidents.", INCIDENT_FILTERS, None),
    ("/api/v1/incidents/{id}", "get", "One incident, as the caller may read it.",
     [("revision", "An earlier revision.")], None),
    ("/api/v1/incidents/{id}", "put", "Revise an incident (a new signed revision).", [],
     INCIDENT),
    ("/api/v1/incidents/{id}/revisions", "get", "Every revision the caller may read.", [], None),
    ("/api/v1/incidents/{id}/publish", "post", "Ask for publication to public.", [], None),
    ("/api/v1/incidents/{id}/review", "post", "Approve or reject publication (a second "
     "person).", [], "approve: true or false"),
    ("/api/v1/incidents/{id}/retract", "post", "Retract, with a reason.", [], "reason"),
    ("/api/v1/incidents/{id}/sightings", "post", "Add a sighting as another organisation.", [],
     "kind (seen, false_positive, still_ongoing, ended), note"),
    ("/api/v1/feeds", "post", "Save a filter as a private Atom feed (a token URL).", [],
     "name, filter"),
    ("/api/v1/feeds/{token}", "get", "A saved filter's Atom feed.", [], None),
    ("/api/v1/webhooks", "post", "Subscribe a URL to signed incident events.", [], "url"),
    ("/api/v1/keys", "post", "A new API key for the caller.", [], "scopes, days"),
    ("/api/v1/keys/{id}/revoke", "post", "Revoke an API key (yours, or as an admin).", [], None),
    ("/api/v1/audit", "get", "The audit log entries the caller may read.", [], None),
    ("/.well-known/netvigil/keys", "get", "The instance's Ed25519 public keys.", [], None),
]  # fmt: skip

# (path, method, summary, query parameters, request body description or None)
OPERATIONS: list[tuple[str, str, str, list[tuple[str, str]], str | None]] = [
    (
        "/report",
        "post",
        "Open a report (OONI collector).",
        [],
        "probe_cc, probe_asn, test_name, software_name, software_version, test_version",
    ),
    (
        "/report/{report_id}",
        "post",
        "Submit a measurement; answers its measurement_uid. It must decode as OONI's data "
        "format (400 naming the field otherwise); its body must arrive within 20 s, then "
        "at 500 bytes/s (408).",
        [],
        '{"format": "json", "content": <measurement>}, optionally Content-Encoding: zstd',
    ),
    ("/report/{report_id}/close", "post", "Close a report (legacy, a no-op).", [], None),
    (
        "/api/v1/check-in",
        "post",
        "Probe check-in: URLs to measure, test helpers.",
        [],
        "probe_cc, probe_asn, run_type, web_connectivity.category_codes",
    ),
    (
        "/api/v1/geolookup",
        "post",
        "Country and network of addresses, and of the caller's own address (answered, "
        "never stored).",
        [],
        "addresses (a list of IP addresses, at most 1000)",
    ),
    (
        "/api/v1/test-list/urls",
        "get",
        "Citizen Lab test list for a country.",
        [
            ("country_code", "ISO alpha-2 or XX."),
            ("category_codes", "Comma-separated codes."),
            ("limit", "At most 9999."),
        ],
        None,
    ),
    ("/api/v1/test-helpers", "get", "Test helpers to use.", [], None),
    (
        "/api/v1/measurements",
        "get",
        "Search measurements (OONI-compatible).",
        FILTERS + PAGING,
        None,
    ),
    (
        "/api/v1/measurement/{uid}",
        "get",
        "One measurement: its row, raw data and enriched addresses.",
        [],
        None,
    ),
    (
        "/api/v1/raw_measurement",
        "get",
        "The raw measurement as submitted or imported (read from its file).",
        [("measurement_uid", "The measurement's uid.")],
        None,
    ),
    (
        "/api/v1/aggregation",
        "get",
        "Counts by axes (OONI's MAT API): measurement_count, anomaly_count, confirmed_count, "
        "failure_count (no verdict), ok_count (outcome ok only), down_count, "
        "unanalysed_count, error_count.",
        FILTERS + AGGREGATION,
        None,
    ),
    (
        "/api/v1/analysis",
        "get",
        "Our layered verdicts, with the addresses seen and their networks.",
        FILTERS + PAGING,
        None,
    ),
    ("/th/", "get", "Test helper greeting.", [], None),
    (
        "/th/",
        "post",
        "Test helper control measurement (OONI TH protocol).",
        [],
        "THRequest: http_request, http_request_headers, tcp_connect, x_quic_enabled",
    ),
    ("/openapi.json", "get", "This document.", [], None),
    *INCIDENTS,
]


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    error = {
        "description": "Bad input: a JSON object with an `error` message.",
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
            }
        },
    }
    for path, method, summary, query, body in OPERATIONS:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in ("report_id", "uid", "id", "token")
            if "{" + name + "}" in path
        ]
        parameters += [
            {"name": n, "in": "query", "description": d, "schema": {"type": "string"}}
            for n, d in query
        ]
        operation: dict[str, Any] = {
            "summary": summary,
            "operationId": _operation_id(method, path),
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {}}},
                "400": error,
            },
        }
        if body is not None:
            operation["requestBody"] = {
                "description": body,
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "netvigil observatory",
            "version": __version__,
            "description": "OONI-compatible collector, probe services and data API; "
            "incidents shared at graded levels.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "nvk_... key"}
            }
        },
        "security": [{}, {"apiKey": []}],
    }


def _operation_id(method: str, path: str) -> str:
    name = path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    return f"{method}_{name or 'root'}".replace("-", "_").replace(".", "_")


def rendered() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"
