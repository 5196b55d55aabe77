"""call_in: a thread in one of the lab's namespaces, the rest of the process where it was."""

from __future__ import annotations

import os
import socket

import pytest

from netvigil.lab.netns import Lab
from netvigil.lab.nsthread import NamespaceError, call_in

pytestmark = pytest.mark.lab


def _bind(address: str) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return str(sock.getsockname()[0])


def _namespace_of_thread() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_the_thread_binds_the_namespaces_address_and_the_process_stays_out(
    running: Lab,
) -> None:
    root = _namespace_of_thread()
    server = running.plan.server
    assert call_in(server, lambda: _bind(running.plan.server_address)) == "10.77.2.2"
    assert call_in(server, _namespace_of_thread) == os.stat(f"/run/netns/{server}").st_ino
    assert _namespace_of_thread() == root  # the caller's thread never moved
    # and the lab's address does not exist out here
    with pytest.raises(OSError, match="assign requested address"):
        _bind(running.plan.server_address)


def test_what_the_function_raises_is_raised_to_the_caller(running: Lab) -> None:
    def boom() -> None:
        raise LookupError("inside")

    with pytest.raises(LookupError, match="inside"):
        call_in(running.plan.client, boom)


@pytest.mark.parametrize("name", ["nvlab-gone-client", "../etc", ""])
def test_a_namespace_that_cannot_be_joined_is_one_line(name: str) -> None:
    with pytest.raises(NamespaceError) as caught:
        call_in(name, lambda: None)
    assert len(str(caught.value).splitlines()) == 1
