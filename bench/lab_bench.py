"""The lab's speed: each scenario's probe through the censor, against the same on loopback.

In the same run, side by side, each with the same world (the lab's servers and the
observatory, cli/lab_world.py):

  (a) baseline: one flat namespace (lab/topology.py `flat_plan`) where every lab address is
      on `lo`: no veth, no censor, no rule; the probe runs there with the same command line
      (lab/scenario_probe.py), so it measures the same sites through the same resolver;
  (b) ours: a lab (lab/topology.py `plan`), each scenario through cli/lab_run.py's
      `run_scenario`: the censor's rules, the probe in `client`, upload, pipeline, API, page.

Prints the whole table's wall time in (b), then per scenario the probe's seconds in (b) and
(a) and their ratio, and the same for the measurements' own `test_runtime` (the network part,
without the interpreter's start), then the sums' ratios: over the scenarios without rules,
which is what the veths and the censor's forwarding cost, and over all of them (a rule that
makes the probe wait for its timeout is slower on purpose). The last line is
`ratio=<float>`, the first summary (the second when no scenario without rules was chosen);
the one before it is `ratio_all=<float>`.
With --rounds N, lab and loopback rounds alternate (machines are noisy) and every figure is
a median. Each run is bounded by run_scenario's own timeouts. Shutdown scenarios are not
benched: they wait for the detector, not for the probe.

Usage (root: it makes network namespaces):
    python bench/lab_bench.py [SCENARIO...] [--rounds 1] [--id ID] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

from netvigil.cli.lab_run import PROBE_TIMEOUT, run_scenario
from netvigil.cli.lab_world import World, start_world
from netvigil.lab.lab_geoip import write_geoip
from netvigil.lab.labstate import LabStateError
from netvigil.lab.netns import Lab, LabError, lab_running
from netvigil.lab.scenario_probe import probe_run_argv
from netvigil.lab.scenario_records import Scenario, Table
from netvigil.lab.scenarios import TableError, load_table, select
from netvigil.lab.topology import TopologyError, check_id, flat_plan, plan

NAME = "lab_bench.py"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + error
        self.exit(2, f"{NAME}: {message}\n")


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"{NAME}: {message}", file=sys.stderr)
    raise SystemExit(code)


def loopback_probe(
    flat: Lab, world: World, table: Table, scenario: Scenario, folder: Path
) -> float | None:
    """The probe's seconds for `scenario` in the flat namespace (None: it failed or measured
    nothing), timed as run_scenario times it: around the process, `ip netns exec` included."""
    geoip = write_geoip(table, scenario.probe_cc, folder / f"geoip-{scenario.probe_cc}.mmdb")
    argv = probe_run_argv(
        table, scenario, ca_file=world.ca_file, data_dir=folder / scenario.name, geoip_db=geoip
    )
    started = time.monotonic()
    child = flat.start(flat.plan.client, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = child.communicate(timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        print(f"  loopback {scenario.name}: no end in {PROBE_TIMEOUT:g} s", file=sys.stderr)
        return None
    seconds = time.monotonic() - started
    if child.returncode != 0 or not out.strip():
        why = (err.decode(errors="replace").strip().splitlines() or ["no measurement"])[-1]
        print(f"  loopback {scenario.name}: {why}", file=sys.stderr)
        return None
    return seconds


def measured(probe_dir: Path) -> float | None:
    """The sum of the measurements' own `test_runtime` in a probe's data folder: the network
    part of the probe's time, without the interpreter's start and the process's end."""
    runtimes = [
        float(json.loads(line).get("test_runtime") or 0.0)
        for path in sorted(probe_dir.glob("results/*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    return sum(runtimes) if runtimes else None


def median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def cell(value: float | None, width: int = 7, places: int = 2) -> str:
    return f"{value:{width}.{places}f}" if value is not None else f"{'-':>{width}}"


def ratio_of(lab: float | None, flat: float | None) -> float | None:
    return lab / flat if lab is not None and flat else None


def summary(label: str, rows: Sequence[tuple[float | None, float | None]]) -> float | None:
    """The sums' ratio over the rows measured on both sides, printed; None for no row."""
    both = [(lab, flat) for lab, flat in rows if lab is not None and flat is not None]
    lab, flat = sum(b[0] for b in both), sum(b[1] for b in both)
    if not both or not flat:
        print(f"{label}: no scenario measured on both sides")
        return None
    print(
        f"{label} ({len(both)} scenarios): lab {lab:.3f} s, loopback {flat:.3f} s, "
        f"ratio {lab / flat:.2f}"
    )
    return lab / flat


class Figures:
    """Per scenario and side ("lab", "loopback"): probe seconds and measured seconds, one
    per round; the lab's verdicts; each round's wall time."""

    def __init__(self, chosen: Sequence[Scenario]) -> None:
        sides = ("lab", "loopback")
        self.probe = {side: {s.name: list[float | None]() for s in chosen} for side in sides}
        self.net = {side: {s.name: list[float | None]() for s in chosen} for side in sides}
        self.passed = {s.name: 0 for s in chosen}
        self.walls: dict[str, list[float]] = {side: [] for side in sides}


def one_round(
    n: int,
    lab: Lab,
    flat: Lab,
    worlds: dict[str, World],
    table: Table,
    chosen: Sequence[Scenario],
    base: Path,
    figures: Figures,
) -> None:
    folder = base / "lab" / f"round-{n}"
    folder.mkdir()
    started = time.monotonic()
    for scenario in chosen:
        result = run_scenario(lab, worlds["lab"], table, scenario, folder)
        figures.probe["lab"][scenario.name].append(result.probe_seconds)
        # run_scenario's probe folder (cli/lab_run.py): folder/probes/<scenario>.
        figures.net["lab"][scenario.name].append(measured(folder / "probes" / scenario.name))
        figures.passed[scenario.name] += result.passed
        if not result.passed:
            print(f"  lab {scenario.name}: {result.why}", file=sys.stderr)
    figures.walls["lab"].append(time.monotonic() - started)
    folder = base / "loopback" / f"round-{n}"
    folder.mkdir()
    started = time.monotonic()
    for scenario in chosen:
        seconds = loopback_probe(flat, worlds["loopback"], table, scenario, folder)
        figures.probe["loopback"][scenario.name].append(seconds)
        figures.net["loopback"][scenario.name].append(measured(folder / scenario.name))
    figures.walls["loopback"].append(time.monotonic() - started)


def report(chosen: Sequence[Scenario], rounds: int, figures: Figures) -> float:
    print(
        f"{len(chosen)} scenarios, {rounds} round(s) each of lab and loopback, alternating"
        + (": medians" if rounds > 1 else "")
    )
    print(
        f"whole table in the lab: {statistics.median(figures.walls['lab']):.1f} s "
        "(rules, probe, upload, pipeline, API and page per scenario)"
    )
    print(f"loopback probes alone: {statistics.median(figures.walls['loopback']):.1f} s")
    print("probe s: the probe's process; measured s: its measurements' test_runtime")
    print(
        f"{'scenario':32} {'rules':>5} {'passed':>6} {'probe s: lab':>15} {'loop':>7}"
        f" {'ratio':>6} {'measured s: lab':>18} {'loop':>7} {'ratio':>6}"
    )
    rows: dict[str, list[tuple[float | None, float | None]]] = {"none": [], "all": [], "net": []}
    for s in chosen:
        probe = (median(figures.probe["lab"][s.name]), median(figures.probe["loopback"][s.name]))
        net = (median(figures.net["lab"][s.name]), median(figures.net["loopback"][s.name]))
        rows["all"].append(probe)
        if not s.rules:
            rows["none"].append(probe)
            rows["net"].append(net)
        print(
            f"{s.name:32} {len(s.rules):5} {f'{figures.passed[s.name]}/{rounds}':>6} "
            f"{cell(probe[0], 15)} {cell(probe[1])} {cell(ratio_of(*probe), 6)} "
            f"{cell(net[0], 18, 3)} {cell(net[1], 7, 3)} {cell(ratio_of(*net), 6)}"
        )
    plain = summary("probe s, scenarios without rules", rows["none"])
    whole = summary("probe s, all scenarios", rows["all"])
    summary("measured s, scenarios without rules", rows["net"])
    print(f"ratio_all={whole if whole is not None else float('nan'):.2f}")
    return plain if plain is not None else whole if whole is not None else float("nan")


def bench(table: Table, chosen: Sequence[Scenario], rounds: int, lab_id: str, base: Path) -> float:
    figures = Figures(chosen)
    with ExitStack() as stack:
        # Separate state folders: both use the same id (nvlab-ID-client/-censor/-server and
        # nvlab-ID-flat), so `netvigil lab down --id ID` finds both by name after a crash.
        lab = stack.enter_context(lab_running(plan(lab_id), base / "state-lab"))
        flat = stack.enter_context(lab_running(flat_plan(lab_id), base / "state-flat"))
        worlds: dict[str, World] = {}
        for name, where in (("lab", lab), ("loopback", flat)):
            folder = base / name
            folder.mkdir(parents=True)
            geoip = write_geoip(table, "ZZ", folder / "geoip-observatory.mmdb")
            worlds[name] = start_world(where, folder, geoip, networks=table.lab.networks)
        for n in range(rounds):
            one_round(n, lab, flat, worlds, table, chosen, base, figures)
    return report(chosen, rounds, figures)


def main(argv: Sequence[str] | None = None) -> float:
    parser = Parser(prog=NAME, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--id", default="b" + secrets.token_hex(3), metavar="ID")
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep the run's files here (default: a temporary folder)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 100:
        fail(f"--rounds: 1 to 100, not {args.rounds}")
    try:
        check_id(args.id)
    except TopologyError as exc:
        fail(f"--id: {exc}")
    try:
        table = load_table(None)
        chosen = select(table, args.scenarios)
    except TableError as exc:
        fail(str(exc))
    shutdowns = [s.name for s in chosen if s.expect_alert is not None]
    if args.scenarios and shutdowns:
        fail(f"shutdown scenarios are not benched (they wait for the detector): {shutdowns[0]}")
    chosen = tuple(s for s in chosen if s.expect_alert is None)
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        fail("the lab bench needs Linux and root: it creates network namespaces")
    with ExitStack() as stack:
        if args.data_dir is None:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lab-bench-")))
        else:
            base = args.data_dir / f"lab-bench-{args.id}"
            if base.exists():
                fail(f"--data-dir: {base} exists already")
        try:
            return bench(table, chosen, args.rounds, args.id, base)
        except (LabError, LabStateError, OSError) as exc:
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, code=1)


if __name__ == "__main__":
    try:
        print(f"ratio={main():.2f}")
    except KeyboardInterrupt:  # the labs are down already (lab_running's finally)
        raise SystemExit(130) from None
