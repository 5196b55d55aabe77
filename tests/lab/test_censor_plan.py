"""lab/censor.py without root: which mechanism each rule becomes, and one-line refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from netvigil.lab import rules as r
from netvigil.lab.censor import (
    CENSOR_ADDRESS,
    DNS_PORT,
    HTTP_PORT,
    TLS_PORT,
    CensorPlanError,
    Servers,
    censor_plan,
)
from netvigil.lab.topology import plan

LAB = plan("t1")
SITES = {"blog.lab.test": "10.77.2.11", "Bank.lab.test": "10.77.2.30"}


def test_packet_rules_go_to_the_forward_chain_only() -> None:
    rules: list[r.Rule] = [
        r.Drop(address="10.77.2.13"),
        r.Drop(address="10.77.2.75", port=3478, protocol="udp"),
        r.Reset(address="10.77.2.11", port=80),
        r.Loss(percent=1),
        r.OneWayCut(direction="downstream"),
    ]
    made = censor_plan(rules, LAB, SITES)
    forward = made.nft.split("chain forward")[1]
    assert "ip daddr 10.77.2.13 counter drop" in forward
    assert "ip daddr 10.77.2.75 udp dport 3478 counter drop" in forward
    assert "ip daddr 10.77.2.11 tcp dport 80 counter reject with tcp reset" in forward
    assert "numgen random mod 100 < 1 counter drop" in forward
    assert 'oifname "nv-t1-cc" counter drop' in forward
    assert "dnat" not in made.nft
    assert made.iptables == made.tc == ()
    assert made.servers is None
    assert made.namespace == LAB.censor


def test_a_blackout_leaves_the_gateway_up_unless_the_devices_are_dark() -> None:
    shutdown = censor_plan([r.Blackout()], LAB, SITES).nft
    assert "counter drop" in shutdown.split("chain forward")[1]
    assert "chain input" not in shutdown  # the gateway still refuses with a RST: "up"
    dark = censor_plan([r.Blackout(devices_dark=True)], LAB, SITES).nft
    forward, local = dark.split("chain forward")[1].split("chain input")
    assert "counter drop" in forward
    assert "type filter hook input priority filter; policy accept;" in local
    assert 'iifname "nv-t1-cc" counter drop' in local  # nothing from the client's side


def test_the_ruleset_replaces_ours_atomically() -> None:
    lines = censor_plan([], LAB, SITES).nft.splitlines()
    assert lines[:3] == [
        "table inet netvigil_lab {}",
        "delete table inet netvigil_lab",
        "table inet netvigil_lab {",
    ]


def test_payload_rules_are_string_matches_in_our_chain() -> None:
    rules: list[r.Rule] = [
        r.HTTPHostReset(host="blog.lab.test"),
        r.TLSSNIBlock(sni="news.lab.test", action="drop"),
    ]
    made = censor_plan(rules, LAB, SITES)
    text = [" ".join(argv) for argv in made.iptables]
    assert text[0] == "iptables -w -N NETVIGIL_LAB"
    assert text[1].endswith("-m connmark --mark 0x4e56 -j DROP")  # first: the condemned flows
    assert "--string Host: blog.lab.test --algo bm --icase -j REJECT" in text[2]
    # The server_name entry's type and length (RFC 6066 §3): no prefix or suffix matches.
    assert "--hex-string |00000d|news.lab.test" in text[3] and "CONNMARK" in text[3]
    assert text[-1] == "iptables -w -A FORWARD -j NETVIGIL_LAB"


def test_throttle_is_tbf_towards_the_client() -> None:
    made = censor_plan([r.Throttle(rate_kbit=32)], LAB, SITES)
    assert made.tc == (
        (
            "tc",
            "qdisc",
            "replace",
            "dev",
            "nv-t1-cc",
            "root",
            "tbf",
            "rate",
            "32kbit",
            "burst",
            "4kb",
            "latency",
            "500ms",
        ),
    )


def test_throttling_one_site_is_an_htb_class_its_address_feeds() -> None:
    made = censor_plan([r.Throttle(rate_kbit=32, host="blog.lab.test")], LAB, SITES)
    text = [" ".join(argv) for argv in made.tc]
    assert text == [
        "tc qdisc replace dev nv-t1-cc root handle 1: htb default 1",
        "tc class add dev nv-t1-cc parent 1: classid 1:1 htb rate 10gbit",
        "tc class add dev nv-t1-cc parent 1: classid 1:2 htb rate 32kbit ceil 32kbit burst 4kb",
        "tc filter add dev nv-t1-cc parent 1: protocol ip prio 1 u32 "
        "match ip src 10.77.2.11/32 flowid 1:2",
    ]
    with pytest.raises(CensorPlanError, match=r"throttle: 'elsewhere\.example' is not"):
        censor_plan([r.Throttle(rate_kbit=32, host="elsewhere.example")], LAB, SITES)


def test_servers_rules_dnat_to_the_censor() -> None:
    rules: list[r.Rule] = [
        r.DNSAnswer(domain="news.lab.test", rcode="NXDOMAIN"),
        r.HTTPBlockpage(host="BLOG.lab.test"),
        r.TLSIntercept(sni="bank.lab.test"),
    ]
    made = censor_plan(rules, LAB, SITES, site_ca="/ca.pem", folder="/f")
    assert f"udp dport 53 dnat ip to {CENSOR_ADDRESS}:{DNS_PORT}" in made.nft
    assert f"tcp dport 53 dnat ip to {CENSOR_ADDRESS}:{DNS_PORT}" in made.nft
    assert f"ip daddr 10.77.2.11 tcp dport 80 dnat ip to {CENSOR_ADDRESS}:{HTTP_PORT}" in made.nft
    assert f"ip daddr 10.77.2.30 tcp dport 443 dnat ip to {CENSOR_ADDRESS}:{TLS_PORT}" in made.nft
    assert made.servers is not None
    assert made.servers.tls_upstreams["bank.lab.test"] == ("10.77.2.30", 443)
    again = msgspec.json.decode(msgspec.json.encode(made.servers), type=Servers)
    assert again == made.servers


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (r.HTTPBlockpage(host="elsewhere.example"), "http_blockpage: 'elsewhere.example' is not"),
        (r.TLSIntercept(sni="bank.lab.test"), "tls_intercept: the sites' CA"),
        (r.Loss(percent=101), "loss: percent must be 0-100"),
        (r.Throttle(rate_kbit=0), "throttle: rate_kbit must be positive"),
    ],
)
def test_rules_it_cannot_apply_are_one_line(rule: r.Rule, message: str) -> None:
    with pytest.raises(CensorPlanError) as caught:
        censor_plan([rule], LAB, SITES)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("content", [b"{not json", b'{"rules": 3}', b"[]"])
def test_censor_main_refuses_a_bad_spec_in_one_line(tmp_path: Path, content: bytes) -> None:
    spec = tmp_path / "spec.json"
    spec.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-m", "netvigil.lab.censor_main", "--rules", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("censor servers: ")
    assert len(done.stderr.strip().splitlines()) == 1
