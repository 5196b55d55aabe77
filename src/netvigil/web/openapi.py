"""The observatory's OpenAPI 3.1 document, generated from one table of operations.

Starlette does not derive a schema from handler signatures, so each operation is described
once here: its parameters with their types, bounds and enums (taken from the vocabularies the
server validates with, query.py and the incident model), its request body's schema (the
incident input's is generated from the msgspec type), every status it answers and the real
content types (the pieces: openapi_parts.py). `docs/openapi.json` is this document,
committed; tests check that the copy matches, that every route of the app has an entry, and
schemathesis checks the live server against it (tests/observatory/test_schemathesis.py), so
the document cannot drift from the server (aesthetics.md principle 13).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from netvigil import __version__, testlists
from netvigil.observatory import categories, query
from netvigil.patterns import PROBE_ASN, START_TIME
from netvigil.web.openapi_events import EVENTS
from netvigil.web.openapi_heartbeats import HEARTBEATS
from netvigil.web.openapi_incidents import INCIDENTS
from netvigil.web.openapi_parts import (
    BOOLEAN,
    OBJECT,
    TIME,
    Op,
    Param,
    category_list,
    countries,
    incident_schemas,
    obj,
    one_of,
    operation,
    ref,
    string,
    test_list_countries,
    whole,
)

FILTERS = (
    Param("probe_cc", "Country, ISO 3166-1 alpha-2 (IT).", string(pattern=query.CC)),
    Param("probe_asn", "Network: AS1234 or 1234.", string(pattern=query.ASN)),
    Param("test_name", "Nettest, e.g. web_connectivity.", string(pattern=query.TEST_NAME)),
    Param("input", "The measured URL, exactly.", string(minLength=1)),
    Param("domain", "The measured URL's host.", string(minLength=1)),
    Param("report_id", "A report id.", string(minLength=1)),
    Param("since", "Start, inclusive: YYYY-MM-DD or ISO 8601. No since/until: all time.", TIME),
    Param("until", "End, exclusive: YYYY-MM-DD or ISO 8601.", TIME),
    Param("anomaly", "Blocked per our analysis.", BOOLEAN),
    Param("confirmed", "Blocked with an artefact.", BOOLEAN),
    Param("failure", "No verdict: insufficient data, an unanalysed nettest or an error.", BOOLEAN),
    Param(
        "outcome",
        "The verdict's outcome: unanalysed is a nettest we do not analyse yet, error a "
        "measurement that failed a step (the row's `error` says why).",
        one_of(query.OUTCOMES),
    ),
    Param("layer", "The layer that decided.", one_of(query.LAYERS)),
    Param(
        "technique",
        "How it was blocked; a blockpage is http_blockpage:FINGERPRINT.",
        {"anyOf": [one_of(query.TECHNIQUES), string(pattern=query.BLOCKPAGE.pattern)]},
    ),
    Param(
        "vendor",
        "The product the evidence names (a blockpage's fingerprint), e.g. Fortinet FortiGuard.",
        string(pattern=query.VENDOR),
    ),
)
FORMAT = Param("format", "JSON (default) or CSV.", one_of(query.FORMATS))
PAGING = (
    Param("limit", "Rows (default 100).", whole(1, 10_000, 100)),
    Param("offset", "Rows to skip.", whole(0, 10**9, 0)),
    Param("order_by", "The sort key.", one_of(query.ORDER_BY)),
    Param("order", "Direction (default desc).", one_of(query.DIRECTIONS)),
    FORMAT,
)
AXES = tuple(query.AXES)
AGGREGATION = (
    Param("axis_x", "First axis.", one_of(AXES)),
    Param("axis_y", "Second axis.", one_of(AXES)),
    Param(
        "time_grain", "For measurement_start_day (default day).", one_of((*query.GRAINS, "auto"))
    ),
    Param(
        "category_code",
        "Citizen Lab category of the measured domain, from the bundled test lists (the global "
        "list's, else the most common); uncategorised: a domain in no list, or no domain. Also "
        "an axis. Only the aggregation has it.",
        one_of(categories.codes()),
    ),
    FORMAT,
)
TABLE = ("application/json", "text/csv")
BAD = "Bad input: the error names the parameter and its valid values."
BODY_ERRORS = {
    400: "Not JSON of the expected shape; the error names the field.",
    408: "The body did not arrive in time.",
    413: "The body is over the size limit.",
}


MEASUREMENT = obj(
    ("test_name", "probe_cc", "probe_asn", "measurement_start_time"),
    test_name=string(pattern="^[a-z0-9_]{1,64}$"),
    probe_cc=string(pattern="^[A-Z]{2}$"),
    probe_asn=string(pattern=PROBE_ASN),
    measurement_start_time=string(pattern=START_TIME),
)
OPERATIONS: tuple[Op, ...] = (
    Op("/", "get", "What this server is and what it holds: an HTML page, or its facts as "
       "JSON for `Accept: application/json`.", content=("text/html", "application/json"),
       result=obj(("measurements", "countries", "public_incidents"))),
    Op("/report", "post", "Open a report (OONI collector).",
       body=obj(("probe_cc", "probe_asn", "test_name"), probe_cc=string(pattern="^[A-Z]{2}$"),
                    probe_asn=string(pattern=PROBE_ASN),
                    test_name=string(pattern="^[a-z0-9_]{1,64}$")),
       body_description="probe_cc, probe_asn, test_name (and software_name, software_version, "
       "test_version, format, which are not checked).",
       result=obj(("report_id",), report_id=string()), errors=BODY_ERRORS),
    Op("/report/{report_id}", "post", "Submit a measurement; answers its measurement_uid. It "
       "must decode as OONI's data format (400 naming the field otherwise); its body must "
       "arrive within 20 s, then at 500 bytes/s (408).",
       body=obj(("content",), format=one_of(("json",)), content=MEASUREMENT),
       body_description='{"format": "json", "content": <measurement>}, optionally '
       "Content-Encoding: zstd (at most 16 MiB either way).",
       result=obj(("measurement_uid",), measurement_uid=string()),
       errors={**BODY_ERRORS, 404: "No report with this id was opened here.",
               409: "The measurement's test_name, probe_cc or probe_asn is not its report's.",
               500: "The measurement could not be stored durably; retry later.",
               503: "Over capacity: retry after Retry-After seconds."}),
    Op("/report/{report_id}/close", "post", "Close a report (legacy, a no-op).",
       result=OBJECT, errors={404: "No report with this id was opened here."}),
    Op("/api/v1/check-in", "post", "Probe check-in: URLs to measure, test helpers.",
       body_required=False, body=obj(probe_cc=ref("TestListCountry"),
                    probe_asn=string(pattern=PROBE_ASN),
                    run_type=one_of(("timed", "manual")),
                    web_connectivity=obj(category_codes={
                        "type": "array", "items": ref("CategoryCode")})),
       body_description="probe_cc, probe_asn, run_type, web_connectivity.category_codes.",
       result=OBJECT, errors=BODY_ERRORS),
    Op("/api/v1/geolookup", "post",
       "Country and network of addresses, and of the caller's own address (answered, never "
       "stored).",
       body_required=False, body=obj(addresses={
           "type": "array", "maxItems": 1000,
           "items": {"anyOf": [string(format="ipv4"), string(format="ipv6")]}}),
       body_description="addresses: the IP addresses to look up, at most 1000 (default none).",
       result=obj(("geolocation", "client")), errors=BODY_ERRORS),
    Op("/api/v1/test-list/urls", "get", "Citizen Lab test list for a country.",
       (Param("country_code", "ISO alpha-2 or XX (default XX).", ref("TestListCountry")),
        Param("category_codes", "Comma-separated category codes.", ref("CategoryCodes")),
        Param("limit", "URLs (default 100).", whole(1, 9999, 100))),
       result=obj(("metadata", "results")), errors={400: BAD}),
    Op("/api/v1/test-helpers", "get", "Test helpers to use.", result=OBJECT),
    Op("/api/v1/measurements", "get", "Search measurements (OONI-compatible).",
       (*FILTERS, *PAGING), content=TABLE, result=obj(("metadata", "results")),
       errors={400: BAD}),
    Op("/api/v1/measurement/{uid}", "get",
       "One measurement: its row, raw data and enriched addresses.",
       result=obj(("measurement_uid",)), errors={404: "No such measurement."}),
    Op("/api/v1/raw_measurement", "get",
       "The raw measurement as submitted or imported (read from its file).",
       (Param("measurement_uid", "The measurement's uid.", string(minLength=1), True),),
       result=OBJECT, errors={400: BAD, 404: "No such measurement."}),
    Op("/api/v1/aggregation", "get", "Counts by axes (OONI's MAT API): measurement_count, "
       "anomaly_count, confirmed_count, failure_count (no verdict), ok_count (outcome ok "
       "only), down_count, unanalysed_count, error_count.",
       (*FILTERS, *AGGREGATION), content=TABLE, result=obj(("result",)),
       errors={400: BAD}),
    Op("/api/v1/analysis", "get", "Our layered verdicts, with the addresses seen and their "
       "networks.", (*FILTERS, *PAGING), content=TABLE, result=obj(("results",)),
       errors={400: BAD}),
    Op("/api/v1/works_here", "get", "What works here now: per app and circumvention tool, "
       "its status (works, blocked, mixed, no recent evidence), outcome counts, the latest and "
       "the witness measurement over the last hours, by network too, and guidance sentences. "
       "On a demo's fixed sample the window ends at the place's newest measurement, given as "
       "as_of (null otherwise).",
       (Param("probe_cc", "Country, ISO 3166-1 alpha-2 (IR).", string(pattern=query.CC), True),
        Param("probe_asn", "Network: AS1234 or 1234.", string(pattern=query.ASN)),
        Param("hours", "The window, ending now or at as_of (default 24).", whole(1, 168, 24))),
       result=obj(("probe_cc", "items", "guidance", "networks")), errors={400: BAD}),
    *EVENTS,
    Op("/th/", "get", "Test helper greeting.", result=OBJECT),
    Op("/th/", "post", "Test helper control measurement (OONI TH protocol).",
       body=obj(("http_request", "tcp_connect"),
                    http_request=string(pattern="^https?://"),
                    http_request_headers={"type": "object"},
                    tcp_connect={"type": "array", "items": string()},
                    x_quic_enabled={"type": "boolean"}),
       body_description="THRequest: the URL to fetch and the endpoints the probe used.",
       result=OBJECT,
       errors={**BODY_ERRORS, 503: "Too many requests in flight: retry after Retry-After."}),
    Op("/openapi.json", "get", "This document.", result=OBJECT),
    *HEARTBEATS,
    *INCIDENTS,
)  # fmt: skip


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "netvigil observatory",
            "version": __version__,
            "description": "OONI-compatible collector, probe services and data API; "
            "incidents shared at graded levels. Errors are a JSON object with an `error` "
            "message.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                **incident_schemas(),
                "Country": one_of(countries()),
                "TestListCountry": one_of(test_list_countries()),
                "CategoryCode": one_of(sorted(testlists.category_codes())),
                "CategoryCodes": category_list(),
            },
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "nvk_... key"}
            },
        },
    }


def rendered() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


async def endpoint(request: Request) -> Response:
    """`/openapi.json`."""
    return Response(rendered(), media_type="application/json")
