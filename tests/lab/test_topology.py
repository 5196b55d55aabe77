"""The lab's plan, without root: names fit Linux's limits, nothing touches the root namespace."""

from __future__ import annotations

import pytest

from netvigil.lab.topology import (
    IFNAMSIZ,
    RESOLVER,
    SITE_ADDRESSES,
    TopologyError,
    flat_plan,
    is_lab_namespace,
    plan,
)


def test_three_namespaces_named_after_the_lab() -> None:
    lab = plan("a1")
    assert lab.namespaces == ("nvlab-a1-client", "nvlab-a1-censor", "nvlab-a1-server")
    assert [c for c in lab.up if c[:3] == ("ip", "netns", "add")] == [
        ("ip", "netns", "add", name) for name in lab.namespaces
    ]
    assert lab.down == tuple(("ip", "netns", "delete", name) for name in lab.namespaces)


def test_the_longest_id_still_fits_the_interface_name_limit() -> None:
    lab = plan("abcdefgh")
    names = [n for link in lab.links for n in (link.name, link.peer)]
    assert len(set(names)) == 4
    assert all(len(name.encode()) <= IFNAMSIZ for name in names), names


@pytest.mark.parametrize("bad", ["", "abcdefghi", "UP", "a-b", "a b", "../x", "é"])
def test_an_id_that_cannot_name_a_namespace_is_one_line(bad: str) -> None:
    with pytest.raises(TopologyError) as raised:
        plan(bad)
    assert len(str(raised.value).splitlines()) == 1


def test_every_command_acts_inside_a_lab_namespace_never_on_the_host() -> None:
    lab = plan("a1")
    for argv in lab.up:
        assert argv[0] == "ip", argv
        if argv[1] == "-n":
            assert argv[2] in lab.namespaces, argv
        else:  # `ip netns add NAME` or `ip netns exec NAME ...`
            assert argv[1] == "netns" and argv[3] in lab.namespaces, argv
    # A veth is born in its namespace with its peer in the other: never in the root one.
    veths = [argv for argv in lab.up if "veth" in argv]
    assert len(veths) == 2 and all(argv[-2] == "netns" for argv in veths)


def test_only_the_censor_forwards_and_each_end_routes_through_it() -> None:
    lab = plan("a1")
    sysctls = [argv for argv in lab.up if "sysctl" in argv]
    assert sysctls == [
        ("ip", "netns", "exec", lab.censor, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    ]
    routes = [argv for argv in lab.up if "route" in argv]
    assert routes == [
        ("ip", "-n", lab.client, "route", "add", "default", "via", "10.77.1.1"),
        ("ip", "-n", lab.server, "route", "add", "default", "via", "10.77.2.1"),
    ]


def test_each_site_has_an_address_on_the_server_and_the_resolver_is_one() -> None:
    lab = plan("a1")
    assert SITE_ADDRESSES[0] == "10.77.2.10" and SITE_ADDRESSES[-1] == "10.77.2.99"
    assert len(SITE_ADDRESSES) == 90 and RESOLVER in SITE_ADDRESSES
    added = {argv[5] for argv in lab.up if argv[3:5] == ("addr", "add") and argv[2] == lab.server}
    assert added == {"10.77.2.2/24", *(f"{a}/24" for a in SITE_ADDRESSES)}


def test_the_flat_plan_is_one_namespace_in_every_role() -> None:
    flat = flat_plan("a1")
    assert flat.client == flat.censor == flat.server == "nvlab-a1-flat"
    assert flat.namespaces == ("nvlab-a1-flat",)
    assert flat.links == ()
    assert flat.up[:2] == (
        ("ip", "netns", "add", "nvlab-a1-flat"),
        ("ip", "-n", "nvlab-a1-flat", "link", "set", "lo", "up"),
    )
    assert flat.down == (("ip", "netns", "delete", "nvlab-a1-flat"),)
    assert is_lab_namespace(flat.client, "a1") and not is_lab_namespace(flat.client, "a2")


def test_the_flat_plan_puts_every_lab_address_on_lo_and_nothing_else() -> None:
    flat, lab = flat_plan("a1"), plan("a1")
    for argv in flat.up:
        assert argv[0] == "ip" and flat.client in argv[:4], argv
    assert not [argv for argv in flat.up if {"veth", "route", "sysctl"} & set(argv)]
    added = [argv[5:] for argv in flat.up if argv[3:5] == ("addr", "add")]
    assert all(rest[1:] == ("dev", "lo") for rest in added), added
    assert {rest[0] for rest in added} == {
        f"{a}/32" for a in (lab.client_address, lab.server_address, *lab.site_addresses)
    }
    assert f"{RESOLVER}/32" in {rest[0] for rest in added}
    # The same addresses as the lab's, so the world and the probe run unchanged.
    assert (flat.client_address, flat.server_address, flat.site_addresses) == (
        lab.client_address,
        lab.server_address,
        lab.site_addresses,
    )


def test_a_lab_lists_each_namespace_once() -> None:
    assert len(set(plan("a1").namespaces)) == len(plan("a1").namespaces) == 3
