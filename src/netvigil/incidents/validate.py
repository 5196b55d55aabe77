"""Checking and normalising a member's input, before anything is stored.

Every problem is one line naming the field (`countries[1]: unknown country code 'XX'`);
a request with any problem stores nothing. What needs the database (does this measurement,
organisation or group exist?) is checked by the service; everything else is here, pure.
"""

from __future__ import annotations

import datetime as dt
import re
import types
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import msgspec
import pycountry

from netvigil.incidents.errors import BadInput
from netvigil.incidents.levels import Level, evidence_cap, stricter
from netvigil.incidents.model import I18n, IncidentInput, Text

MAX_TEXT = {"title": 200, "summary": 280, "body_md": 100_000}
MAX_ITEMS = 200  # per list
LISTS = (
    "techniques",
    "targets",
    "themes",
    "tags",
    "subdivisions",
    "area_names",
    "networks",
    "evidence",
    "recipients",
    "related",
)
_UNIONS = (Union, types.UnionType)
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class InvalidIncident(BadInput):
    """The input's problems, one line each; the first is the exception's message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(*(problems or ["invalid incident"]))


def _number(text: str) -> int | float:
    """JSON has one kind of number: 90.0 is the whole number 90 (JSON Schema agrees)."""
    value = float(text)
    return int(value) if value.is_integer() else value


_JSON = msgspec.json.Decoder(float_hook=_number)


def decode_input(data: bytes) -> IncidentInput:
    """Decode JSON into an IncidentInput; a bad document is an InvalidIncident (one line)."""
    try:
        return msgspec.convert(_JSON.decode(data), type=IncidentInput)
    except msgspec.ValidationError as exc:
        raise InvalidIncident([describe(exc)]) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidIncident([f"not JSON: {exc}".splitlines()[0]]) from None


_ENUM = re.compile(r"Invalid enum value (?P<value>.*) - at `\$(?P<path>[^`]*)`")
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")


def describe(exc: msgspec.ValidationError) -> str:
    """One line naming the field; a value outside a fixed list names the valid ones
    (`kind: 'blok' is not one of: website_blocking, app_blocking, ...`)."""
    message = str(exc).splitlines()[0]
    found = _ENUM.fullmatch(message)
    choices = _choices(found["path"]) if found else None
    if found is None or not choices:
        return f"invalid incident: {message}"
    return f"{found['path'].lstrip('.')}: {found['value']} is not one of: {', '.join(choices)}"


def _choices(path: str) -> list[str]:
    """The values of the Literal at a msgspec error path (`.targets[0].type`) of the input."""
    kind: Any = IncidentInput
    for field, _ in _STEP.findall(path):
        kind = _unwrap(kind)
        if field:
            hints = get_type_hints(kind) if isinstance(kind, type) else {}
            kind = hints.get(field)
        else:
            kind = next(iter(get_args(kind)), None)
    kind = _unwrap(kind)
    return [str(v) for v in get_args(kind)] if get_origin(kind) is Literal else []


def _unwrap(kind: Any) -> Any:
    """The one arm of `X | None` (or of a `Text`-like union) that has structure."""
    arms = [a for a in get_args(kind) if a is not type(None)] if get_origin(kind) in _UNIONS else []
    chosen = [a for a in arms if get_origin(a) in (Literal, list) or isinstance(a, type)]
    return next((a for a in chosen if a is not str), kind) if arms else kind


def i18n(value: Text) -> I18n:
    """A plain string is English."""
    return {"en": value} if isinstance(value, str) else dict(value)


@cache
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def known_country(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code."""
    return code in _countries()


@cache
def _subdivisions() -> dict[str, str]:
    """ISO 3166-2 code → its country's alpha-2 code."""
    return {s.code: s.country_code for s in pycountry.subdivisions}


@cache
def _categories() -> frozenset[str]:
    from netvigil.testlists import category_codes

    return category_codes()


def check(data: IncidentInput) -> list[str]:
    """Every problem with the input (empty: it can be stored)."""
    problems: list[str] = []
    for name, limit in MAX_TEXT.items():
        for lang, text in i18n(getattr(data, name)).items():
            if not _LANGUAGE.fullmatch(lang):
                problems.append(f"{name}: {lang!r} is not a language tag (e.g. en, pt-BR)")
            if len(text) > limit:
                problems.append(f"{name}[{lang}]: {len(text)} characters, at most {limit}")
    if not any(t.strip() for t in i18n(data.title).values()):
        problems.append("title: empty")
    if not data.countries:
        problems.append("countries: at least one country")
    for n, code in enumerate(data.countries):
        if not known_country(code):
            problems.append(f"countries[{n}]: unknown country code {code!r}")
    for n, code in enumerate(data.subdivisions):
        country = _subdivisions().get(code)
        if country is None:
            problems.append(f"subdivisions[{n}]: unknown ISO 3166-2 code {code!r}")
        elif country not in data.countries:
            problems.append(f"subdivisions[{n}]: {code} is not in the incident's countries")
    for n, target in enumerate(data.targets):
        category = target.category_code
        if category is not None and category not in _categories():
            problems.append(f"targets[{n}].category_code: unknown Citizen Lab code {category!r}")
    for name in LISTS:
        if len(getattr(data, name)) > MAX_ITEMS:
            problems.append(f"{name}: more than {MAX_ITEMS} items")
    problems += _times(data)
    problems += _sharing(data)
    if data.status == "retracted":
        problems.append("status: retract an incident with its own action, giving a reason")
    return problems


def _aware(value: dt.datetime | None) -> bool:
    return value is None or value.tzinfo is not None


def _times(data: IncidentInput) -> list[str]:
    problems = []
    stamps = [("start.time", data.start.time), ("embargo_until", data.embargo_until)]
    if data.end is not None:
        stamps.append(("end.time", data.end.time))
    problems += [f"{name}: give a time zone (e.g. ...Z)" for name, t in stamps if not _aware(t)]
    if not problems and data.end is not None and data.end.time < data.start.time:
        problems.append("end.time: before start.time")
    if data.release_policy == "auto_on_date" and data.embargo_until is None:
        problems.append("release_policy: auto_on_date needs embargo_until")
    return problems


def _sharing(data: IncidentInput) -> list[str]:
    problems = []
    try:
        level = Level.parse(data.visibility)
    except ValueError as exc:
        return [f"visibility: {exc}"]
    if level is Level.NAMED and not data.recipients:
        problems.append("recipients: a named incident needs at least one organisation")
    if level is Level.GROUP and not data.sharing_group:
        problems.append("sharing_group: a group incident needs a sharing group")
    for n, item in enumerate(data.evidence):
        where = f"evidence[{n}]"
        if item.sha256 is not None and not _SHA256.fullmatch(item.sha256):
            problems.append(f"{where}.sha256: 64 lowercase hex digits")
        if not _aware(item.captured_at):
            problems.append(f"{where}.captured_at: give a time zone")
        if item.visibility is None:
            continue
        try:
            own = Level.parse(item.visibility)
        except ValueError as exc:
            problems.append(f"{where}.visibility: {exc}")
            continue
        cap = evidence_cap(item.type, item.identifies_volunteer)
        if own > cap:
            problems.append(
                f"{where}.visibility: {item.type} evidence can identify a volunteer; "
                f"it is shared at most at {cap.label} level"
            )
    return problems


def evidence_level(incident: Level, own: str | None, kind: str, identifies: bool) -> Level:
    """The level a piece of evidence is shared at: the strictest of its own, its
    incident's and its cap."""
    mine = Level.parse(own) if own is not None else incident
    return stricter(mine, incident, evidence_cap(kind, identifies))
