"""The lab's servers in the `server` namespace, reached from `client` through the censor
with no rules applied (it only routes): the resolver, a site over HTTP and HTTPS trusting
the lab's CA, and the test helper answering a real control request.

Traffic stays inside the namespaces each test creates: the only addresses used are the
lab's own 10.77.x, which exist only there (lab/topology.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netvigil.lab.netns import Lab
from netvigil.lab.scenarios import load_table
from tests.lab.namespaces import in_namespace, start_world_servers

pytestmark = pytest.mark.lab

RESOLVE = """
import sys, dns.message, dns.query, dns.rcode
reply = dns.query.udp(dns.message.make_query(sys.argv[1], "A"), "10.77.2.53", timeout=20)
print(dns.rcode.to_text(reply.rcode()), *sorted(r.address for s in reply.answer for r in s))
"""
# Resolve through the lab's resolver, then fetch by name (Host header and SNI), validating
# the certificate against the lab's CA only.
FETCH = """
import http.client, socket, ssl, sys, dns.message, dns.query
scheme, name, ca = sys.argv[1:4]
reply = dns.query.udp(dns.message.make_query(name, "A"), "10.77.2.53", timeout=20)
address = reply.answer[0][0].address
if scheme == "https":
    context = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection(name, 443, context=context, timeout=20)
else:
    conn = http.client.HTTPConnection(name, 80, timeout=20)
def connect(where, *args, **kwargs):  # our address for the name, as a resolver would give
    return socket.create_connection((address, where[1]), *args, **kwargs)
conn._create_connection = connect
conn.request("GET", "/")
response = conn.getresponse()
body = response.read()
print(response.status, address, len(body), body[:200].decode("latin-1"))
"""
CONTROL = """
import json, ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
request = urllib.request.Request(
    "https://10.77.2.22/", data=sys.argv[1].encode(), method="POST",
    headers={"Content-Type": "application/json", "User-Agent": "ooniprobe-lab/0"},
)
with urllib.request.urlopen(request, context=context, timeout=60) as response:
    print(response.read().decode())
"""

# A Binding request from the client; what came back, read with the probe's own parser, and
# the mapped address decoded (XOR with the magic cookie, RFC 5389 §15.2).
STUN = """
import socket, struct, sys
from netvigil.net import stun
tid = stun.new_transaction_id()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s.sendto(stun.binding_request(tid), (sys.argv[1], int(sys.argv[2])))
reply = s.recv(2048)
parsed = stun.parse_response(reply, tid)
raw = reply[stun.HEADER.size + 8 : stun.HEADER.size + 12]
mapped = ".".join(str(a ^ b) for a, b in zip(raw, struct.pack("!I", stun.MAGIC_COOKIE)))
print("success" if parsed.success else "error", parsed.has_mapped_address, mapped)
"""
POST = """
import http.client, sys
conn = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=20)
conn.request("POST", "/", body=b"", headers={"Content-Length": "0"})
print(conn.getresponse().status)
"""
# The relay's DirPort (the consensus, inflated) and its ORPort's certificate subject.
TOR = """
import http.client, socket, ssl, sys, zlib
from cryptography import x509
host, dir_port, or_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = http.client.HTTPConnection(host, dir_port, timeout=20)
conn.request("GET", "/tor/status-vote/current/consensus.z")
response = conn.getresponse()
document = zlib.decompress(response.read()).decode()
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with socket.create_connection((host, or_port), timeout=20) as raw:
    with context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
subject = x509.load_der_x509_certificate(der).subject.rfc4514_string()
print(response.status, document.splitlines()[0], subject, sep="|")
"""
# A TLS client that stops half-way through its ClientHello and waits for the server to go.
HALF_HELLO = """
import socket, sys
s = socket.create_connection(("10.77.2.10", 443), timeout=60)
s.sendall(bytes.fromhex("160301"))  # a handshake record's first bytes, nothing more
print(s.getsockname()[1], flush=True)
s.recv(1)
"""


@pytest.fixture
def served(running: Lab, tmp_path: Path) -> Iterator[tuple[Lab, dict[str, Any]]]:
    """The servers started in the lab's `server` namespace; its ready line."""
    folder = tmp_path / "world"
    child, ready = start_world_servers(running, folder)
    try:
        yield running, ready
    finally:
        # Stopped here to see it end cleanly; the lab's teardown would kill it anyway.
        child.send_signal(signal.SIGTERM)
        child.wait(30)


