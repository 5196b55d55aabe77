"""The lab's scenario table: load it, pick scenarios by name, say one in a line.

The table is TOML (netvigil/data/lab/scenarios.toml), read with tomllib and converted into
lab/scenario_records.py's frozen Structs one scenario at a time, so whatever is wrong is
one line naming the scenario and the field: "scenarios.toml: scenario 'x': rules[1]: ...".
What a schema cannot say is checked next (lab/scenario_checks.py): names unique, every
host one of the lab's sites, every expected technique one our analysis can name.
`netvigil lab list` prints :func:`summary`; `netvigil lab run NAME...` runs :func:`select`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from netvigil.lab.scenario_checks import TableError, check_scenario, check_table
from netvigil.lab.scenario_records import Lab, Scenario, Site, Table

__all__ = ["MAX_BYTES", "MAX_SCENARIOS", "TableError", "load_table", "select", "summary"]

DEFAULT: Any = resources.files("netvigil") / "data" / "lab" / "scenarios.toml"
# Bounds on a hostile table: ours is ~20 KB and ~40 scenarios; every scenario costs a lab
# run of seconds, so a thousand is already more than a release can wait for.
MAX_BYTES = 1 << 20
MAX_SCENARIOS = 1000
_TOP = ("lab", "sites", "scenario")
_AT = re.compile(r"^(?P<message>.*) - at `\$(?P<path>[^`]*)`$")

T = TypeVar("T")


def load_table(path: str | Path | None = None) -> Table:
    """The scenario table at `path` (default: the bundled one); TableError, one line, if bad."""
    source = DEFAULT if path is None else Path(path)
    where = str(getattr(source, "name", source))
    try:
        with source.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as e:
        raise TableError(f"{where}: cannot read: {e.strerror or e}") from None
    if len(raw) > MAX_BYTES:
        raise TableError(f"{where}: larger than {MAX_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise TableError(f"{where}: not UTF-8 (byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise TableError(f"{where}: not TOML: {_one_line(str(e))}") from None
    return _table(data, where)


def _table(data: dict[str, Any], where: str) -> Table:
    unknown = sorted(set(data) - set(_TOP))
    if unknown:
        raise TableError(f"{where}: unknown section {unknown[0]!r} (expected {', '.join(_TOP)})")
    if "lab" not in data:
        raise TableError(f"{where}: no [lab] section")
    items = data.get("scenario", [])
    if not isinstance(items, list) or not items:
        raise TableError(f"{where}: no [[scenario]] entries")
    if len(items) > MAX_SCENARIOS:
        raise TableError(f"{where}: {len(items)} scenarios, more than the {MAX_SCENARIOS} allowed")
    lab = _convert(data["lab"], Lab, f"{where}: [lab]")
    listed = data.get("sites", {})
    if not isinstance(listed, dict):
        raise TableError(f"{where}: [sites] is not a table of sites")
    # One at a time, so the error names the site (msgspec's path does not show dict keys).
    sites = {name: _convert(site, Site, f"{where}: site {name!r}") for name, site in listed.items()}
    scenarios = []
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        label = (
            f"{where}: scenario {name!r}"
            if isinstance(name, str)
            else f"{where}: scenario #{index + 1}"
        )
        scenarios.append(_convert(item, Scenario, label))
    table = Table(lab=lab, sites=sites, scenarios=tuple(scenarios))
    check_table(table, where)
    for scenario in table.scenarios:
        check_scenario(table, scenario, f"{where}: scenario {scenario.name!r}")
    return table


def _convert(value: object, kind: type[T], label: str) -> T:
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as e:
        text = _one_line(str(e))
        at = _AT.match(text)
        if at is None:
            raise TableError(f"{label}: {text}") from None
        path = at["path"].lstrip(".")
        raise TableError(f"{label}: {path + ': ' if path else ''}{at['message']}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def select(table: Table, names: Iterable[str]) -> tuple[Scenario, ...]:
    """The scenarios named, in the order given (all of them for no names); TableError for a
    name the table lacks, with the closest names it has."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return table.scenarios
    by_name: Mapping[str, Scenario] = {s.name: s for s in table.scenarios}
    for name in wanted:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.5)
            hint = (
                f"did you mean {', '.join(close)}?" if close else "`netvigil lab list` shows them"
            )
            raise TableError(f"unknown scenario {name!r}: {hint}")
    return tuple(by_name[name] for name in wanted)


def summary(scenario: Scenario) -> str:
    """One line for `netvigil lab list`: name, nettest and target, the censor's rules, and
    the verdict expected."""
    target = " ".join(scenario.inputs) or ",".join(sorted(scenario.endpoints)) or "-"
    rules = ",".join(str(rule.__struct_config__.tag) for rule in scenario.rules) or "none"
    expect = scenario.expect
    verdict = " ".join(
        str(part) for part in (expect.outcome, expect.layer, expect.technique) if part is not None
    )
    alert = f" alert={scenario.expect_alert}" if scenario.expect_alert else ""
    line = f"{scenario.name:<32} {scenario.nettest:<18} {target}  rules={rules}  -> {verdict}"
    # An input is a URL, so no newline; replace any the same, so one scenario is one line.
    return (line + alert).replace("\n", " ")
