"""The incident record, v1 (ecosystem.md §3.2): a claim of a violation, with evidence.

Two shapes. `IncidentInput` is what a member writes (unknown fields are an error, a plain
string where a `{lang: text}` map is expected is read as English). `Incident` is one stored
revision: the input, normalised, plus what the instance adds (identity, revision, times,
author organisation, derived TLP and estimative label, the signature). Every edit is a new
revision; the canonical JSON of a revision without its `signature` is what is signed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Text = str | dict[str, str]  # input: a string (English) or a {lang: text} map
I18n = dict[str, str]

Kind = Literal[
    "website_blocking",
    "app_blocking",
    "circumvention_blocking",
    "full_shutdown",
    "regional_shutdown",
    "mobile_shutdown",
    "outage",  # connectivity lost, cause not established (detect/: never a guessed order)
    "throttling",
    "routing_withdrawal",
    "dns_manipulation_policy",
]
Technique = Literal[
    "dns_nxdomain",
    "dns_injection",
    "dns_bogon",
    "dns_blockpage_ip",
    "tcp_reset",
    "tcp_timeout",
    "tls_sni_filtering",
    "tls_reset",
    "tls_mitm_certificate",
    "http_blockpage",
    "http_diff",
    "http_reset",
    "quic_block",
    "bgp_withdrawal",
    "bandwidth_throttling",
    "unknown",
]
Status = Literal["suspected", "confirmed", "ongoing", "resolved", "retracted"]
STATUS_ORDER = ("suspected", "confirmed", "ongoing", "resolved")
EvidenceType = Literal[
    "measurement",
    "aggregate_query",
    "changepoint",
    "third_party_signal",
    "document",
    "media",
    "testimony",
]
Short = Annotated[str, msgspec.Meta(max_length=500)]
Url = Annotated[str, msgspec.Meta(max_length=4096)]


class Part(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of the record's parts: immutable, and strict about unknown fields."""


class TimePoint(Part, frozen=True):
    time: dt.datetime
    precision: Literal["minute", "hour", "day"] = "minute"
    bound: Literal["observed", "estimated"] = "observed"


class Target(Part, frozen=True):
    type: Literal["domain", "url", "app", "protocol", "ip"]
    value: Url
    category_code: str | None = None  # Citizen Lab category code


class Network(Part, frozen=True):
    asn: Annotated[int, msgspec.Meta(ge=0, lt=2**32)]
    name: Short = ""
    type: Literal["mobile", "fixed", "mixed", "unknown"] = "unknown"


class EvidenceInput(Part, frozen=True):
    type: EvidenceType
    ref: Url  # a measurement uid, a data API query, a dataset hash, a document's URL
    visibility: str | None = None  # None: the incident's own level
    sha256: str | None = None  # computed by the instance where it can read the reference
    captured_at: dt.datetime | None = None
    archive_url: Url | None = None
    note: Text = ""
    identifies_volunteer: bool = False


class Evidence(Part, frozen=True):
    type: EvidenceType
    ref: str
    visibility: str
    sha256: str
    captured_at: dt.datetime | None = None
    archive_url: str | None = None
    note: I18n = msgspec.field(default_factory=dict)
    identifies_volunteer: bool = False
    # The product a measurement's verdict names (its blockpage's fingerprint; the analysis
    # table's `vendor`), set by the instance from its data; None for anything else.
    vendor: str | None = None


class Verification(Part, frozen=True):
    state: Literal["unverified", "machine_corroborated", "analyst_verified", "peer_verified"] = (
        "unverified"
    )
    method: Short = ""
    verified_by: list[Short] = msgspec.field(default_factory=list)
    n_vantage_points: Annotated[int, msgspec.Meta(ge=0)] = 0
    n_asns: Annotated[int, msgspec.Meta(ge=0)] = 0
    false_positive_checks: list[Short] = msgspec.field(default_factory=list)


class Sighting(Part, frozen=True):
    org: str
    kind: Literal["seen", "false_positive", "still_ongoing", "ended"]
    at: dt.datetime
    note: Short = ""


class Source(Part, frozen=True):
    url: Url
    kind: Literal["news", "order", "statement", "measurement", "report", "other"] = "other"
    archived_url: Url | None = None


class Context(Part, frozen=True):
    trigger_event: Literal[
        "election",
        "protest",
        "exam",
        "conflict",
        "coup",
        "religious_holiday",
        "other",
        "unknown",
    ] = "unknown"
    ordered_by: Short = ""
    official_justification: Short = ""
    acknowledged_by_gov: bool | None = None
    acknowledged_by_isp: list[Annotated[int, msgspec.Meta(ge=0, lt=2**32)]] = msgspec.field(
        default_factory=list
    )
    legal_basis: Short = ""
    sources: list[Source] = msgspec.field(default_factory=list)


class Related(Part, frozen=True):
    id: str
    rel: Literal["duplicate_of", "part_of", "follows", "same_event_as"]


class IncidentInput(Part, frozen=True):
    """What a member submits to create or revise an incident."""

    title: Text
    kind: Kind
    countries: list[str]
    start: TimePoint
    summary: Text = ""
    body_md: Text = ""
    techniques: list[Technique] = msgspec.field(default_factory=list)
    targets: list[Target] = msgspec.field(default_factory=list)
    themes: list[Short] = msgspec.field(default_factory=list)
    tags: list[Short] = msgspec.field(default_factory=list)
    subdivisions: list[str] = msgspec.field(default_factory=list)
    area_names: list[Short] = msgspec.field(default_factory=list)
    networks: list[Network] = msgspec.field(default_factory=list)
    scope: Literal["national", "subnational", "network", "unknown"] = "unknown"
    end: TimePoint | None = None
    status: Status = "suspected"
    confidence: Annotated[int, msgspec.Meta(ge=0, le=100)] = 50
    verification: Verification = msgspec.field(default_factory=Verification)
    context: Context = msgspec.field(default_factory=Context)
    evidence: list[EvidenceInput] = msgspec.field(default_factory=list)
    visibility: str = "draft"
    recipients: list[str] = msgspec.field(default_factory=list)  # org ids, for `named`
    sharing_group: str | None = None  # a group id, for `group`
    embargo_until: dt.datetime | None = None
    release_policy: Literal["manual", "auto_on_date"] = "manual"
    related: list[Related] = msgspec.field(default_factory=list)


class Signature(msgspec.Struct, frozen=True, kw_only=True):
    alg: str  # "Ed25519"
    kid: str  # the instance key's id (GET /.well-known/netvigil/keys)
    value: str  # base64url, no padding


class Incident(msgspec.Struct, frozen=True, kw_only=True):
    """One revision of an incident, as stored, signed and exported."""

    id: str
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime
    supersedes: int | None
    origin_instance: str
    author_org: str
    title: I18n
    summary: I18n
    body_md: I18n
    kind: str
    techniques: list[str]
    targets: list[Target]
    themes: list[str]
    tags: list[str]
    countries: list[str]
    subdivisions: list[str]
    area_names: list[str]
    networks: list[Network]
    scope: str
    start: TimePoint
    end: TimePoint | None
    status: str
    retraction_reason: str | None
    confidence: int
    estimative: str
    verification: Verification
    sightings: list[Sighting]
    context: Context
    evidence: list[Evidence]
    visibility: str
    tlp: str | None
    publication: Literal["none", "requested", "approved"]
    recipients: list[str]
    sharing_group: str | None
    embargo_until: dt.datetime | None
    release_policy: str
    related: list[Related]
    signature: Signature | None = None
