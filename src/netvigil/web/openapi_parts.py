"""The pieces the OpenAPI document is built of: schema helpers, the `Op` and `Param` rows of
its table, the incident schemas (from the msgspec types, with the time patterns msgspec does
not emit), the vocabularies from the test lists, and one operation rendered as OpenAPI."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import msgspec

from netvigil import testlists
from netvigil.incidents.model import Incident, IncidentInput
from netvigil.incidents.validate import known_country
from netvigil.observatory import query
from netvigil.patterns import TIMESTAMP, WHEN

Schema = dict[str, Any]
Access = Literal["open", "incidents"]  # incidents: an optional API key (no key: the public)


def string(**more: Any) -> Schema:
    return {"type": "string", **more}


def one_of(values: tuple[str, ...] | list[str]) -> Schema:
    return {"type": "string", "enum": list(values)}


def whole(low: int, high: int, default: int | None = None) -> Schema:
    bounded: Schema = {"type": "integer", "minimum": low, "maximum": high}
    return bounded if default is None else {**bounded, "default": default}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    return {"type": "object", "required": list(required), "properties": properties}


BOOLEAN = one_of(query.BOOLEANS)
TIME = string(pattern=WHEN)
ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
ANY_JSON: Schema = {}
OBJECT: Schema = {"type": "object"}


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: Schema = field(default_factory=string)
    required: bool = False


@dataclass(frozen=True)
class Op:
    """One operation: (path, method), what it does, what it takes and every answer it gives."""

    path: str
    method: str
    summary: str
    query: tuple[Param, ...] = ()
    body: Schema | None = None
    body_description: str = ""
    body_required: bool = True  # False: an empty body reads as {}
    ok: int = 200
    content: tuple[str, ...] = ("application/json",)
    result: Schema = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    access: Access = "open"
    path_schema: Schema = field(default_factory=lambda: string(minLength=1))


@cache
def incident_schemas() -> dict[str, Schema]:
    """Components of the incident input and revision, from their msgspec types."""
    _, components = msgspec.json.schema_components(
        (IncidentInput, Incident), ref_template="#/components/schemas/{name}"
    )
    seen: set[str] = set()
    for info in msgspec.inspect.multi_type_info([IncidentInput, Incident]):
        _time_patterns(info, components, seen)
    return components


def _time_patterns(
    info: msgspec.inspect.Type, components: dict[str, Schema], seen: set[str]
) -> None:
    """msgspec describes a datetime as a bare string: give each its pattern, so generated
    values are times and the document says which strings the decoder takes."""
    if isinstance(info, msgspec.inspect.StructType):
        schema = components.get(info.cls.__name__)
        if schema is None or info.cls.__name__ in seen:
            return
        seen.add(info.cls.__name__)
        for item in info.fields:
            kinds = (
                item.type.types
                if isinstance(item.type, msgspec.inspect.UnionType)
                else (item.type,)
            )
            prop = schema["properties"][item.encode_name]
            for kind in kinds:
                if isinstance(kind, msgspec.inspect.DateTimeType):
                    for option in prop.get("anyOf", [prop]):
                        if option.get("type") == "string":
                            option["pattern"] = TIMESTAMP
                _time_patterns(kind, components, seen)
    for child in ("item_type", "key_type", "value_type"):
        if hasattr(info, child):
            _time_patterns(getattr(info, child), components, seen)
    if isinstance(info, msgspec.inspect.UnionType):
        for kind in info.types:
            _time_patterns(kind, components, seen)


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


@cache
def countries() -> list[str]:
    """ISO 3166-1 alpha-2 codes, as the incident filters check them."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [a + b for a in letters for b in letters if known_country(a + b)]


@cache
def test_list_countries() -> list[str]:
    """Codes the test lists answer for (any case), XX and ZZ included."""
    known = sorted(testlists.known_countries())
    return known + [c.lower() for c in known]


def category_list() -> Schema:
    """Comma-separated Citizen Lab category codes (any case)."""
    codes = sorted(testlists.category_codes())
    one = "(" + "|".join(codes + [c.lower() for c in codes]) + ")"
    return string(pattern=f"^{one}(,{one})*$")


def _responses(op: Op) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK" if op.ok == 200 else "Created"}
    ok["content"] = {
        media: {
            "schema": op.result
            if media == "application/json"
            else ANY_JSON
            if "json" in media
            else string()
        }
        for media in op.content
    }
    answers: dict[str, Any] = {str(op.ok): ok}
    for status, description in sorted(op.errors.items()):
        answer: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": ERROR}},
        }
        if status == 503:
            answer["headers"] = {"Retry-After": {"schema": string(pattern="^[0-9]+$")}}
        answers[str(status)] = answer
    return answers


def operation(op: Op) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": op.path_schema}
        for name in ("report_id", "uid", "id", "token")
        if "{" + name + "}" in op.path
    ]
    parameters += [
        {
            "name": p.name,
            "in": "query",
            "description": p.description,
            "required": p.required,
            "schema": p.schema,
        }
        for p in op.query
    ]
    operation: dict[str, Any] = {
        "summary": op.summary,
        "operationId": _operation_id(op.method, op.path),
        "parameters": parameters,
        "responses": _responses(op),
        # The data API and probe services are open; incidents take an optional API key
        # (without one the caller is the public).
        "security": [{}, {"apiKey": []}] if op.access == "incidents" else [],
    }
    if op.body is not None:
        operation["requestBody"] = {
            "description": op.body_description,
            "required": op.body_required,
            "content": {"application/json": {"schema": op.body}},
        }
    return operation


def _operation_id(method: str, path: str) -> str:
    name = path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    return f"{method}_{name or 'root'}".replace("-", "_").replace(".", "_")
