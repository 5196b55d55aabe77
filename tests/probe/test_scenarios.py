"""The probe against real servers on loopback, one case per OONI netem QA scenario.

Each case reproduces the scenario named (ooni/probe-cli internal/webconnectivityqa) with
the lab's servers — a lying resolver, a reset, a black hole, a blockpage, a bad
certificate — and expects the classic `blocking`/`accessible` that OONI's own probe wrote
into that scenario's file in ../shared/corpus/ooni-measurements/ooni-data-wc05-qa/, read
from the file rather than copied here. The layered verdict must name the right outcome
and layer too. No test needs the Internet: everything is in 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from netvigil.addresses import Bogons
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze_web
from tests.corpus import QA
from tests.probe.scenarios import CASES, Case, run_case

LAB = Bogons.with_lab(["127.0.0.0/8"])


def expected_classic(name: str) -> tuple[object, object]:
    keys = json.loads((QA / f"{name}.json").read_text())["test_keys"]
    return keys["blocking"], keys["accessible"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_probe_reproduces_qa_scenario(case: Case, tmp_path: Path) -> None:
    measurement = asyncio.run(run_case(case, tmp_path))
    keys = measurement.test_keys
    assert keys is not None
    assert (keys.blocking, keys.accessible) == expected_classic(case.name), (
        keys.http_experiment_failure,
        keys.dns_experiment_failure,
        keys.control_failure,
    )
    verdict = analyze_web(measurement, keys, FingerprintDB.load(), LAB)
    got = (verdict.outcome.value, verdict.layer.value if verdict.layer else None)
    assert got == (case.outcome, case.layer), verdict.rule


def test_at_least_twelve_scenarios() -> None:
    assert len({c.name for c in CASES}) >= 12
    assert all((QA / f"{c.name}.json").exists() for c in CASES)
