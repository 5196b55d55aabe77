"""The incident operations of the OpenAPI document (web/openapi.py assembles the whole).

Their parameters take their enums from the incident model (`Kind`, `Status`, `Technique`), so
a value the server accepts is one the document names; the errors are the incident layer's
(incidents/errors.py: 400 names the field, 401 a key that is not valid, 403 a role or quota,
404 what the caller may not read, 413 a body over 1 MiB).
"""

from __future__ import annotations

from typing import get_args

from netvigil.incidents.model import Kind, Status, Technique
from netvigil.observatory import query
from netvigil.web.openapi_parts import (
    OBJECT,
    TIME,
    Op,
    Param,
    obj,
    one_of,
    ref,
    string,
    whole,
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
    # A reason is something besides what str.strip() removes (\s and \x1c-\x1f, \x85).
    Op("/api/v1/incidents/{id}/retract", "post", "Retract, with a reason.",
       body=obj(("reason",), reason=string(minLength=1, maxLength=1000,
                                           pattern=r"[^\s\x1c-\x1f\x85]")),
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
