"""`netvigil lab run [SCENARIO...]`: each scenario end to end, through the whole observatory.

One lab is brought up for the run and torn down after it, however it ends (netns.lab_running).
Its `server` namespace holds the world and the observatory (cli/lab_world.py). Then, per
scenario, in table order (docs/design/011-lab.md, "Running a scenario"):

1. the censor applies the scenario's rules (lab/censor.py, lab/censor_apply.py);
2. our probe measures in `client` (lab/scenario_probe.py), into a data folder of its own;
3. the rules are removed and the probe uploads to the collector (`probe upload`), so a rule
   that cuts the path loses no measurement;
4. each uploaded measurement is read back from the API once the pipeline has judged it, and
   its explorer page is fetched (lab/scenario_result.py compares them with the table).

The shutdown scenarios (expect_alert) go through probe daemons, heartbeats and the detector
instead (cli/lab_shutdown.py). Every wait is bounded; a step that fails is that scenario's
failure (its `why`), and the run goes on with the next one.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from netvigil.cli.lab_shutdown_judged import run_shutdown_scenario
from netvigil.cli.lab_world import World, get_json, get_text
from netvigil.lab.capture import capturing_client
from netvigil.lab.censor import CensorPlanError, censor_plan
from netvigil.lab.censor_apply import Censor
from netvigil.lab.lab_geoip import write_geoip
from netvigil.lab.netns import Lab, LabError
from netvigil.lab.nsthread import NamespaceError
from netvigil.lab.scenario_probe import probe_run_argv, probe_upload_argv
from netvigil.lab.scenario_records import Scenario, Table
from netvigil.lab.scenario_result import Observed, Result, judge, observed
from netvigil.probe.upload import uploaded_uids

__all__ = ["run_scenario"]

PROBE_TIMEOUT: Final = 300.0  # a bound on one probe run (its own deadlines end it sooner)
UPLOAD_TIMEOUT: Final = 120.0
JUDGED_POLLS: Final = 300  # the pipeline judges a measurement within a few seconds
POLL_EVERY: Final = 0.2


class StepError(RuntimeError):
    """One step of a scenario failed; the message is one line (the scenario's `why`)."""


def _in_client(lab: Lab, argv: list[str], timeout: float) -> tuple[str, str]:
    """Run `argv` in `client` to its end: (stdout, stderr), or StepError."""
    child = lab.start(lab.plan.client, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise StepError(f"{argv[3]} {argv[4]} did not end in {timeout:g} s") from None
    said_out, said_err = out.decode(errors="replace"), err.decode(errors="replace")
    if child.returncode != 0:
        last = (said_err.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
        raise StepError(f"{argv[3]} {argv[4]}: {last}")
    return said_out, said_err


def _judged(world: World, uid: str) -> Observed:
    """The measurement as the API serves it once the pipeline judged it, and its page."""
    body = None
    for _ in range(JUDGED_POLLS):
        status, body = get_json(world, f"/api/v1/measurement/{uid}")
        if status == 200 and isinstance(body, dict) and isinstance(body.get("scores"), dict):
            break
        time.sleep(POLL_EVERY)
    if not isinstance(body, dict):
        return Observed(uid=uid, outcome=None)
    status, page = get_text(world, f"/measurement/{uid}")
    return observed(uid, body, page if status == 200 else None)


def run_scenario(
    lab: Lab,
    world: World,
    table: Table,
    scenario: Scenario,
    folder: Path,
    *,
    capture: Path | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Result:
    """Run one (non-shutdown) scenario in a running lab; its Result, never an exception for
    a step that failed. With `capture`, tcpdump records the client's side of the probe's run
    in `capture/<scenario>.pcap` (lab/capture.py)."""
    started = clock()
    probe_seconds = None
    probe_dir = folder / "probes" / scenario.name
    censor = Censor(lab, folder / "censor")
    sites = {name: s.address for name, s in table.sites.items() if s.address is not None}
    try:
        plan = censor_plan(
            scenario.rules,
            lab.plan,
            sites,
            site_ca=str(world.ca_file),
            folder=str(folder / "censor"),
        )
        geoip = write_geoip(table, scenario.probe_cc, folder / f"geoip-{scenario.probe_cc}.mmdb")
        argv = probe_run_argv(
            table, scenario, ca_file=world.ca_file, data_dir=probe_dir, geoip_db=geoip
        )
        censor.apply(plan)
        try:
            with contextlib.ExitStack() as stack:
                if capture is not None:
                    capture.mkdir(parents=True, exist_ok=True)
                    stack.enter_context(capturing_client(lab, capture / f"{scenario.name}.pcap"))
                probe_started = clock()
                _in_client(lab, argv, PROBE_TIMEOUT)
                probe_seconds = round(clock() - probe_started, 3)
        finally:
            censor.remove()
        _in_client(lab, probe_upload_argv(world.observatory, data_dir=probe_dir), UPLOAD_TIMEOUT)
        got = [_judged(world, uid) for uid in uploaded_uids(probe_dir / "uploaded.jsonl")]
    except (StepError, LabError, CensorPlanError, NamespaceError, OSError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return judge(scenario, [], problem=problem, seconds=round(clock() - started, 3))
    return judge(scenario, got, probe_seconds=probe_seconds, seconds=round(clock() - started, 3))


def run_all(
    lab: Lab,
    world: World,
    table: Table,
    chosen: tuple[Scenario, ...],
    folder: Path,
    each: Callable[[Result], None],
    capture: Path | None = None,
) -> list[Result]:
    """Every chosen scenario in order; `each` hears each Result as it is known."""
    results = []
    for scenario in chosen:
        if scenario.expect_alert is not None:
            result = run_shutdown_scenario(lab, world.ca_file, table, scenario, folder)
        else:
            result = run_scenario(lab, world, table, scenario, folder, capture=capture)
        each(result)
        results.append(result)
    return results
