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
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.observatory.archive import Archive
from netvigil.observatory.collector import error
from netvigil.observatory.query import (
    BadQuery,
    axis,
    conditions,
    integer,
    once,
    order,
    output_format,
    time_grain,
)
from netvigil.observatory.sources import from_archive, raw_measurement
from netvigil.observatory.tables import reading

_COLUMNS = (
    "measurement_uid, report_id, input, probe_cc, probe_asn, probe_network_name, test_name, "
    "strftime(measurement_start_time, '%Y-%m-%dT%H:%M:%SZ') AS measurement_start_time, "
    "anomaly, confirmed, failure, outcome, layer, technique, rule, "
    "confidence, rules_version, addresses, error"
)


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else str(value)


def _row(record: dict[str, Any], base: str) -> dict[str, Any]:
    uid = record["measurement_uid"]
    return {
        "measurement_uid": uid,
        "report_id": record["report_id"],
        "input": record["input"],
        "probe_cc": record["probe_cc"],
        "probe_asn": f"AS{record['probe_asn']}",
        "probe_network_name": record["probe_network_name"],
        "test_name": record["test_name"],
        "measurement_start_time": _iso(record["measurement_start_time"]),
        "anomaly": record["anomaly"],
        "confirmed": record["confirmed"],
        "failure": record["failure"],
        "scores": {
            k: record[k] for k in ("outcome", "layer", "technique", "rule", "confidence", "error")
        },
        "measurement_url": f"{base}/api/v1/measurement/{uid}",
    }


def _addresses(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Resolved and connected addresses with their network (AS number and name) and country."""
    return [
        {"ip": a["ip"], "asn": f"AS{a['asn']}", "as_name": a["as_name"], "cc": a["cc"]}
        for a in record.get("addresses") or ()
    ]


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
    where, args = conditions(params)
    keys = [(name, column) for name, column in (("axis_x", x), ("axis_y", y)) if column]
    labels = [params[name] for name, _ in keys]
    group = ", ".join(
        f"{column} AS {label}" for (_, column), label in zip(keys, labels, strict=True)
    )
    names = ", any_value(probe_network_name) AS probe_network_name" if "probe_asn" in labels else ""
    sql = (
        f"SELECT {group + ',' if group else ''} count(*) AS measurement_count, "
        "count(*) FILTER (WHERE anomaly) AS anomaly_count, "
        "count(*) FILTER (WHERE confirmed) AS confirmed_count, "
        "count(*) FILTER (WHERE failure) AS failure_count, "
        "count(*) FILTER (WHERE outcome = 'ok') AS ok_count, "
        "count(*) FILTER (WHERE outcome = 'down') AS down_count, "
        "count(*) FILTER (WHERE outcome = 'unanalysed') AS unanalysed_count, "
        "count(*) FILTER (WHERE outcome = 'error') AS error_count"
        f"{names} FROM analysis WHERE {where}"
        + (f" GROUP BY ALL ORDER BY {', '.join(labels)}" if labels else "")
    )
    rows = [
        {k: (_iso(v) if k == "measurement_start_day" else v) for k, v in r.items()}
        for r in query_rows(tables, sql, args)
    ]
    for r in rows:
        if "probe_asn" in r and isinstance(r["probe_asn"], int):
            r["probe_asn"] = f"AS{r['probe_asn']}"
    return rows, labels


def routes(tables: Path, archive: Archive) -> list[Route]:
    archived = from_archive(archive)

    def select(sql: str, args: list[object]) -> list[dict[str, Any]]:
        return query_rows(tables, sql, args)

    async def run(handler: Callable[[], Response], request: Request) -> Response:
        try:
            once(request.query_params.multi_items())
            return await asyncio.to_thread(handler)
        except BadQuery as exc:
            return error(400, str(exc))

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
                return error(404, f"no measurement {uid!r}")
            body = _row(record, base) if rows else {"measurement_uid": uid}
            body["addresses"] = _addresses(record)
            body["raw_measurement"] = json.loads(data) if data is not None else None
            return JSONResponse(body)

        return await run(handler, request)

    async def raw(request: Request) -> Response:
        uid = request.query_params.get("measurement_uid")
        if not uid:
            return error(400, "measurement_uid is required")

        def handler() -> Response:
            rows = select(
                "SELECT source, source_line FROM analysis WHERE measurement_uid = ?", [uid]
            )
            record = rows[0] if rows else {}
            data = raw_measurement(archived, uid, record.get("source"), record.get("source_line"))
            if data is None:
                return error(404, f"no raw measurement {uid!r}")
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
            for r in rows:
                r["measurement_start_time"] = _iso(r["measurement_start_time"])
                r["probe_asn"] = f"AS{r['probe_asn']}"
                r["addresses"] = _addresses(r)
            if kind == "CSV":
                return _csv([_flat(r) for r in rows])
            return JSONResponse({"results": rows})

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