def test_ready_lists_the_resolver_the_sites_and_the_helper_on_their_addresses(
    served: tuple[Lab, dict[str, Any]],
) -> None:
    _, ready = served
    table = load_table()
    listening = {(s["name"], s["address"], s["port"], s["protocol"]) for s in ready["ready"]}
    assert ("resolver", "10.77.2.53", 53, "dns/udp") in listening
    assert ("resolver", "10.77.2.53", 53, "dns/tcp") in listening
    assert ("www.lab.test", "10.77.2.10", 80, "http") in listening
    assert ("www.lab.test", "10.77.2.10", 443, "https") in listening
    assert ("th.lab.test", "10.77.2.22", 443, "https") in listening
    assert ("dirauth.tor.lab.test", "10.77.2.70", 9001, "tls") in listening  # ORPort
    assert ("dirauth.tor.lab.test", "10.77.2.70", 9030, "http") in listening  # DirPort
    assert ("stun.lab.test", "10.77.2.75", 3478, "stun/udp") in listening
    # Telegram's data centres speak plain HTTP on 443 too (probe/telegram.py POSTs there).
    assert ("dc1.telegram.lab.test", "10.77.2.40", 443, "http") in listening
    # Every TCP and UDP port of every site with an address, nothing else, none on 0.0.0.0.
    expected = {
        (name, site.address, port)
        for name, site in table.sites.items()
        if site.address is not None
        for port in (*site.ports, *site.udp_ports)
    }
    assert {(n, a, p) for n, a, p, _ in listening if n != "resolver"} == expected
    assert Path(ready["ca_file"]).is_file()


def test_the_resolver_answers_sites_and_real_names_and_not_unpublished_ones(
    served: tuple[Lab, dict[str, Any]],
) -> None:
    lab, _ = served

    def resolve(name: str) -> str:
        return in_namespace(lab.plan.client, sys.executable, "-c", RESOLVE, name).strip()

    assert resolve("www.lab.test") == "NOERROR 10.77.2.10"
    assert resolve("WWW.Lab.Test") == "NOERROR 10.77.2.10"  # names match case-insensitively
    assert resolve("b-api.facebook.com") == "NOERROR 10.77.2.60"  # a `real_name` site
    assert resolve("ghost.lab.test") == "NXDOMAIN"  # published = false
    assert resolve("nowhere.lab.test") == "NXDOMAIN"


def test_the_resolver_answers_over_tcp_too(served: tuple[Lab, dict[str, Any]]) -> None:
    lab, _ = served
    tcp = RESOLVE.replace("dns.query.udp", "dns.query.tcp")
    assert in_namespace(lab.plan.client, sys.executable, "-c", tcp, "www.lab.test").strip() == (
        "NOERROR 10.77.2.10"
    )
    said = in_namespace(lab.plan.client, sys.executable, "-c", tcp, "ghost.lab.test")
    assert said.strip() == "NXDOMAIN"


def test_a_telegram_data_centre_answers_a_post_over_plain_http_on_80_and_443(
    served: tuple[Lab, dict[str, Any]],
) -> None:
    lab, _ = served
    for port in ("80", "443"):
        said = in_namespace(lab.plan.client, sys.executable, "-c", POST, "10.77.2.40", port)
        assert said.strip() == "200"


def test_the_stun_server_maps_the_clients_address(served: tuple[Lab, dict[str, Any]]) -> None:
    lab, _ = served
    said = in_namespace(lab.plan.client, sys.executable, "-c", STUN, "10.77.2.75", "3478")
    assert said.split() == ["success", "True", "10.77.1.2"]  # no NAT: the client's own


