"""The committed OpenAPI document is valid, current, and covers every route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from netvigil.incidents.model import IncidentInput
from netvigil.observatory import query
from netvigil.server import create_app
from netvigil.web.openapi import document, rendered

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_document_is_valid_openapi() -> None:
    validate(document())


def test_committed_copy_matches_the_app() -> None:
    assert COMMITTED.read_text() == rendered(), (
        "docs/openapi.json is stale: regenerate it with `netvigil.web.openapi.rendered()`"
    )


def test_every_route_is_documented(tmp_path: Path) -> None:
    app = create_app(tmp_path)  # built, not started: its routes are the whole server's
    documented = {
        (path, method) for path, methods in document()["paths"].items() for method in methods
    }
    for route in app.routes:
        if isinstance(route, Mount):
            assert ("/th/", "post") in documented and ("/th/", "get") in documented
            continue
        assert isinstance(route, Route)
        if not route.include_in_schema:
            assert not route.path.startswith("/api/"), route.path  # the API is all documented
            continue  # an HTML page, not an API operation
        for method in route.methods or ():
            if method == "HEAD":
                continue
            assert (route.path, method.lower()) in documented, (route.path, method)


def operation(path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = document()["paths"][path][method]
    return found


def parameter(op: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = (p["schema"] for p in op["parameters"] if p["name"] == name)
    return dict(found)


def test_statuses_content_types_and_bodies_are_the_real_ones() -> None:
    submit = operation("/report/{report_id}", "post")
    assert set(submit["responses"]) == {"200", "400", "404", "408", "409", "413", "500", "503"}
    assert "Retry-After" in submit["responses"]["503"]["headers"]
    create = operation("/api/v1/incidents", "post")
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "413"}
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/IncidentInput"}
    generated = msgspec.json.schema(IncidentInput)["$defs"]["IncidentInput"]
    documented = document()["components"]["schemas"]["IncidentInput"]
    assert set(documented["properties"]) == set(generated["properties"])
    assert documented["additionalProperties"] is False and documented["required"]
    feed = operation("/api/v1/incidents/feed", "get")["responses"]["200"]["content"]
    assert set(feed) == {"application/atom+xml"}
    for path in ("/api/v1/measurements", "/api/v1/aggregation", "/api/v1/analysis"):
        assert set(operation(path, "get")["responses"]["200"]["content"]) == {
            "application/json",
            "text/csv",
        }


def test_parameters_are_typed_bounded_and_enumerated() -> None:
    search = operation("/api/v1/measurements", "get")
    assert parameter(search, "limit") == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10_000,
        "default": 100,
    }
    assert parameter(search, "outcome")["enum"] == list(query.OUTCOMES)
    assert {"unanalysed", "error"} <= set(query.OUTCOMES)
    assert parameter(search, "layer")["enum"] == ["dns", "tcp", "udp", "tls", "http", "tunnel"]
    grains = parameter(operation("/api/v1/aggregation", "get"), "time_grain")["enum"]
    assert grains == ["hour", "day", "week", "month", "year", "auto"]
    kinds = parameter(operation("/api/v1/incidents", "get"), "kind")["enum"]
    assert "full_shutdown" in kinds
    untyped = [
        (path, method, p["name"])
        for path, methods in document()["paths"].items()
        for method, op in methods.items()
        for p in op["parameters"]
        if p["schema"] in ({}, {"type": "string"})
    ]
    assert untyped == []
