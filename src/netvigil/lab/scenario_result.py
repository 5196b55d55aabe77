"""What one scenario's run showed, and whether it is what the table expects: no IO.

`netvigil lab run` reads each measurement back from where a user would: the observatory's
API (`/api/v1/measurement/{uid}`, the verdict the pipeline stored, and the raw measurement
with the probe's classic keys) and its explorer page (`/measurement/{uid}`). `observed`
turns those answers into an Observed; `judge` compares it with the scenario's `expect`
(docs/design/011-lab.md, "Running a scenario"). A scenario passes only when every one of
its measurements reached the API with the expected outcome, layer and technique, the
classic keys the table gives (web_connectivity), and a page that names the verdict's rule:
a measurement lost on the way is a failure, never a pass by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from netvigil.lab.scenario_records import Scenario

__all__ = ["Observed", "Result", "expected", "judge", "observed"]


class Observed(msgspec.Struct, frozen=True, kw_only=True):
    """One measurement as the observatory serves it."""

    uid: str
    outcome: str | None  # None: the pipeline has not judged it
    layer: str | None = None
    technique: str | None = None
    rule: str | None = None
    confidence: float | None = None
    blocking: str | bool | None = None  # the raw measurement's classic keys
    accessible: bool | None = None
    page_names_rule: bool = False  # the explorer page shows the verdict's rule


class Result(msgspec.Struct, frozen=True, kw_only=True):
    """One line of `netvigil lab run --json`."""

    scenario: str
    passed: bool
    nettest: str
    expected: dict[str, Any]
    got: list[Observed]
    why: str | None = None  # the first difference, one line; None when passed
    probe_seconds: float | None = None
    seconds: float | None = None
    alert: str | None = None  # shutdown scenarios: the kind of the alert raised


def observed(uid: str, body: Mapping[str, Any], page: str | None) -> Observed:
    """An Observed from the API's answer for `uid` and the explorer page (None: no page)."""
    scores = body.get("scores")
    raw = body.get("raw_measurement")
    keys = raw.get("test_keys") if isinstance(raw, dict) else None
    keys = keys if isinstance(keys, dict) else {}
    if not isinstance(scores, dict):
        return Observed(uid=uid, outcome=None, blocking=keys.get("blocking"))
    rule = scores.get("rule")
    return Observed(
        uid=uid,
        outcome=scores.get("outcome"),
        layer=scores.get("layer"),
        technique=scores.get("technique"),
        rule=rule,
        confidence=scores.get("confidence"),
        blocking=keys.get("blocking"),
        accessible=keys.get("accessible"),
        page_names_rule=bool(page and rule and rule in page),
    )


def expected(scenario: Scenario) -> dict[str, Any]:
    e = scenario.expect
    layer = None if e.layer is None else str(e.layer)
    shown: dict[str, Any] = {"outcome": str(e.outcome), "layer": layer, "technique": e.technique}
    if e.classic is not None:
        shown["blocking"], shown["accessible"] = e.classic.blocking, e.classic.accessible
    if scenario.expect_alert is not None:
        shown["alert"] = scenario.expect_alert
    return shown


def _difference(want: Mapping[str, Any], got: Observed) -> str | None:
    if got.outcome is None:
        return f"{got.uid}: the pipeline gave no verdict"
    for key, value in want.items():
        if key == "alert":
            continue
        seen = getattr(got, key)
        if seen != value:
            return f"{key}: expected {value!r}, got {seen!r}"
    if got.rule is None or not got.page_names_rule:
        return f"{got.uid}: the explorer page does not show the verdict's rule {got.rule!r}"
    return None


def judge(
    scenario: Scenario,
    got: Sequence[Observed],
    *,
    problem: str | None = None,
    probe_seconds: float | None = None,
    seconds: float | None = None,
) -> Result:
    """The scenario's Result; `problem` is a step that failed before anything was observed."""
    want = expected(scenario)
    why = problem
    if why is None and not got:
        why = "no measurement reached the observatory"
    for one in got if why is None else ():
        why = _difference(want, one)
        if why is not None:
            break
    return Result(
        scenario=scenario.name,
        passed=why is None,
        nettest=scenario.nettest,
        expected=want,
        got=list(got),
        why=why,
        probe_seconds=probe_seconds,
        seconds=seconds,
    )
