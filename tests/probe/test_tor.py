"""The tor nettests measured against loopback only, and their keys against OONI's.

`tor`: real servers on 127.0.0.1 — an HTTP server serving a consensus file (dir_port), a TLS
server with the lab CA (or_port_dirauth), one that resets, one that never answers, and a
private bridge on 127.0.0.2 whose address must appear nowhere. `vanilla_tor` / `torsf`: the
real `tor` binary in a network namespace this test creates (`unshare -rn`: nothing but its
own loopback exists there), configured with 127.0.0.1 authorities only, no fallback
directories and no bridges: the blocked variants. The working one, a bootstrap to 100 %, needs
a whole tor network (authorities voting a consensus, relays): tests/probe/test_tornet.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import socket
import ssl
import struct
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Layer, Outcome
from netvigil.lab.ca import TestCA
from netvigil.net.backend import AsyncioBackend
from netvigil.probe.nettest import Context, EndpointError, Endpoints, Settings
from netvigil.probe.recording import Trace
from netvigil.probe.report import Location, nettest_envelope, report_id
from netvigil.probe.tor import Tor, targets
from netvigil.probe.tor_bootstrap import ToolMissing, TorSnowflake, VanillaTor
from netvigil.probe.torrc import ICE, torrc
from netvigil.records import Record, decode_measurement
from tests.corpus import CORPUS
from tests.probe.keyset import missing_or_different

OTHER = CORPUS / "ooni-measurements" / "ooni-backend-fastpath-other"
ROOT = Path(__file__).resolve().parents[2]
CONSENSUS = b"x\x9c" + bytes(range(256)) * 4  # zlib-looking bytes, like consensus.z: binary
NO_FINGERPRINTS = FingerprintDB([], [])
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _dir_port(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    writer.write(head + b"Content-Length: %d\r\n\r\n" % len(CONSENSUS) + CONSENSUS)
    await writer.drain()
    writer.close()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()  # an RST, not a FIN


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # take the ClientHello and never answer (black-holed) until the probe
    writer.close()  # gives up and closes


async def _hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1 << 16)
    writer.close()


def _lab_tls(folder: Path) -> ssl.SSLContext:
    issued = TestCA(folder, now=dt.datetime.now(dt.UTC)).issue("127.0.0.1", "127.0.0.2")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_file, issued.key_file)
    return context


async def _measure_tor(servers: dict[str, tuple[Handler, ssl.SSLContext | None, str]]) -> Any:
    started, items = [], []
    try:
        for key, (handler, tls, host) in servers.items():
            server = await asyncio.start_server(handler, host, 0, ssl=tls)
            started.append(server)
            items.append(f"{key.split('#')[0]}={host}:{server.sockets[0].getsockname()[1]}")
        settings = Settings(connect_timeout=2, tls_timeout=1, http_timeout=2)
        ctx = Context(AsyncioBackend(), Trace(), Endpoints.parse(items), settings)
        assert {t.host for t in targets(ctx)} <= {"127.0.0.1", "127.0.0.2"}  # loopback only
        return await Tor().measure(None, ctx)
    finally:
        for server in started:
            server.close()


def _envelope(name: str, version: str, keys: Record) -> dict[str, Any]:
    start = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
    location = Location(probe_cc="IT", probe_asn="AS30722", probe_network_name="lab")
    measurement = nettest_envelope(
        name,
        version,
        None,
        keys,
        location=location,
        report=report_id(start, location, name),
        started=start,
        test_started=start,
        runtime=1.0,
    )
    data: dict[str, Any] = json.loads(msgspec.json.encode(measurement))
    return data


def _verdict(doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    return analyze(decode_measurement(json.dumps(doc).encode()), NO_FINGERPRINTS)


def test_tor_reached_targets_are_ok_and_a_private_bridge_never_shows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tls = _lab_tls(tmp_path)
    caplog.set_level("INFO", logger="netvigil.probe.tor")
    keys = asyncio.run(
        _measure_tor(
            {
                "dir_port": (_dir_port, None, "127.0.0.1"),
                "or_port_dirauth": (_hold, tls, "127.0.0.1"),
                "bridge": (_hold, tls, "127.0.0.2"),
            }
        )
    )
    doc = _envelope("tor", Tor.version, keys)
    tk = doc["test_keys"]
    assert (tk["dir_port_total"], tk["dir_port_accessible"]) == (1, 1)
    assert (tk["or_port_dirauth_total"], tk["or_port_dirauth_accessible"]) == (1, 1)
    assert (tk["or_port_total"], tk["or_port_accessible"]) == (1, 1)  # the private bridge
    text = json.dumps(doc)
    assert "127.0.0.2" not in text and "127.0.0.2" not in caplog.text
    bridge = next(t for t in tk["targets"].values() if t["target_source"] == "user")
    assert bridge["target_address"] == "[scrubbed]"
    assert bridge["tcp_connect"][0]["ip"] == "[scrubbed]"
    assert "tor: [scrubbed]/or_port: success" in caplog.text
    dir_port = next(t for t in tk["targets"].values() if t["target_protocol"] == "dir_port")
    response = dir_port["requests"][0]["response"]
    assert (response["code"], response["body_is_truncated"]) == (200, True)  # 256-byte snapshot
    got = _verdict(doc)
    assert (got.outcome, got.rule) == (Outcome.OK, "tor.kind_reached")


def test_tor_reset_and_black_holed_targets_are_blocked() -> None:
    keys = asyncio.run(
        _measure_tor(
            {
                "dir_port": (_reset, None, "127.0.0.1"),
                "or_port_dirauth": (_silent, None, "127.0.0.1"),  # TCP only: no TLS answers
            }
        )
    )
    doc = _envelope("tor", Tor.version, keys)
    failures = sorted(t["failure"] for t in doc["test_keys"]["targets"].values())
    assert failures == ["connection_reset", "generic_timeout_error"]
    got = _verdict(doc)
    # both kinds failed whole; the earliest layer in connection order is the TLS handshake's
    assert (got.outcome, got.rule, got.layer) == (Outcome.BLOCKED, "tor.kind_all_failed", Layer.TLS)
    by_layer = {v.layer: v.technique for v in got.layers}
    assert by_layer == {
        Layer.HTTP: "every dir_port target failed (1/1; 1: connection_reset)",
        Layer.TLS: "every or_port_dirauth target failed (1/1; 1: generic_timeout_error)",
    }


def test_tor_keys_match_oonis(tmp_path: Path) -> None:
    tls = _lab_tls(tmp_path)
    keys = asyncio.run(
        _measure_tor(
            {"dir_port": (_dir_port, None, "127.0.0.1"), "or_port": (_hold, tls, "127.0.0.1")}
        )
    )
    ours = _envelope("tor", Tor.version, keys)
    theirs = json.loads((OTHER / "tor.json").read_bytes())
    by_kind = {t["target_protocol"]: t for t in ours["test_keys"]["targets"].values()}
    problems = missing_or_different({k: v for k, v in theirs.items() if k != "test_keys"}, ours)
    for target in theirs["test_keys"]["targets"].values():
        kind = target["target_protocol"]
        if kind in by_kind:  # obfs4 is not measured by our probe
            problems += missing_or_different(target, by_kind[kind], f"targets.{kind}")
    # ts-023's example (ooni/spec nettests/ts-023-tor.md, 2022-06-13-001): the counts and a
    # target's summary, which the 2020 corpus file predates
    spec = {
        f"{k}_{n}": 0
        for k in ("dir_port", "obfs4", "or_port_dirauth", "or_port")
        for n in ("total", "accessible")
    }
    problems += missing_or_different(spec, ours["test_keys"], "test_keys")
    summary = {"connect": {"failure": None}, "handshake": {"failure": None}}
    problems += missing_or_different({"summary": summary}, by_kind["or_port"], "or_port")
    assert not problems, "\n".join(problems)


def test_a_missing_tor_binary_is_a_one_line_error() -> None:
    ctx = Context(AsyncioBackend(), Trace(), settings=Settings(tor_binary="/nonexistent/tor"))
    with pytest.raises(ToolMissing) as caught:
        asyncio.run(VanillaTor(timeout=1).measure(None, ctx))
    message = str(caught.value)
    assert "\n" not in message
    assert message == "tor: no `/nonexistent/tor` binary found; install it: apt install tor"


# --- tor itself, in a network namespace ------------------------------------------------

TOR = shutil.which("tor")


def _namespace() -> list[str]:
    """`unshare -rn` when this machine lets us make a network namespace, else nothing (the
    torrc alone then keeps tor on loopback: 127.0.0.1 authorities, no fallbacks, no bridges)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10, check=False)
    return [unshare, "-rn"] if probe.returncode == 0 else []


