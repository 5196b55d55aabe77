"""`torsf`'s working variant: our probe's tor bootstraps to 100 % through a Snowflake path.

All of it in a network namespace this test creates (`unshare -rn`): a private Tor network
(tornet.py), a STUN server (resolver_lab.py), our broker (snowflake_broker.py), a Snowflake
server forwarding to the first authority-relay's ORPort and a Snowflake proxy (the Go
fixtures snowflake_lab.py builds from Debian's golang-snowflake-dev), and our probe's
`torsf`, whose tor runs Debian's `snowflake-client`: tor → SOCKS → client → broker (offer,
answer) → WebRTC data channel → proxy → WebSocket → server → KCP/smux → the bridge's ORPort.
Before anything starts, the namespace is checked to hold only `lo` and the test's own veth
pair (WebRTC needs a non-loopback address: snowflake_lab.py) with no route out. The blocked
variant, a broker that is not there, is tests/probe/test_tor.py's.
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
from urllib.parse import urlsplit

import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Layer, Outcome
from netvigil.net.backend import AsyncioBackend
from netvigil.probe.nettest import Context, Endpoints
from netvigil.probe.recording import Trace
from netvigil.probe.tor_bootstrap import TorSnowflake
from netvigil.records import decode_measurement
from tests.probe import snowflake_lab as lab
from tests.probe.keyset import missing_or_different
from tests.probe.resolver_lab import stun_server
from tests.probe.snowflake_broker import Broker
from tests.probe.test_tor import OTHER, ROOT, _envelope, _loopback_up
from tests.probe.tornet import tor_network

MISSING = lab.missing() + [t for t in ("tor", "tor-gencert", "unshare") if not shutil.which(t)]
SERVER = "127.0.0.1:8100"  # the namespace is new: nothing else listens there


def _hosts(given: list[str]) -> set[str]:
    """The hosts of the endpoints that name one: dirauth=HOST:PORT, broker=URL, ice=stun:H:P."""
    hosts: set[str] = set()
    for item in given:
        key, value = item.split("=", 1)
        if key == "dirauth":
            hosts.add(value.rsplit(":", 1)[0])
        elif key == "broker":
            hosts.add(urlsplit(value).hostname or value)
        elif key == "ice":
            hosts.update(server.split(":")[1] for server in value.split(","))
    return hosts


async def _await_listener(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    host, port = address.rsplit(":", 1)
    for _ in range(100):  # 100 tries, 0.1 s apart
        if process.poll() is not None:
            raise lab.LabFailed(f"the Snowflake server stopped: {log.read_text()[-1500:]}")
        with socket.socket() as probe:
            if probe.connect_ex((host, int(port))) == 0:
                return
        await asyncio.sleep(0.1)
    raise lab.LabFailed(f"the Snowflake server never listened on {address}")


async def _torsf(root: Path, binaries: dict[str, Path], tornet: list[str]) -> dict[str, Any]:
    bridge = next(x for x in tornet if x.startswith("dirauth=")).split("=", 1)[1]
    bridge_id = next(x for x in tornet if x.startswith("dirauth_id=")).split("=")[1][:40]
    processes = []
    broker = Broker(relay=f"ws://{SERVER}/")
    try:
        server_log = root / "server.log"
        processes.append(
            lab.start([str(binaries["server"]), "-listen", SERVER, "-orport", bridge], server_log)
        )
        await _await_listener(SERVER, processes[0], server_log)
        url = f"http://127.0.0.1:{await broker.start()}/"
        async with stun_server() as stun:
            ice = f"stun:127.0.0.1:{stun.port}"
            proxy = [str(binaries["proxy"]), "-broker", url, "-relay", f"ws://{SERVER}/"]
            proxy += ["-probe", f"{url}probe", "-stun", ice]
            proxy += ["-allowed-relay-hostname-pattern", "^127.0.0.1$"]
            processes.append(lab.start(proxy, root / "proxy.log"))
            given = [*tornet, f"broker={url}", "front=none", f"ice={ice}"]
            given.append(f"bridge_id={bridge_id}")  # the bridge: the first authority-relay
            ctx = Context(AsyncioBackend(), Trace(), Endpoints.parse(given))
            keys = await TorSnowflake(300).measure(None, ctx)
            stun_requests = stun.requests
    finally:
        broker.close()
        lab.stop(processes)
    return {
        "keys": keys,
        "broker": dict(broker.counts),
        "stun_requests": stun_requests,
        "reaped": [p.returncode is not None for p in processes],
        "logs": {n: (root / f"{n}.log").read_text()[-3000:] for n in ("server", "proxy")},
        "given": given,
    }


def child(folder: str) -> None:
    """In the namespace (python -c, from the test below): loopback up, the fixtures built,
    the Tor network up, the veth pair added and the interfaces checked, then our probe's
    torsf through the Snowflake path. One JSON line on stdout."""
    root = Path(folder)
    _loopback_up()
    binaries = lab.build(root / "build")
    # tor_network refuses to start where any interface but `lo` exists: the veth pair comes
    # after it, and only the Snowflake path's processes and our probe's tor start after that
    with tor_network(root / "tornet", deadline=150) as net:
        interfaces = lab.add_veth()
        assert interfaces == ["lo", *sorted(lab.VETH)], f"the namespace has {interfaces}"
        found = asyncio.run(_torsf(root, binaries, net.endpoints))
    found["reaped"] += [p.returncode is not None for p in net.processes]
    found["interfaces"] = interfaces
    found["measurement"] = _envelope(TorSnowflake.name, TorSnowflake.version, found.pop("keys"))
    print(json.dumps(found))


def _run_in_namespace(tmp_path: Path) -> dict[str, Any]:
    code = f"import tests.probe.test_torsf as t; t.child({str(tmp_path)!r})"
    with subprocess.Popen(
        ["unshare", "-rn", sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            # builds (≤ 300 s each, ~20 s both) + consensus (≤ 150 s) + torsf (300 s)
            out, err = child.communicate(timeout=1200)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            out, err = child.communicate(timeout=30)
            pytest.fail(f"the namespace's run overran its deadline: {err[-3000:]}")
    assert child.returncode == 0, err[-3000:]
    found: dict[str, Any] = json.loads(out.splitlines()[-1])
    return found


@pytest.mark.skipif(bool(MISSING), reason=f"needs {MISSING} (scripts/system-packages.txt)")
def test_torsf_bootstraps_through_a_snowflake_proxy_on_the_namespace_s_own_addresses(
    tmp_path: Path,
) -> None:
    found = _run_in_namespace(tmp_path)
    assert found["interfaces"] == ["lo", "sfc", "sfp"]  # nothing but lo and the test's veth
    assert all(found["reaped"]), found["reaped"]  # server, proxy and three authorities
    # every target our probe was given is on loopback (the dirauths, the broker, STUN)
    assert _hosts(found["given"]) == {"127.0.0.1"}, found["given"]
    ours = found["measurement"]
    keys = ours["test_keys"]
    # tor's own values for a bootstrap that ended, as in OONI's successful vanilla_tor (the
    # same tor log reading, probe-cli torlogs.go); the corpus has no successful torsf
    theirs = json.loads((OTHER / "vanilla_tor_ok.json").read_bytes())["test_keys"]
    tor_keys = ("success", "failure", "error", "tor_progress", "tor_progress_tag")
    assert {k: keys[k] for k in tor_keys} == {k: theirs[k] for k in tor_keys}
    assert (keys["transport_name"], keys["rendezvous_method"]) == ("snowflake", "domain_fronting")
    logs = keys["tor_logs"]
    assert logs[-1].endswith("[notice] Bootstrapped 100% (done): Done"), logs
    # tor reached its bridge through the pluggable transport (tor's phases 1 and 2) ...
    assert any("Bootstrapped 2% (conn_done_pt)" in line for line in logs), logs
    # ... and that is the Snowflake path: the broker paired the client's offer with the
    # proxy, which relayed to our server, which opened a stream to the bridge's ORPort
    broker = found["broker"]
    assert broker["/client"] >= 1 and broker["matched"] >= 1, broker
    assert broker["answered"] >= 1 and broker["/answer"] >= broker["answered"], broker
    assert "connected to relay: ws://127.0.0.1:8100/" in found["logs"]["proxy"]
    assert "Connection successful." in found["logs"]["proxy"]  # the WebRTC data channel
    assert "stream " in found["logs"]["server"], found["logs"]["server"]
    assert found["stun_requests"] >= 1  # ICE asked the namespace's STUN server, no other
    # OONI's torsf keys, but `error`: a string in this failed run, null on success (as in
    # vanilla_tor_ok.json above, probe-cli's shared `Error *string`)
    theirs = json.loads((OTHER / "torsf_383.json").read_bytes())["test_keys"]
    problems = missing_or_different({k: v for k, v in theirs.items() if k != "error"}, keys)
    assert not problems, "\n".join(problems)
    verdict = analyze(decode_measurement(json.dumps(ours).encode()), FingerprintDB([], []))
    assert (verdict.outcome, verdict.rule) == (Outcome.OK, "torsf.bootstrapped")
    (tunnel,) = verdict.layers
    assert (tunnel.layer, tunnel.outcome, tunnel.technique) == (
        Layer.TUNNEL,
        Outcome.OK,
        "snowflake.bootstrapped",
    )
    witnesses = [(w.ref, w.observed) for w in tunnel.witnesses]
    assert witnesses == [(f"test_keys.tor_logs[{len(logs) - 1}]", logs[-1])]
