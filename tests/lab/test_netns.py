"""The lab's namespaces made real (root): what `up` makes, that traffic takes the censor's
path, and that teardown leaves nothing, from the running process or after it was killed.

Traffic stays inside the namespaces this test creates: the only addresses used are the lab's
own 10.77.x, which exist only there (lab/topology.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from netvigil.lab.netns import Lab, LabError, down_recorded, lab_running
from netvigil.lab.topology import plan
from tests.lab.namespaces import ONE_CONNECTION, alive, in_namespace, links, netns_names, new_id

pytestmark = pytest.mark.lab

CONNECT = """
import socket, sys
with socket.create_connection((sys.argv[1], 8080), timeout=30) as conn:
    print(conn.recv(100).decode().strip(), conn.getsockname()[0])
"""


def test_up_makes_exactly_three_namespaces_and_two_links(lab_folder: Path) -> None:
    before, root_links = netns_names(), links()
    with lab_running(plan(new_id()), lab_folder) as lab:
        assert netns_names() - before == set(lab.plan.namespaces)
        client_veth, server_veth = lab.plan.links
        assert links(lab.plan.client) == {"lo", client_veth.name}
        assert links(lab.plan.censor) == {"lo", client_veth.peer, server_veth.peer}
        assert links(lab.plan.server) == {"lo", server_veth.name}
        assert links() == root_links  # the host's own namespace is untouched
    assert netns_names() <= before
    assert links() == root_links
    assert not any("nvlab" in name or name.startswith(f"nv-{lab.plan.lab_id}") for name in links())
    assert not (lab_folder / f"{lab.plan.lab_id}.json").exists()


def test_the_client_reaches_a_site_through_the_censor(running: Lab) -> None:
    site = running.plan.site_addresses[0]
    server = running.start(
        running.plan.server,
        [sys.executable, "-c", ONE_CONNECTION, site, "through the censor"],
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None
    assert server.stdout.readline() == b"ready\n"
    said = in_namespace(running.plan.client, sys.executable, "-c", CONNECT, site)
    assert said == "through the censor 10.77.1.2\n"
    # The server saw the client's own address: routed by the censor, not translated.
    assert server.stdout.readline() == b"10.77.1.2\n"
    assert server.wait(30) == 0
    routes = in_namespace(running.plan.client, "ip", "route", "show")
    assert "default via 10.77.1.1" in routes


def test_only_the_censor_forwards(running: Lab) -> None:
    host = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    forwarding = {
        ns: in_namespace(ns, "sysctl", "-n", "net.ipv4.ip_forward").strip()
        for ns in running.plan.namespaces
    }
    assert forwarding == {
        running.plan.client: "0",
        running.plan.censor: "1",
        running.plan.server: "0",
    }
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == host


def test_teardown_stops_every_process_it_started_and_their_children(lab_folder: Path) -> None:
    pids: list[int] = []
    with lab_running(plan(new_id()), lab_folder) as lab:
        for namespace in lab.plan.namespaces:
            pids.append(lab.start(namespace, ["sleep", "1000"]).pid)
        # One that ignores SIGTERM (it must be killed) and one with a child of its own.
        pids.append(lab.start(lab.plan.censor, ["sh", "-c", "trap '' TERM; sleep 1000"]).pid)
        parent = lab.start(
            lab.plan.server, ["sh", "-c", "sleep 1000 & echo $!; wait"], stdout=subprocess.PIPE
        )
        assert parent.stdout is not None
        pids += [parent.pid, int(parent.stdout.readline())]
        assert [pid for pid in pids if alive(pid)] == pids
    assert [pid for pid in pids if alive(pid)] == []
    assert not set(lab.plan.namespaces) & netns_names()


def test_an_exception_in_the_block_still_tears_down_and_handlers_come_back(
    lab_folder: Path,
) -> None:
    handlers = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    names: tuple[str, ...] = ()
    seen: list[bool] = []

    def fails_inside() -> None:
        nonlocal names
        with lab_running(plan(new_id()), lab_folder) as lab:
            names = lab.plan.namespaces
            seen.append(set(names) <= netns_names())
            seen.append(signal.getsignal(signal.SIGTERM) != handlers[0])
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fails_inside()
    assert seen == [True, True]
    assert names and not set(names) & netns_names()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers


def test_teardown_is_idempotent(lab_folder: Path) -> None:
    lab_id = new_id()
    with lab_running(plan(lab_id), lab_folder) as lab:
        pass
    removed, problems = down_recorded(lab_folder, lab_id)
    assert removed.namespaces == () and removed.processes == () and problems == []
    assert lab.down().namespaces == ()


def test_a_second_lab_with_the_same_id_is_refused_and_the_first_kept(running: Lab) -> None:
    with pytest.raises(LabError, match="already up"), lab_running(running.plan, running.folder):
        pass
    assert set(running.plan.namespaces) <= netns_names()
    assert (running.folder / f"{running.plan.lab_id}.json").is_file()


def test_a_command_that_fails_half_way_is_one_line_and_undoes_the_rest(lab_folder: Path) -> None:
    whole = plan(new_id())
    # A real failure of a real `ip`, after the namespaces and links exist: the plan is data.
    broken = msgspec.structs.replace(
        whole, up=(*whole.up, ("ip", "-n", whole.client, "link", "set", "nosuchlink", "up"))
    )
    with pytest.raises(LabError) as raised:
        Lab(broken, lab_folder).up()
    assert len(str(raised.value).splitlines()) == 1 and "nosuchlink" in str(raised.value)
    assert not set(whole.namespaces) & netns_names()
    assert not (lab_folder / f"{whole.lab_id}.json").exists()
