"""Evidence the instance can re-check: its own measurements and aggregate queries.

A measurement uid is hashed over the raw measurement as stored (archive or imported file);
an aggregate query (`/api/v1/aggregation?...`, the same string a reader can run) is run now
and hashed over the RFC 8785 form of its result, so a later run can show whether the data
behind a claim changed. A uid or query that finds nothing is an error, not a hash.

The incident page names networks from the same data: as the GeoIP database named them when
the addresses were analysed, else as the probes in them reported (`probe_network_name`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import rfc8785

from netvigil.observatory.api import aggregate, query_rows
from netvigil.observatory.query import BadQuery
from netvigil.observatory.sources import Archived, raw_measurement

QUERY_PATH = "/api/v1/aggregation"


class ObservatoryEvidence:
    def __init__(self, tables: Path, archived: Archived) -> None:
        self.tables, self.archived = tables, archived

    def sha256(self, kind: str, ref: str) -> str | None:
        if kind == "measurement":
            return self._measurement(ref)
        if kind == "aggregate_query":
            return self._query(ref)
        raise LookupError(f"{kind} references are not read by this instance")

    def _measurement(self, uid: str) -> str | None:
        rows = query_rows(
            self.tables, "SELECT source, source_line FROM analysis WHERE measurement_uid = ?", [uid]
        )
        record = rows[0] if rows else {}
        data = raw_measurement(self.archived, uid, record.get("source"), record.get("source_line"))
        return hashlib.sha256(data).hexdigest() if data is not None else None

    def _query(self, ref: str) -> str | None:
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or parts.path != QUERY_PATH:
            raise LookupError(f"an aggregate query is a {QUERY_PATH}?... path on this instance")
        try:
            rows, _ = aggregate(self.tables, dict(parse_qsl(parts.query)))
        except BadQuery as exc:
            raise LookupError(str(exc)) from None
        if not rows or not any(row.get("measurement_count") for row in rows):
            return None
        return hashlib.sha256(rfc8785.dumps(rows)).hexdigest()

    def networks(self, asns: Sequence[int]) -> dict[int, str]:
        """AS number → name: the GeoIP database's (analysed addresses), else the probes'."""
        if not asns:
            return {}
        marks = ", ".join("?" for _ in asns)
        probes = query_rows(
            self.tables,
            "SELECT probe_asn AS asn, mode(probe_network_name) AS name FROM analysis "
            f"WHERE probe_asn IN ({marks}) AND probe_network_name <> '' GROUP BY probe_asn",
            list(asns),
        )
        geoip = query_rows(
            self.tables,
            "SELECT a.asn AS asn, mode(a.as_name) AS name FROM "
            "(SELECT unnest(addresses) AS a FROM analysis) "
            f"WHERE a.asn IN ({marks}) AND a.as_name <> '' GROUP BY a.asn",
            list(asns),
        )
        return {int(r["asn"]): str(r["name"]) for r in [*probes, *geoip]}  # GeoIP's win

    def seen(self, uids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        """measurement uid → (country, AS number, network name as the probe reported it)."""
        if not uids:
            return {}
        rows = query_rows(
            self.tables,
            "SELECT measurement_uid, probe_cc, probe_asn, probe_network_name FROM analysis "
            f"WHERE measurement_uid IN ({', '.join('?' for _ in uids)})",
            list(uids),
        )
        return {
            str(r["measurement_uid"]): (
                str(r["probe_cc"]),
                int(r["probe_asn"]),
                str(r["probe_network_name"] or ""),
            )
            for r in rows
        }