def test_the_tor_relay_serves_its_consensus_and_a_tls_or_port(
    served: tuple[Lab, dict[str, Any]],
) -> None:
    lab, _ = served
    said = in_namespace(lab.plan.client, sys.executable, "-c", TOR, "10.77.2.70", "9030", "9001")
    status, first_line, handshake = said.strip().split("|")
    assert status == "200"
    assert first_line == "network-status-version 3"
    assert handshake.startswith("CN=www.") and handshake.endswith(".net")  # a relay's name


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_site_is_fetched_by_name_from_the_client(
    served: tuple[Lab, dict[str, Any]], scheme: str
) -> None:
    lab, ready = served
    args = (scheme, "news.lab.test", ready["ca_file"])
    said = in_namespace(lab.plan.client, sys.executable, "-c", FETCH, *args)
    status, address, size, head = said.split(" ", 3)
    assert (status, address) == ("200", "10.77.2.11")
    assert int(size) == load_table().sites["news.lab.test"].bytes  # the table's size
    assert "<title>Independent news</title>" in head


def test_the_test_helper_answers_a_control_request_from_the_client(
    served: tuple[Lab, dict[str, Any]],
) -> None:
    lab, ready = served
    control = json.dumps(
        {
            "http_request": "https://news.lab.test/",
            "http_request_headers": {},
            "tcp_connect": ["10.77.2.11:443", "10.77.2.21:443"],
        }
    )
    said = in_namespace(lab.plan.client, sys.executable, "-c", CONTROL, control, ready["ca_file"])
    answer = json.loads(said)
    # The helper resolved through the lab's resolver, connected from its own namespace and
    # fetched the page validating the lab's certificate, as a real helper on the open net.
    assert answer["dns"]["addrs"] == ["10.77.2.11"]
    assert answer["dns"]["failure"] is None
    assert answer["tcp_connect"]["10.77.2.11:443"]["status"] is True
    assert answer["tcp_connect"]["10.77.2.21:443"]["status"] is False  # closed.lab.test
    assert answer["http_request"]["status_code"] == 200
    assert answer["http_request"]["failure"] is None
    assert answer["http_request"]["title"] == "Independent news"


def test_sigterm_ends_the_servers_cleanly(running: Lab, tmp_path: Path) -> None:
    child, _ = start_world_servers(running, tmp_path / "w")
    assert child.stderr is not None
    child.send_signal(signal.SIGTERM)
    assert child.wait(30) == 0
    assert child.stderr.read() == b""


def _unread(lab: Lab, client_port: str) -> int | None:
    """The server's Recv-Q on its connection from the client's port (None: not there yet)."""
    said = in_namespace(lab.plan.server, "ss", "-Htn", "state", "established", "sport", "= :443")
    for line in said.splitlines():
        recv_q, _send_q, _local, peer = line.split()[:4]
        if peer.endswith(f":{client_port}"):
            return int(recv_q)
    return None


def test_sigterm_during_a_tls_handshake_is_quiet(running: Lab, tmp_path: Path) -> None:
    child, _ = start_world_servers(running, tmp_path / "w")
    assert child.stderr is not None
    holder = running.start(
        running.plan.client, [sys.executable, "-c", HALF_HELLO], stdout=subprocess.PIPE
    )
    assert holder.stdout is not None
    client_port = holder.stdout.readline().decode().strip()
    assert client_port
    # The server has read the bytes (its Recv-Q is empty): its handshake is under way.
    for _ in range(200):
        if _unread(running, client_port) == 0:
            break
        subprocess.run(["sleep", "0.05"], check=True)
    else:
        pytest.fail("the server never read the half hello")
    child.send_signal(signal.SIGTERM)
    assert child.wait(30) == 0
    errors = child.stderr.read().decode()
    assert "Traceback" not in errors and "CancelledError" not in errors, errors
    assert holder.wait(30) == 0  # the server's close ended the handshake


def test_an_address_the_namespace_lacks_is_one_line(running: Lab, tmp_path: Path) -> None:
    # The client namespace has none of the server's addresses: nothing can listen there.
    child = running.start(
        running.plan.client,
        [sys.executable, "-m", "netvigil.cli.lab_serve", "--folder", str(tmp_path / "w")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = child.communicate(timeout=60)
    assert child.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lab serve: cannot listen")
