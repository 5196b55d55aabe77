"""The shutdown scenarios end to end in a lab: daemons → heartbeats → detector → webhook.

Each runs through `run_shutdown` (cli/lab_shutdown.py) in its own lab: three real
`netvigil probe daemon` processes in `client`, the real observatory and its webhook
subscriber in `server`, the censor's Blackout in between, all on one sped-up lab clock. A
government shutdown (the gateway still answers) must be alerted as a shutdown, a blackout
with the devices dark too as an outage, both detected within the bound; nothing the
observatory stored may carry the probes' address. About three minutes a scenario.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from netvigil.cli.lab_readings import hooks, incidents
from netvigil.cli.lab_shutdown import ALERT_WITHIN, run_shutdown
from netvigil.lab.netns import Lab
from netvigil.lab.scenario_probe import CLIENT_ADDRESS
from netvigil.lab.scenarios import load_table

pytestmark = pytest.mark.lab


@pytest.mark.parametrize(
    ("name", "kind"),
    [("shutdown-blackout", "shutdown"), ("shutdown-blackout-devices-dark", "outage")],
)
def test_a_blackout_is_alerted_within_the_bound(
    running: Lab, tmp_path: Path, name: str, kind: str
) -> None:
    table = load_table()
    (scenario,) = [s for s in table.scenarios if s.name == name]
    assert scenario.expect_alert == kind
    folder = tmp_path / "run"
    result = run_shutdown(running, table, scenario, folder)
    assert result["passed"], result
    assert result["alert"] == kind
    after = result["detected_after_s"]
    assert isinstance(after, float) and 0 < after <= ALERT_WITHIN.total_seconds()
    received = hooks(folder / "hooks.jsonl")
    assert received[0]["type"] == "incident.created"
    assert received[0]["data"]["status"] == "suspected"
    assert received[0]["data"]["kind"] == "outage"  # the local checks cannot cross the cut
    # One incident per event (today the network's and the country's, which stays an outage:
    # its witnesses are the country's series, not the network whose local checks saw a cut).
    final = {i["data"]["kind"] for i in incidents(received)}
    assert ("full_shutdown" in final) if kind == "shutdown" else (final == {"outage"})
    shut = [i for i in incidents(received) if i["data"]["kind"] == "full_shutdown"]
    assert all(i["data"]["end"] is not None for i in shut)  # the cut was lifted, it ended
    for path in (folder / "observatory").rglob("*"):
        if path.is_file():
            assert CLIENT_ADDRESS.encode() not in path.read_bytes(), path
    for log in folder.glob("*.log"):
        assert "Traceback" not in log.read_text(errors="replace"), log
    assert dt.timedelta(seconds=after) <= ALERT_WITHIN
