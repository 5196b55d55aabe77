"""A shutdown scenario of `netvigil lab run`, judged: the alert, and the cut's verdicts.

cli/lab_shutdown.py runs the scenario (probe daemons, heartbeats, the detector and the alert
webhook, on the lab's clock) and says whether the alert was the expected kind within the
detection bound. That is half of what the table expects: it also gives the verdict of a
measurement taken during the cut (`insufficient`: with nothing reachable, no control and no
access to see). Here both are checked, the second from the shutdown observatory's own files
(its analysis table and its archive: the root namespace cannot reach its API), and the
outcome is one `Result`, the same record as every other scenario's
(docs/design/011-lab.md, "Shutdown scenarios").
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final

import msgspec

from netvigil.cli.lab_shutdown import run_shutdown
from netvigil.datadir import DataDir
from netvigil.lab.censor import CensorPlanError
from netvigil.lab.netns import Lab, LabError
from netvigil.lab.nsthread import NamespaceError
from netvigil.lab.scenario_records import Classic, Scenario, Table
from netvigil.lab.scenario_result import Observed, Result, expected, judge
from netvigil.observatory.archive import read_since
from netvigil.observatory.data import query_rows

__all__ = ["run_shutdown_scenario"]

KEYS: Final = ("outcome", "layer", "technique", "blocking", "accessible")


def _cut_verdicts(observatory: Path, scenario: Scenario) -> list[Observed]:
    """The verdicts the shutdown's observatory gave its daemons' measurements that were not
    `ok` (those measured before and after the cut are): the cut's, read from its tables, with
    the classic keys of each raw measurement, read from its archive."""
    folder = DataDir(root=observatory)
    if not folder.tables.is_dir():
        return []
    classic: dict[str, Classic] = {}
    for stored, _ in read_since(folder.archive, {}):
        raw = msgspec.json.decode(stored.measurement)
        keys = raw.get("test_keys") if isinstance(raw, dict) else None
        keys = keys if isinstance(keys, dict) else {}
        blocking, accessible = keys.get("blocking"), keys.get("accessible")
        classic[stored.uid] = Classic(
            blocking=blocking if isinstance(blocking, str | bool) else None,
            accessible=accessible if isinstance(accessible, bool) else None,
        )
    rows = query_rows(
        folder.tables,
        "SELECT measurement_uid, outcome, layer, technique, rule, confidence FROM analysis "
        "WHERE test_name = ? AND outcome <> 'ok' ORDER BY measurement_start_time",
        [scenario.nettest],
    )
    return [
        Observed(
            uid=str(row["measurement_uid"]),
            outcome=row["outcome"],
            layer=row["layer"],
            technique=row["technique"],
            rule=row["rule"],
            confidence=row["confidence"],
            blocking=classic.get(row["measurement_uid"], Classic()).blocking,
            accessible=classic.get(row["measurement_uid"], Classic()).accessible,
        )
        for row in rows
    ]


def run_shutdown_scenario(
    lab: Lab, ca_file: Path, table: Table, scenario: Scenario, folder: Path
) -> Result:
    """A shutdown scenario (cli/lab_shutdown.py): passed when the alert is the expected kind
    within the bound, and every measurement the daemons took during the cut was judged as
    the table expects (never ok: there was no access to see)."""
    started = time.monotonic()
    where = folder / "shutdowns" / scenario.name
    try:
        said = run_shutdown(lab, table, scenario, where, ca_file=ca_file)
    except (LabError, CensorPlanError, NamespaceError, OSError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return judge(scenario, [], problem=problem, seconds=round(time.monotonic() - started, 3))
    got = _cut_verdicts(where / "observatory", scenario)
    want = expected(scenario)
    verdict = tuple(
        want.get(k) for k in ("outcome", "layer", "technique", "blocking", "accessible")
    )
    why = said.get("why")
    if why is None and not got:
        why = "no measurement of the cut reached the observatory"
    wrong = [
        g for g in got if (g.outcome, g.layer, g.technique, g.blocking, g.accessible) != verdict
    ]
    if why is None and wrong:
        why = f"{wrong[0].uid}: expected {verdict}, got {wrong[0].outcome} {wrong[0].technique}"
    alert = said.get("alert")
    return Result(
        scenario=scenario.name,
        passed=bool(said.get("passed")) and why is None,
        nettest=scenario.nettest,
        expected=want,
        got=got,
        why=None if why is None else str(why),
        seconds=round(time.monotonic() - started, 3),
        alert=None if alert is None else str(alert),
    )
