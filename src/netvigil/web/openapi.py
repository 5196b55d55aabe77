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
from typing import Any, get_args

from starlette.requests import Request
from starlette.responses import Response

from netvigil import __version__, testlists
from netvigil.incidents.model import Kind, Status, Technique
from netvigil.observatory import query
from netvigil.patterns import PROBE_ASN, START_TIME
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
INCIDENT_FILTERS = (
    Param("country", "ISO 3166-1 alpha-2.", ref("Country")),
    Param("kind", "Kind of incident.", one_of(get_args(Kind))),
    Param("status", "Status.", one_of(get_args(Status))),
    Param("technique", "Technique.", one_of(get_args(Technique))),
    Param("asn", "AS1234 or 1234.", string(pattern=query.ASN)),
    Param("q", "Words in the title.", string(maxLength=200)),
    Param("since", "Updated at or after (ISO 8601).", TIME),
)
INCIDENT_ERRORS = {
    400: "Bad input: the error names the field.",
    401: "An API key was given and is not valid (no key is the public).",
}
READ = {**INCIDENT_ERRORS, 404: "No such incident, or not one the caller may read."}
WRITE = {
    **READ,
    403: "The caller's key or role does not allow this.",
    413: "The body is over 1 MiB.",
}
INCIDENT_RULES = (
    "Bad input, the error names the field: not JSON of the IncidentInput shape, or a rule "
    "the schema cannot state: at least one country; country and subdivision codes that "
    "exist (a subdivision of a listed country); a non-empty title; the end after the start; "
    "evidence, organisations and groups that exist here; lengths and list sizes."
)
LIST = {"type": "object", "required": ["metadata", "results"]}
ATOM = ("application/atom+xml",)
EXPORT_MEDIA = (
    "application/json",
    "text/csv",
    "application/atom+xml",
    "application/stix+json;version=2.1",
)


INCIDENTS: tuple[Op, ...] = (
    Op("/api/v1/incidents", "get", "Incidents the caller may read.",
       (*INCIDENT_FILTERS, Param("limit", "Incidents.", whole(1, 1000, 100)),
        Param("offset", "Incidents to skip.", whole(0, 10**9, 0))),
       result=LIST, errors=INCIDENT_ERRORS, access="incidents"),
    Op("/api/v1/incidents", "post", "Create an incident (a public one waits for review).",
       body=ref("IncidentInput"), body_description="An incident (IncidentInput).", ok=201,
       result=ref("Incident"), errors={**WRITE, 400: INCIDENT_RULES}, access="incidents"),
    Op("/api/v1/incidents/schema", "get", "JSON Schema of an incident revision.",
       result=OBJECT, errors=INCIDENT_ERRORS, access="incidents"),
    Op("/api/v1/incidents/export", "get", "Export what the caller may read.",
       (Param("format", "Export format (default json).",
              one_of(("json", "csv", "atom", "stix", "misp"))), *INCIDENT_FILTERS),
       content=EXPORT_MEDIA, errors=INCIDENT_ERRORS, access="incidents"),
    Op("/api/v1/incidents/feed", "get", "Atom feed of public incidents.", INCIDENT_FILTERS,
       content=ATOM, errors=INCIDENT_ERRORS, access="incidents"),
    Op("/api/v1/incidents/{id}", "get", "One incident, as the caller may read it.",
       (Param("revision", "An earlier revision.", whole(1, 10**9)),),
       result=ref("Incident"), errors=READ, access="incidents"),
    Op("/api/v1/incidents/{id}", "put", "Revise an incident (a new signed revision).",
       body=ref("IncidentInput"), body_description="The incident's new content.",
       result=ref("Incident"), errors={**WRITE, 400: INCIDENT_RULES}, access="incidents"),
    Op("/api/v1/incidents/{id}/revisions", "get", "Every revision the caller may read.",
       result={"type": "array"}, errors=READ, access="incidents"),
    Op("/api/v1/incidents/{id}/publish", "post", "Ask for publication to public.",
       body=OBJECT, body_description="Nothing is read from the body.", body_required=False,
       result=ref("Incident"), errors=WRITE, access="incidents"),
    Op("/api/v1/incidents/{id}/review", "post", "Approve or reject publication (a second "
       "person).", body=obj(approve={"type": "boolean"}), body_required=False,
       body_description="approve: true to publish, false to reject.",
       result=ref("Incident"), errors=WRITE, access="incidents"),
    Op("/api/v1/incidents/{id}/retract", "post", "Retract, with a reason.",
       body=obj(("reason",), reason=string(minLength=1, maxLength=1000, pattern=r"\S")),
       body_description="Why (at most 1000 characters).",
       result=ref("Incident"), errors=WRITE, access="incidents"),
    Op("/api/v1/incidents/{id}/sightings", "post", "Add a sighting as another organisation.",
       body=obj(("kind",), kind=one_of(("seen", "false_positive", "still_ongoing", "ended")),
                    note=string(maxLength=2000)),
       body_description="What the organisation saw.",
       result=ref("Incident"), errors=WRITE, access="incidents"),
    Op("/api/v1/feeds", "post", "Save a filter as a private Atom feed (a token URL).",
       body=obj(("name",), name=string(minLength=1, maxLength=200), filter=OBJECT),
       body_description="A name, and a filter with the list's parameters.", ok=201,
       result=OBJECT, errors=WRITE, access="incidents"),
    Op("/api/v1/feeds/{token}", "get", "A saved filter's Atom feed.", content=ATOM,
       errors={404: "No feed with this token."}, access="incidents"),
    Op("/api/v1/webhooks", "post", "Subscribe a URL to signed incident events.",
       body=obj(("url",), url=string(maxLength=2000, pattern="^https?://")),
       body_description="The URL to deliver to (public addresses only).", ok=201,
       result=OBJECT, errors=WRITE, access="incidents"),
    Op("/api/v1/keys", "post", "A new API key for the caller.",
       body=obj(("scopes",), scopes={"type": "array", "minItems": 1, "items": one_of(
                        ("read", "write", "publish", "admin"))}, days=whole(1, 366, 90)),
       body_description="Scopes (at most the caller's) and days of validity.", ok=201,
       result=OBJECT, errors=WRITE, access="incidents"),
    Op("/api/v1/keys/{id}/revoke", "post", "Revoke an API key (yours, or as an admin).",
       body=OBJECT, body_description="Nothing is read from the body.", body_required=False,
       result=OBJECT, errors={**INCIDENT_ERRORS, 403: "The caller's key or role does not allow "
       "this.", 404: "No such key, or not one the caller may revoke."}, access="incidents"),
    Op("/api/v1/audit", "get", "The audit log entries the caller may read.",
       result=OBJECT, errors=INCIDENT_ERRORS, access="incidents"),
    Op("/.well-known/netvigil/keys", "get", "The instance's Ed25519 public keys.",
       result=OBJECT, errors=INCIDENT_ERRORS, access="incidents"),
)  # fmt: skip

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
