"""Evidence the instance can re-check: its own measurements and aggregate queries.

A measurement uid is hashed over the raw measurement as stored (archive or imported file);
an aggregate query (`/api/v1/aggregation?...`, the same string a reader can run) is run now
and hashed over the RFC 8785 form of its result, so a later run can show whether the data
behind a claim changed. A uid or query that finds nothing is an error, not a hash.

The incident page names networks from the same data: as the GeoIP database named them when
the addresses were analysed, else as the probes in them reported (`probe_network_name`).

The data is the observatory's, read through `Observatory`, the interface the incidents need;
server.py (or the CLI) hands an implementation over, so the incidents never import the
observatory (it is a sibling app).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import rfc8785

QUERY_PATH = "/api/v1/aggregation"


class Observatory(Protocol):
    """What the incidents read of the observatory's data."""

    def raw_measurement(self, uid: str) -> bytes | None:
        """The measurement's JSON as received or imported; None when it cannot be found."""

    def aggregate(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """The cells `/api/v1/aggregation` answers for these parameters; LookupError (its
        message one line) for parameters the observatory refuses."""

    def networks(self, asns: Sequence[int]) -> dict[int, str]:
        """AS number → the network's name, for those the data names."""

    def seen(self, uids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        """measurement uid → (country, AS number, network name), for those it holds."""

    def vendors(self, uids: Sequence[str]) -> dict[str, str]:
        """measurement uid → the product its verdict names (its `vendor`), for those that do."""


class ObservatoryEvidence:
    def __init__(self, observatory: Observatory) -> None:
        self.observatory = observatory

    def sha256(self, kind: str, ref: str) -> str | None:
        if kind == "measurement":
            return self._measurement(ref)
        if kind == "aggregate_query":
            return self._query(ref)
        raise LookupError(f"{kind} references are not read by this instance")

    def _measurement(self, uid: str) -> str | None:
        data = self.observatory.raw_measurement(uid)
        return hashlib.sha256(data).hexdigest() if data is not None else None

    def _query(self, ref: str) -> str | None:
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or parts.path != QUERY_PATH:
            raise LookupError(f"an aggregate query is a {QUERY_PATH}?... path on this instance")
        rows = self.observatory.aggregate(dict(parse_qsl(parts.query)))
        if not rows or not any(row.get("measurement_count") for row in rows):
            return None
        return hashlib.sha256(rfc8785.dumps(rows)).hexdigest()

    def networks(self, asns: Sequence[int]) -> dict[int, str]:
        """AS number → name: the GeoIP database's (analysed addresses), else the probes'."""
        return self.observatory.networks(asns)

    def seen(self, uids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        """measurement uid → (country, AS number, network name as the probe reported it)."""
        return self.observatory.seen(uids)

    def vendors(self, uids: Sequence[str]) -> dict[str, str]:
        """measurement uid → the product its verdict names, for those that name one."""
        return self.observatory.vendors(uids)
