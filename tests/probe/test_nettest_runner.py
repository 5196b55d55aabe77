"""The generic runner: a nettest over its inputs, at most N at once, cut by max_runtime."""

from __future__ import annotations

import asyncio
import re

import msgspec
import pytest

from netvigil.net.backend import AsyncioBackend
from netvigil.probe.nettest import Endpoints
from netvigil.probe.nettest_runner import InputError, NettestConfig, inputs_for, run_nettest
from netvigil.probe.report import Location
from netvigil.records import Measurement
from tests.probe.knock import Knock
from tests.probe.world import free_port

HERE = Location(probe_cc="IT", probe_asn="AS30722", probe_network_name="Vodafone Italia")


async def _listening() -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


def _run(knock: Knock, inputs: list[str], config: NettestConfig) -> tuple[list[Measurement], int]:
    got: list[Measurement] = []

    async def main() -> tuple[int, str]:
        server = await _listening()
        port = server.sockets[0].getsockname()[1]
        async with server:
            wanted = Endpoints.parse([f"knock=127.0.0.1:{port}", f"knock=127.0.0.1:{free_port()}"])
            done = await run_nettest(
                knock,
                inputs,
                AsyncioBackend(),
                msgspec.structs.replace(config, endpoints=wanted),
                got.append,
            )
            return port, done.report_id

    port, report = asyncio.run(main())
    assert {m.report_id for m in got} == {report}  # the summary names the run's one report
    return got, port


def test_a_nettest_without_input_is_one_measurement_in_ooni_s_envelope() -> None:
    (measurement,), port = _run(Knock(), [], NettestConfig(location=HERE))
    assert (measurement.test_name, measurement.test_version) == ("knock_test", "0.1.0")
    assert (measurement.probe_cc, measurement.probe_asn) == ("IT", "AS30722")
    assert measurement.probe_ip == "127.0.0.1" and measurement.input is None
    # OONI's report id: stamp, the test name without underscores, cc, asn, n1, a nonce.
    assert re.fullmatch(
        r"[0-9]{8}T[0-9]{6}Z_knocktest_IT_30722_n1_[A-Za-z0-9_-]{16}", measurement.report_id or ""
    ), measurement.report_id
    keys = measurement.test_keys_object()
    # One connect answered, one refused (nothing listens on the free port): both recorded.
    assert [(c["port"], c["status"]["success"]) for c in keys["tcp_connect"]] == [
        (port, True),
        (keys["tcp_connect"][1]["port"], False),
    ]
    assert keys["tcp_connect"][1]["status"]["failure"] == "connection_refused"


def test_each_input_is_a_measurement_and_at_most_parallelism_run_at_once() -> None:
    knock = Knock(input="required")
    inputs = [f"item-{n}" for n in range(7)]
    got, _ = _run(knock, inputs, NettestConfig(parallelism=3))
    assert sorted(m.input for m in got) == inputs  # type: ignore[type-var]
    assert len({m.report_id for m in got}) == 1  # one report for the run
    assert knock.most == 3


def test_max_runtime_keeps_what_completed_and_counts_what_did_not() -> None:
    knock = Knock(input="optional")
    got: list[Measurement] = []

    async def main() -> tuple[int, int, bool]:
        done = await run_nettest(
            knock,
            ["a", "hang", "b"],
            AsyncioBackend(),
            NettestConfig(
                max_runtime=0.5, endpoints=Endpoints.parse([f"knock=127.0.0.1:{free_port()}"])
            ),
            got.append,
        )
        return done.measured, done.skipped, done.timed_out

    assert asyncio.run(main()) == (2, 1, True)
    assert sorted(m.input for m in got) == ["a", "b"]  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("kind", "inputs", "wanted"),
    [
        ("none", [], [None]),
        ("optional", [], [None]),
        ("optional", ["x", "y"], ["x", "y"]),
        ("required", ["x"], ["x"]),
    ],
)
def test_what_a_nettest_measures_follows_its_input_kind(
    kind: str, inputs: list[str], wanted: list[str | None]
) -> None:
    assert inputs_for(Knock(input=kind), inputs) == wanted  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "inputs", "message"),
    [
        ("none", ["x"], r"knock_test takes no input \(got 'x'\)"),
        ("required", [], r"knock_test needs at least one input \(--input\)"),
    ],
)
def test_inputs_that_do_not_fit_are_refused(kind: str, inputs: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        inputs_for(Knock(input=kind), inputs)  # type: ignore[arg-type]
