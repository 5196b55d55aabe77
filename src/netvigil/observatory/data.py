"""The observatory's data as the rest of the server reads it: queries over the analysis table,
the aggregation, and the raw measurement behind a row.

The data API's routes (api.py) and the home page run their queries here, and `ObservatoryData`
is the interface server.py hands to the incidents (an incident's evidence is re-checked and
its places named from this data), so no other app imports the observatory's routes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from netvigil.observatory import categories
from netvigil.observatory.query import BadQuery, axis, conditions, time_grain
from netvigil.observatory.sources import Archived, raw_measurement
from netvigil.observatory.tables import reading


def iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else str(value)


def query_rows(tables: Path, sql: str, args: list[object]) -> list[dict[str, Any]]:
    with reading(tables) as db:  # no compaction swaps the files away mid-query
        cursor = db.execute(sql, args)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def aggregate(tables: Path, params: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The aggregation's cells and axis labels (the endpoint's work, reusable: an incident's
    evidence can be an aggregate query, re-run to hash its result). Raises BadQuery."""
    time_grain(params)
    x, y = axis(params, "axis_x"), axis(params, "axis_y")
    # The category is the test lists' knowledge, not the table's: joined only when asked for.
    categorised = "category_code" in params or categories.COLUMN in (x, y)
    where, args = conditions(params, categorised=categorised)
    keys = [(name, column) for name, column in (("axis_x", x), ("axis_y", y)) if column]
    labels = [params[name] for name, _ in keys]
    group = ", ".join(
        f"{column} AS {label}" for (_, column), label in zip(keys, labels, strict=True)
    )
    # A network's name as its probes reported it; some report none (""), and any_value would
    # answer one or the other from run to run: the largest non-empty name is always the same.
    names = (
        ", coalesce(max(nullif(probe_network_name, '')), '') AS probe_network_name"
        if "probe_asn" in labels
        else ""
    )
    joined = ""
    if categorised:
        joined = f" LEFT JOIN {categories.source(tables)} AS categories USING (domain)"
    sql = (
        f"SELECT {group + ',' if group else ''} count(*) AS measurement_count, "
        "count(*) FILTER (WHERE anomaly) AS anomaly_count, "
        "count(*) FILTER (WHERE confirmed) AS confirmed_count, "
        "count(*) FILTER (WHERE failure) AS failure_count, "
        "count(*) FILTER (WHERE outcome = 'ok') AS ok_count, "
        "count(*) FILTER (WHERE outcome = 'down') AS down_count, "
        "count(*) FILTER (WHERE outcome = 'unanalysed') AS unanalysed_count, "
        "count(*) FILTER (WHERE outcome = 'error') AS error_count"
        f"{names} FROM analysis{joined} WHERE {where}"
        + (f" GROUP BY ALL ORDER BY {', '.join(labels)}" if labels else "")
    )
    rows = [
        {k: (iso(v) if k == "measurement_start_day" else v) for k, v in r.items()}
        for r in query_rows(tables, sql, args)
    ]
    for r in rows:
        if "probe_asn" in r and isinstance(r["probe_asn"], int):
            r["probe_asn"] = f"AS{r['probe_asn']}"
    return rows, labels


def raw_of(tables: Path, archived: Archived, uid: str) -> bytes | None:
    """The raw measurement of a uid: archived, or read back from the file it was imported
    from (the row says which file and line)."""
    rows = query_rows(
        tables, "SELECT source, source_line FROM analysis WHERE measurement_uid = ?", [uid]
    )
    record = rows[0] if rows else {}
    return raw_measurement(archived, uid, record.get("source"), record.get("source_line"))


class ObservatoryData:
    """The observatory's data for the incidents (their `Observatory` interface)."""

    def __init__(self, tables: Path, archived: Archived) -> None:
        self.tables, self.archived = tables, archived

    def raw_measurement(self, uid: str) -> bytes | None:
        return raw_of(self.tables, self.archived, uid)

    def aggregate(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """The cells `/api/v1/aggregation` answers; LookupError for a query it refuses."""
        try:
            rows, _ = aggregate(self.tables, params)
        except BadQuery as exc:
            raise LookupError(str(exc)) from None
        return rows

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

    def vendors(self, uids: Sequence[str]) -> dict[str, str]:
        """measurement uid → the product its verdict names (the `vendor` column), if any."""
        if not uids:
            return {}
        rows = query_rows(
            self.tables,
            "SELECT measurement_uid, any_value(vendor) AS vendor FROM analysis WHERE vendor "
            f"IS NOT NULL AND measurement_uid IN ({', '.join('?' for _ in uids)}) GROUP BY 1",
            list(uids),
        )
        return {str(r["measurement_uid"]): str(r["vendor"]) for r in rows}

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