def _loopback_up() -> None:
    """A new network namespace's loopback is down: bring it up (SIOCGIFFLAGS/SIOCSIFFLAGS)."""
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, 0x8913, request)[:18])[1]
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH", b"lo", flags | 1))


async def _bootstraps(folder: Path) -> dict[str, Any]:
    """In the namespace: vanilla_tor against nothing, a reset and a TLS server; torsf against
    a broker that is not there. All at once, each with a 12 s deadline."""
    tls = _lab_tls(folder)
    servers = [await asyncio.start_server(_reset, "127.0.0.1", 0)]
    servers.append(await asyncio.start_server(_hold, "127.0.0.1", 0, ssl=tls))
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    nothing = free.getsockname()[1]
    free.close()  # a port where nothing listens
    ports = {"nothing": nothing, "reset": servers[0].sockets[0].getsockname()[1]}
    ports["tls"] = servers[1].sockets[0].getsockname()[1]

    def ctx(*items: str) -> Context:
        return Context(AsyncioBackend(), Trace(), Endpoints.parse(items))

    runs = {
        f"vanilla_tor/{k}": VanillaTor(12).measure(None, ctx(f"dirauth=127.0.0.1:{p}"))
        for k, p in ports.items()
    }
    if shutil.which("snowflake-client"):
        broker = (
            f"broker=http://127.0.0.1:{nothing}/",
            "front=none",
            f"ice=stun:127.0.0.1:{nothing}",
        )
        runs["torsf/nothing"] = TorSnowflake(12).measure(
            None, ctx(f"dirauth=127.0.0.1:{nothing}", *broker)
        )
    results = await asyncio.gather(*runs.values())
    for server in servers:
        server.close()
    return {name: msgspec.to_builtins(keys) for name, keys in zip(runs, results, strict=True)}


