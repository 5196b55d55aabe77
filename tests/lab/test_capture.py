"""The SNI-RST scenario seen twice: by tcpdump on the client's veth and by the probe.

Issue 14: a packet capture of `tls-sni-reset` shows the RST from the censor, and the
measurement agrees with it. The lab is real (namespaces, the world's servers in `server`,
the censor's iptables rule in `censor`), the probe is the real one (`netvigil probe run`,
lab/scenario_probe.py) and the capture is tcpdump in `client` (lab/capture.py), read back
with lab/pcap.py. Traffic stays inside the namespaces: only the lab's 10.77.x addresses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netvigil.lab.capture import capturing, capturing_client, read_capture
from netvigil.lab.censor import censor_plan
from netvigil.lab.censor_apply import Censor
from netvigil.lab.lab_geoip import write_geoip
from netvigil.lab.netns import Lab, LabError
from netvigil.lab.pcap import Packet
from netvigil.lab.rules import TLSSNIBlock
from netvigil.lab.scenario_probe import CLIENT_ADDRESS, probe_run_argv
from netvigil.lab.scenario_records import Table
from netvigil.lab.scenarios import load_table
from tests.lab.namespaces import in_namespace, start_world_servers

pytestmark = pytest.mark.lab

SCENARIO = "tls-sni-reset"


@pytest.fixture
def world(running: Lab, tmp_path: Path) -> tuple[Lab, Path]:
    """The lab's servers in `server` (cli/lab_serve.py); the lab and the world's CA file."""
    _, ready = start_world_servers(running, tmp_path / "world")
    return running, Path(ready["ca_file"])  # the lab's teardown stops the servers


def _measure(lab: Lab, table: Table, ca: Path, folder: Path) -> dict[str, Any]:
    """The scenario's rules applied, the probe run once in `client`; its measurement."""
    scenario = next(s for s in table.scenarios if s.name == SCENARIO)
    sites = {name: site.address for name, site in table.sites.items() if site.address}
    censor = Censor(lab, folder / "censor")
    plan = censor_plan(
        scenario.rules, lab.plan, sites, site_ca=str(ca), folder=str(folder / "censor")
    )
    censor.apply(plan)
    geoip = write_geoip(table, scenario.probe_cc, folder / "geoip.mmdb")
    argv = probe_run_argv(table, scenario, ca_file=ca, data_dir=folder / "probe", geoip_db=geoip)
    probe = lab.start(lab.plan.client, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, errs = probe.communicate(timeout=300)
    censor.remove()
    assert probe.returncode == 0, errs.decode()[-2000:]
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    measurements = [line["measurement"] for line in lines if "measurement" in line]
    assert len(measurements) == 1, out.decode()[-2000:]
    measurement: dict[str, Any] = measurements[0]
    return measurement


def _flow(packets: tuple[Packet, ...], address: str, port: int) -> list[Packet]:
    """The packets of the first TCP connection from the client to address:port, both ways."""
    syn = next(
        p for p in packets if p.dst == address and p.dport == port and p.flags == "S"
    )  # the probe's SYN opens the flow
    client_port = syn.sport

    def ours(p: Packet) -> bool:
        return (p.src, p.sport, p.dst, p.dport) in (
            (CLIENT_ADDRESS, client_port, address, port),
            (address, port, CLIENT_ADDRESS, client_port),
        )

    return [p for p in packets if p.proto == "tcp" and ours(p)]


def test_the_capture_of_the_sni_reset_agrees_with_the_measurement(
    world: tuple[Lab, Path], tmp_path: Path
) -> None:
    lab, ca = world
    table = load_table()
    scenario = next(s for s in table.scenarios if s.name == SCENARIO)
    (rule,) = scenario.rules
    assert isinstance(rule, TLSSNIBlock) and rule.action == "reset"
    sni = rule.sni
    site = table.sites[sni].address
    assert site is not None
    pcap = tmp_path / "capture" / f"{SCENARIO}.pcap"
    with capturing_client(lab, pcap) as capture:
        measurement = _measure(lab, table, ca, tmp_path)
    assert capture.stats is not None
    assert capture.stats.captured == capture.stats.received  # nothing lost on the way

    # The capture: handshake, ClientHello with the SNI, then the censor's RST (forged with
    # the site's address) before any byte of TLS from the server.
    packets = read_capture(pcap).packets
    flow = _flow(packets, site, 443)
    to_server = [p for p in flow if p.dst == site]
    from_server = [p for p in flow if p.src == site]
    assert [p.flags for p in flow[:3]] == ["S", "SA", "A"]
    hello_at = next(i for i, p in enumerate(flow) if p.client_hello)
    hello = flow[hello_at]
    assert hello.src == CLIENT_ADDRESS and hello.sni == sni
    first_reset = next(i for i, p in enumerate(flow) if p.src == site and p.has("R"))
    # The very next packet of the flow: the censor drops the hello and answers it at once.
    assert first_reset == hello_at + 1
    # In the window the client expects (the sequence number it acknowledged), so its kernel
    # takes the forged RST as the server's.
    assert flow[first_reset].seq == hello.ack
    # No byte from the server side ever: the site never got the hello, so no ServerHello.
    assert not [p for p in from_server if p.payload_len]
    assert [p for p in to_server if p.client_hello] == [hello]  # no retry on this connection

    # The measurement: the same endpoint connected, its handshake reset.
    keys = measurement["test_keys"]
    connects = [c for c in keys["tcp_connect"] if (c["ip"], c["port"]) == (site, 443)]
    assert connects and connects[0]["status"]["success"] is True
    (handshake,) = [h for h in keys["tls_handshakes"] if h["address"] == f"{site}:443"]
    assert handshake["server_name"] == sni
    assert handshake["failure"] == "connection_reset"

    # The probe's own address is scrubbed from what it reports, yet it is on the wire.
    assert CLIENT_ADDRESS not in json.dumps(measurement)
    assert any(p.src == CLIENT_ADDRESS for p in packets)
    # The measurement's network events agree with the wire: the connect, the hello written
    # in one write of the size the capture shows, then the read that met the censor's RST.
    events = [e for e in keys["network_events"] if e["address"] == f"{site}:443"]
    assert {e["transaction_id"] for e in events} == {handshake["transaction_id"]}
    assert [(e["operation"], e["failure"]) for e in events] == [
        ("connect", None),
        ("tls_handshake_start", None),
        ("write", None),
        ("read", "connection_reset"),
        ("tls_handshake_done", "connection_reset"),
    ]
    assert events[2]["num_bytes"] == hello.payload_len


def test_a_capture_of_an_interface_the_namespace_lacks_is_one_line(
    running: Lab, tmp_path: Path
) -> None:
    with (
        pytest.raises(LabError, match=r"^tcpdump -i nv-none in nvlab-\S+-client: .+$"),
        capturing(running, running.plan.client, "nv-none", tmp_path / "x.pcap"),
    ):
        pass


SEND = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(2):
    s.sendto(b"marker %d" % n, ("10.77.1.1", 9))
"""


def test_a_block_that_raises_still_ends_tcpdump_and_leaves_a_readable_file(
    running: Lab, tmp_path: Path
) -> None:
    path = tmp_path / "cut.pcap"
    client = running.plan.client

    def send_then_fail() -> None:
        with capturing_client(running, path) as capture:
            in_namespace(client, sys.executable, "-c", SEND)
            raise RuntimeError(f"the block failed; {capture.path.name} is still written")

    with pytest.raises(RuntimeError, match="the block failed"):
        send_then_fail()
    pids = subprocess.run(["ip", "netns", "pids", client], capture_output=True, text=True)
    assert pids.stdout.split() == []  # tcpdump is gone: nothing runs in `client`
    sent = [p for p in read_capture(path).packets if p.proto == "udp" and p.dport == 9]
    assert [(p.src, p.dst, p.payload_len) for p in sent] == [(CLIENT_ADDRESS, "10.77.1.1", 8)] * 2
