"""The data API, compatible with OONI's (ooni.md §5.3), plus our layered analysis.

- `/api/v1/measurements`: filters, paging, OONI's row shape (`anomaly`, `confirmed`,
  `failure`, `measurement_url`), AS names beside AS numbers;
- `/api/v1/measurement/{uid}` and `/api/v1/raw_measurement?measurement_uid=`;
- `format=CSV` on `/measurements`, `/aggregation` and `/analysis`: the same rows as a table
  (nested values flattened: `scores.outcome`, and lists of addresses as JSON text);
- `/api/v1/aggregation`: `axis_x`, `axis_y`, `time_grain`, cells with
  `measurement_count`, `anomaly_count`, `confirmed_count`, `failure_count`, `ok_count`; no
  `since`/`until` means all time;
- `/api/v1/analysis`: our verdicts with outcome, layer, technique, rule and confidence, and
  the addresses the probe resolved or reached, each with its network and country.

Queries run in a worker thread on a fresh DuckDB connection over the Parquet tables.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.observatory.archive import Archive
from netvigil.observatory.columns import Row
from netvigil.observatory.data import aggregate, iso, query_rows, raw_of
from netvigil.observatory.errors import BadRequest, NotFound
from netvigil.observatory.query import conditions, integer, once, order, output_format
from netvigil.observatory.sources import from_archive, raw_measurement

# The API shows every column of a row (rows.Row, in its order) but these: the partition and
# filter columns derived from others (`date`, `domain`), OONI's classic `blocking` string and
# the collector's flags (kept in the table, not yet in OONI's row shape), and when and from
# which file the row was made (the server's business; raw_measurement reads it back).
HIDDEN = frozenset(
    {"domain", "date", "blocking_type", "flags", "analysed_at", "source", "source_line"}
)
SCORES = ("outcome", "layer", "technique", "rule", "confidence", "error", "vendor")  # `scores`
ANALYSIS_ONLY = frozenset({"rules_version", "addresses"})  # in /analysis rows, not OONI's


def api_fields(row: type[Row]) -> tuple[str, ...]:
    """The columns the API shows, in the row's order."""
    return tuple(f.name for f in msgspec.structs.fields(row) if f.name not in HIDDEN)


FIELDS = api_fields(Row)
_TIMES = frozenset(f.name for f in msgspec.structs.fields(Row) if f.type is dt.datetime)
_COLUMNS = ", ".join(
    f"strftime({name}, '%Y-%m-%dT%H:%M:%SZ') AS {name}" if name in _TIMES else name
    for name in FIELDS
)


def _shown(name: str, value: Any) -> Any:
    """A column's value as the API shows it: AS numbers as AS1234, times in ISO 8601."""
    if name == "probe_asn":
        return f"AS{value}"
    if name == "addresses":
        return _addresses(value)
    return iso(value) if name in _TIMES else value


def _row(record: dict[str, Any], base: str) -> dict[str, Any]:
    """OONI's row shape: our verdict in `scores`, and the measurement's own URL."""
    row: dict[str, Any] = {}
    for name in FIELDS:
        if name in SCORES:
            row.setdefault("scores", {})[name] = record[name]
        elif name not in ANALYSIS_ONLY:
            row[name] = _shown(name, record[name])
    row["measurement_url"] = f"{base}/api/v1/measurement/{record['measurement_uid']}"
    return row