def child(folder: str) -> None:
    """Run in the namespace by :func:`test_vanilla_tor_and_torsf_on_loopback` (python -c)."""
    if "--netns" in sys.argv:
        _loopback_up()
    print(json.dumps(asyncio.run(_bootstraps(Path(folder)))))


@pytest.mark.skipif(TOR is None, reason="needs Debian's tor (scripts/system-packages.txt)")
def test_vanilla_tor_and_torsf_on_loopback(tmp_path: Path) -> None:
    prefix = _namespace()
    code = f"import tests.probe.test_tor as t; t.child({str(tmp_path)!r})"
    flags = ["--netns"] if prefix else []
    done = subprocess.run(
        [*prefix, sys.executable, "-c", code, *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    # tor's own phases (its bootstrap status codes): 5 "conn" until a TCP connection to the
    # authority works, 10 "conn_done" once it does (the reset comes after), 14 "handshake"
    # once TLS starts (the lab's TLS server is no relay: the link handshake never ends)
    expected = {
        "vanilla_tor/nothing": (5, "vanilla_tor.stalled_before_relay"),
        "vanilla_tor/reset": (10, "vanilla_tor.stalled_at_handshake"),
        "vanilla_tor/tls": (14, "vanilla_tor.stalled_at_handshake"),
    }
    if "torsf/nothing" in found:
        # tor reaches the local snowflake-client (1, 2, 10%); the broker is not there
        expected["torsf/nothing"] = (10, "torsf.bootstrap_failed")
    wrong = []
    for name, (progress, rule) in expected.items():
        keys = found[name]
        test = name.split("/")[0]
        got = _verdict(_envelope(test, "0.3.0", msgspec.convert(keys, type=_keys_type())))
        seen = (keys["tor_progress"], keys["failure"], got.outcome, got.rule)
        if seen != (progress, "generic_timeout_error", Outcome.BLOCKED, rule):
            wrong.append(f"{name}: {seen}, expected {progress}% blocked by {rule}")
        if not keys["tor_logs"] or "Bootstrapped 0% (starting)" not in keys["tor_logs"][0]:
            wrong.append(f"{name}: logs {keys['tor_logs']}")
    assert not wrong, "\n".join(wrong)
    theirs = json.loads((OTHER / "vanilla_tor.json").read_bytes())["test_keys"]
    problems = missing_or_different(theirs, found["vanilla_tor/nothing"], "vanilla_tor")
    if "torsf/nothing" in found:
        theirs = json.loads((OTHER / "torsf_383.json").read_bytes())["test_keys"]
        problems += missing_or_different(theirs, found["torsf/nothing"], "torsf")
    assert not problems, "\n".join(problems)


def _keys_type() -> type[Record]:
    from netvigil.records.tor import BootstrapKeys

    return BootstrapKeys


def test_the_tests_torrc_keeps_tor_on_loopback(tmp_path: Path) -> None:
    given = Endpoints.parse(["dirauth=127.0.0.1:9001", "broker=http://127.0.0.1:1/", "front=none"])
    lines = torrc(tmp_path, given, "/usr/bin/snowflake-client").splitlines()
    authorities = [line for line in lines if line.startswith("DirAuthority")]
    assert len(authorities) == 1 and " 127.0.0.1:9001 " in authorities[0]
    assert "UseDefaultFallbackDirs 0" in lines and "TestingTorNetwork 1" in lines
    assert not [line for line in lines if line.startswith("FallbackDir")]
    plugin = next(line for line in lines if line.startswith("ClientTransportPlugin"))
    assert plugin.endswith("-url http://127.0.0.1:1/ -ice " + ICE)  # no front domain
    vanilla = torrc(tmp_path, given, None).splitlines()
    assert "UseBridges 0" in vanilla and not [x for x in vanilla if x.startswith("Bridge ")]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("dirauth=tor.example:9001", "tor needs an IP address"),
        ("ice=stun:1.2.3.4:1\nBridge x", "not a plain URL, name or list"),
        ("front=a b", "not a plain URL, name or list"),
    ],
)
def test_a_torrc_value_that_could_inject_a_line_is_refused(
    tmp_path: Path, item: str, message: str
) -> None:
    with pytest.raises(EndpointError, match=message):
        torrc(tmp_path, Endpoints.parse([item]), "/usr/bin/snowflake-client")


def test_targets_given_replace_every_default() -> None:
    # one kind given: tor's real authorities of the other kinds are not measured either
    ctx = Context(AsyncioBackend(), Trace(), Endpoints.parse(["or_port=127.0.0.1:9"]))
    assert [(t.host, t.port, t.protocol) for t in targets(ctx)] == [("127.0.0.1", 9, "or_port")]
    defaults = targets(Context(AsyncioBackend(), Trace()))  # the real probe's: 9 + 9 targets
    assert [t.protocol for t in defaults].count("dir_port") == 9
    assert {t.id for t in defaults if t.name == "moria1"} == {
        "128.31.0.39:9231",
        "128.31.0.39:9201",
    }
