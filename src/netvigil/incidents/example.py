"""The example incident `netvigil incidents create --example` prints: a file to start from.

It is valid as printed (`incidents create --from` takes it, a test checks), kept at `draft`
so that trying it shares nothing. Every field is described in the JSON Schema
(`docs/incident.schema.json`, `/api/v1/incidents/schema`); the ones a new user needs:

- `title`, `summary`, `body_md`: a string (English) or a map of language tags to text.
- `kind`: website_blocking, app_blocking, circumvention_blocking, full_shutdown,
  regional_shutdown, mobile_shutdown, outage (cause not established), throttling,
  routing_withdrawal or dns_manipulation_policy.
- `countries`: ISO 3166-1 alpha-2 codes; `subdivisions`: ISO 3166-2 codes in them.
- `start`/`end`: a time with its zone, its precision (minute, hour, day) and whether it
  was observed or estimated.
- `techniques`: dns_injection, tls_sni_filtering, http_blockpage, ... (the schema lists all).
- `targets`: domains, URLs, apps, protocols or addresses, with a Citizen Lab category code.
- `networks`: AS numbers, with a name and a type (mobile, fixed, mixed, unknown).
- `evidence`: a `measurement` (its measurement_uid, which must be in this observatory), an
  `aggregate_query` (`/api/v1/aggregation?...`), a `document`, `media`, `testimony`, ...
- `visibility`: draft (your organisation), named (with `recipients`), group (with
  `sharing_group`), coalition, federated, or public (after a second person approves).
"""

from __future__ import annotations

from typing import Any

EXAMPLE: dict[str, Any] = {
    "title": {"en": "News sites blocked on mobile networks", "fa": "مسدود شدن سایت‌های خبری"},
    "kind": "website_blocking",
    "countries": ["IR"],
    "subdivisions": ["IR-23"],
    "start": {"time": "2026-02-28T18:00:00+03:30", "precision": "hour", "bound": "observed"},
    "summary": "DNS answers for news sites point to a blockpage on two mobile networks.",
    "body_md": "Seen by probes on MCCI and Irancell since the evening of 28 February.",
    "techniques": ["dns_injection", "http_blockpage"],
    "targets": [
        {"type": "domain", "value": "www.bbc.com", "category_code": "NEWS"},
        {"type": "url", "value": "https://www.iranintl.com/", "category_code": "NEWS"},
    ],
    "networks": [
        {"asn": 197207, "name": "MCCI", "type": "mobile"},
        {"asn": 44244, "name": "Irancell", "type": "mobile"},
    ],
    "scope": "network",
    "status": "suspected",
    "confidence": 60,
    "verification": {"state": "unverified", "n_vantage_points": 4, "n_asns": 2},
    "context": {
        "trigger_event": "protest",
        "sources": [{"url": "https://news.example/report", "kind": "news"}],
    },
    "evidence": [
        {
            "type": "document",
            "ref": "https://docs.example/analysis.pdf",
            "note": "Our analysis of the measurements",
        }
    ],
    "tags": ["news"],
    "visibility": "draft",
}