def _addresses(addresses: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Resolved and connected addresses with their network (AS number and name) and country."""
    return [
        {"ip": a["ip"], "asn": f"AS{a['asn']}", "as_name": a["as_name"], "cc": a["cc"]}
        for a in addresses or ()
    ]


def routes(tables: Path, archive: Archive) -> list[Route]:
    archived = from_archive(archive)

    def select(sql: str, args: list[object]) -> list[dict[str, Any]]:
        return query_rows(tables, sql, args)

    async def run(handler: Callable[[], Response], request: Request) -> Response:
        once(request.query_params.multi_items())
        return await asyncio.to_thread(handler)  # a BadQuery is answered by errors.respond

    async def measurements(request: Request) -> Response:
        params, base = request.query_params, str(request.base_url).rstrip("/")

        def handler() -> Response:
            where, args = conditions(params)
            limit = integer(params, "limit", 100, 1, 10_000)
            offset = integer(params, "offset", 0, 0, 10**9)
            kind = output_format(params)
            sort = order(params).replace(
                "measurement_start_time", "analysis.measurement_start_time"
            )
            total = select(f"SELECT count(*) AS n FROM analysis WHERE {where}", args)[0]["n"]
            rows = select(
                f"SELECT {_COLUMNS} FROM analysis WHERE {where} ORDER BY {sort} "
                f"LIMIT {limit} OFFSET {offset}",
                args,
            )
            metadata = {
                "count": total,
                "limit": limit,
                "offset": offset,
                "current_page": offset // limit + 1,
            }
            results = [_row(r, base) for r in rows]
            if kind == "CSV":
                return _csv([_flat(r) for r in results])
            return JSONResponse({"metadata": metadata, "results": results})

        return await run(handler, request)

    async def measurement(request: Request) -> Response:
        uid, base = request.path_params["uid"], str(request.base_url).rstrip("/")

        def handler() -> Response:
            rows = select(
                f"SELECT {_COLUMNS}, source, source_line FROM analysis WHERE measurement_uid = ?",
                [uid],
            )
            record = rows[0] if rows else {}
            data = raw_measurement(archived, uid, record.get("source"), record.get("source_line"))
            if not rows and data is None:
                raise NotFound(f"no measurement {uid!r}")
            body = _row(record, base) if rows else {"measurement_uid": uid}
            body["addresses"] = _addresses(record.get("addresses"))
            body["raw_measurement"] = json.loads(data) if data is not None else None
            return JSONResponse(body)

        return await run(handler, request)

    async def raw(request: Request) -> Response:
        uid = request.query_params.get("measurement_uid")
        if not uid:
            raise BadRequest("measurement_uid is required")

        def handler() -> Response:
            data = raw_of(tables, archived, uid)
            if data is None:
                raise NotFound(f"no raw measurement {uid!r}")
            return Response(data, media_type="application/json")

        return await run(handler, request)

    async def aggregation(request: Request) -> Response:
        params = request.query_params

        def handler() -> Response:
            kind = output_format(params)
            rows, labels = aggregate(tables, params)
            if kind == "CSV":
                return _csv(rows)
            result: Any = rows if labels else (rows[0] if rows else {})
            return JSONResponse({"dimension_count": len(labels), "result": result, "v": 0})

        return await run(handler, request)

    async def analysis(request: Request) -> Response:
        params = request.query_params

        def handler() -> Response:
            where, args = conditions(params)
            limit = integer(params, "limit", 100, 1, 10_000)
            offset = integer(params, "offset", 0, 0, 10**9)
            kind = output_format(params)
            rows = select(
                f"SELECT {_COLUMNS} FROM analysis WHERE {where} ORDER BY "
                f"{order(params)} LIMIT {limit} OFFSET {offset}",
                args,
            )
            shown = [{k: _shown(k, v) for k, v in r.items()} for r in rows]
            if kind == "CSV":
                return _csv([_flat(r) for r in shown])
            return JSONResponse({"results": shown})

        return await run(handler, request)

    return [
        Route("/api/v1/measurements", measurements, methods=["GET"]),
        Route("/api/v1/measurement/{uid}", measurement, methods=["GET"]),
        Route("/api/v1/raw_measurement", raw, methods=["GET"]),
        Route("/api/v1/aggregation", aggregation, methods=["GET"]),
        Route("/api/v1/analysis", analysis, methods=["GET"]),
    ]


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: nested objects as `outer.inner` columns, lists as JSON text."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        elif isinstance(value, list):
            flat[key] = json.dumps(value)
        else:
            flat[key] = value
    return flat


def _csv(rows: list[dict[str, Any]]) -> Response:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(buffer.getvalue(), media_type="text/csv")
