"""`vanilla_tor`'s working variant: our probe's tor bootstraps to 100 % on a private network.

A network namespace this test creates (`unshare -rn`: nothing but its own loopback) holds a
private Tor network (tests/probe/tornet.py: three authorities that are also relays) and our
probe's `vanilla_tor` with `dirauth=HOST:PORT` and `dirauth_id=FINGERPRINT:V3IDENT` endpoints.
The namespace is checked to have no interface but `lo` before any tor starts, so no tor process
can reach anything but this machine's loopback. The blocked variant here is an impersonated
authority (tor stalls at its link handshake); tests/probe/test_tor.py's stall at 5, 10, 14 %.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Layer, Outcome
from netvigil.net.backend import AsyncioBackend
from netvigil.probe.nettest import Context, EndpointError, Endpoints
from netvigil.probe.recording import Trace
from netvigil.probe.tor_bootstrap import VanillaTor
from netvigil.probe.torrc import torrc
from netvigil.records import decode_measurement
from tests.probe.keyset import missing_or_different
from tests.probe.test_tor import OTHER, ROOT, _envelope, _loopback_up
from tests.probe.tornet import tor_network

MISSING = [tool for tool in ("tor", "tor-gencert", "unshare") if shutil.which(tool) is None]


def child(folder: str) -> None:
    """In the namespace (python -c, from the test below): loopback up, only `lo` checked,
    the network up, then our probe's vanilla_tor against it, twice at once: with the
    authorities' identities, and with each one's identity given to the next (whoever answers
    at each address is not the relay the client expects: an impersonated authority). One
    JSON line on stdout."""
    _loopback_up()
    interfaces = [name for _, name in socket.if_nameindex()]
    assert interfaces == ["lo"], f"the namespace has {interfaces}: no tor is started"
    with tor_network(Path(folder), deadline=150) as net:
        addresses = [x for x in net.endpoints if x.startswith("dirauth=")]
        ids = [x for x in net.endpoints if x.startswith("dirauth_id=")]
        keys = asyncio.run(_both(net.endpoints, addresses + ids[1:] + ids[:1]))
    reaped = [p.returncode is not None for p in net.processes]
    docs = [_envelope(VanillaTor.name, VanillaTor.version, k) for k in keys]
    print(json.dumps({"interfaces": interfaces, "reaped": reaped, "measurements": docs}))


async def _both(right: list[str], wrong: list[str]) -> list[Any]:
    def ctx(items: list[str]) -> Context:
        return Context(AsyncioBackend(), Trace(), Endpoints.parse(items))

    # 45 s for the impersonated run, a generous bound: on loopback it stalls within seconds
    runs = VanillaTor().measure(None, ctx(right)), VanillaTor(45).measure(None, ctx(wrong))
    return list(await asyncio.gather(*runs))


def _run_in_namespace(tmp_path: Path) -> dict[str, Any]:
    """The child in its own session: should it overrun its deadline, the whole group (its
    tor processes too, which a killed child could not stop) is killed and reaped."""
    code = f"import tests.probe.test_tornet as t; t.child({str(tmp_path)!r})"
    with subprocess.Popen(
        ["unshare", "-rn", sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            # consensus (≤ 150 s) + tor's bootstrap (≤ 200 s, VanillaTor's), generously
            out, err = child.communicate(timeout=420)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            out, err = child.communicate(timeout=30)
            pytest.fail(f"the namespace's run overran its deadline: {err[-3000:]}")
    assert child.returncode == 0, err[-3000:]
    found: dict[str, Any] = json.loads(out.splitlines()[-1])
    return found


@pytest.mark.skipif(bool(MISSING), reason=f"needs {MISSING} (scripts/system-packages.txt)")
def test_vanilla_tor_bootstraps_on_a_private_network_and_stalls_when_impersonated(
    tmp_path: Path,
) -> None:
    found = _run_in_namespace(tmp_path)
    assert found["interfaces"] == ["lo"]
    assert found["reaped"] == [True, True, True]  # every authority stopped and reaped
    ours, impersonated = found["measurements"]
    keys = ours["test_keys"]
    # OONI's own successful run (the corpus's vanilla_tor_ok.json) has these values
    theirs = json.loads((OTHER / "vanilla_tor_ok.json").read_bytes())
    expected = {
        k: theirs["test_keys"][k]
        for k in ("success", "failure", "error", "tor_progress", "tor_progress_tag")
    }
    expected |= {"tor_progress_summary": theirs["test_keys"]["tor_progress_summary"]}
    expected |= {"transport_name": theirs["test_keys"]["transport_name"]}
    got = {k: keys[k] for k in expected}
    assert got == expected
    logs = keys["tor_logs"]
    assert logs[-1].endswith("[notice] Bootstrapped 100% (done): Done"), logs
    assert logs[0].endswith("[notice] Bootstrapped 0% (starting): Starting"), logs
    # the key-set and type check Web Connectivity passes, against OONI's measurement
    envelope = {k: v for k, v in theirs.items() if k != "test_keys"}
    problems = missing_or_different(envelope, ours)
    problems += missing_or_different(theirs["test_keys"], keys, "test_keys")
    assert not problems, "\n".join(problems)
    # our verdict, as the pipeline's analysis gives it
    verdict = analyze(decode_measurement(json.dumps(ours).encode()), FingerprintDB([], []))
    assert (verdict.outcome, verdict.rule) == (Outcome.OK, "vanilla_tor.bootstrapped")
    (tunnel,) = verdict.layers
    assert (tunnel.layer, tunnel.outcome, tunnel.technique) == (
        Layer.TUNNEL,
        Outcome.OK,
        "Bootstrapped 100%",
    )
    witnesses = [(w.ref, w.observed) for w in tunnel.witnesses]
    # the probe stops at tor's 100 % notice: the last line of its log is the witness
    assert witnesses == [(f"test_keys.tor_logs[{len(logs) - 1}]", logs[-1])]

    # impersonated: tor checks the relay's identity in the link handshake (tor's bootstrap
    # phases: 14 "handshake" starts it, 15 "handshake_done" would follow a good one)
    bad = impersonated["test_keys"]
    assert (bad["tor_progress"], bad["tor_progress_tag"], bad["failure"]) == (
        14,
        "handshake",
        "generic_timeout_error",
    )
    stalled = analyze(decode_measurement(json.dumps(impersonated).encode()), FingerprintDB([], []))
    assert (stalled.outcome, stalled.rule, stalled.layer) == (
        Outcome.BLOCKED,
        "vanilla_tor.stalled_at_handshake",
        Layer.TUNNEL,
    )


def test_dirauth_id_names_each_authority_s_identities_in_order(tmp_path: Path) -> None:
    fp, v3 = "ab" * 20, "CD" * 20
    given = ["dirauth=127.0.0.1:5100", "dirauth=127.0.0.1:5101", f"dirauth_id={fp}:{v3}"]
    given.append(f"dirauth_id={v3}:{fp}")
    lines = torrc(tmp_path, Endpoints.parse(given), None).splitlines()
    authorities = [line for line in lines if line.startswith("DirAuthority")]
    assert authorities == [
        f"DirAuthority lab0 orport=5100 no-v2 v3ident={v3} 127.0.0.1:5100 {fp.upper()}",
        f"DirAuthority lab1 orport=5101 no-v2 v3ident={fp.upper()} 127.0.0.1:5101 {v3}",
    ]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["dirauth=127.0.0.1:1", "dirauth_id=" + "a" * 40], "not FINGERPRINT:V3IDENT per"),
        (["dirauth=127.0.0.1:1", f"dirauth_id={'a' * 40}:{'g' * 40}"], "not FINGERPRINT"),
        ([f"dirauth_id={'a' * 40}:{'b' * 40}"], "V3IDENT per dirauth"),  # no dirauth
    ],
)
def test_a_dirauth_id_that_does_not_fit_is_refused(
    tmp_path: Path, items: list[str], message: str
) -> None:
    with pytest.raises(EndpointError, match=message):
        torrc(tmp_path, Endpoints.parse(items), None)
