"""The committed OpenAPI document is valid, current, and covers every route."""

from __future__ import annotations

from pathlib import Path

from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from netvigil.observatory.app import create_app
from netvigil.observatory.openapi import document, rendered

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_document_is_valid_openapi() -> None:
    validate(document())


def test_committed_copy_matches_the_app() -> None:
    assert COMMITTED.read_text() == rendered(), (
        "docs/openapi.json is stale: regenerate it with `netvigil.observatory.openapi.rendered()`"
    )


def test_every_route_is_documented(tmp_path: Path) -> None:
    app = create_app(tmp_path)
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
