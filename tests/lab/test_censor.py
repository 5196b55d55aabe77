"""The censor's rules made real (root): each technique's effect as the client sees it, and
that removing the rules lets everything through again.

A lab per test (the `running` fixture tears it down however the test ends); the world
(tests/lab/world.py) runs in the server namespace, the client (tests/lab/client.py) in the
client namespace, the rules in the censor's. Only the lab's own 10.77.x addresses are used,
which exist only inside the namespaces this test creates. A try that gets nothing before the
client's deadline is counted as "timeout", never timed.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from netvigil.lab import rules as r
from netvigil.lab.ca import TestCA
from netvigil.lab.censor import CENSOR_ADDRESS, CHAIN, TABLE, censor_plan
from netvigil.lab.censor_apply import Censor
from netvigil.lab.netns import Lab, lab_running
from netvigil.lab.topology import plan
from tests.lab.namespaces import in_namespace, new_id
from tests.lab.world import SITES

pytestmark = pytest.mark.lab

HERE = Path(__file__).parent
BLOG, NEWS, WWW = SITES["blog.lab.test"], SITES["news.lab.test"], SITES["www.lab.test"]


@pytest.fixture
def censor(running: Lab, tmp_path: Path) -> Iterator[Censor]:
    world = running.start(
        running.plan.server,
        [sys.executable, str(HERE / "world.py"), BLOG, NEWS, WWW],
        stdout=subprocess.PIPE,
    )
    assert world.stdout is not None
    assert world.stdout.readline() == b"ready\n"
    censor = Censor(running, tmp_path / "censor")
    try:
        yield censor
    finally:
        censor.remove()


def client(lab: Lab, *args: str) -> str:
    return in_namespace(lab.plan.client, sys.executable, str(HERE / "client.py"), *args).strip()


def apply(censor: Censor, rules: Sequence[r.Rule]) -> None:
    censor.apply(censor_plan(rules, censor.lab.plan, SITES))


def test_drop_black_holes_one_address_until_removed(censor: Censor) -> None:
    lab = censor.lab
    assert client(lab, "tcp", BLOG, "80", "hello") == "ok"
    apply(censor, [r.Drop(address=BLOG, port=80)])
    assert client(lab, "tcp", BLOG, "80", "hello") == "timeout"
    assert client(lab, "tcp", BLOG, "443", "hello") == "ok"  # another port of it
    assert client(lab, "tcp", WWW, "80", "hello") == "ok"  # another site
    censor.remove()
    assert client(lab, "tcp", BLOG, "80", "hello") == "ok"


def test_reset_refuses_the_connect(censor: Censor) -> None:
    apply(censor, [r.Reset(address=BLOG, port=80)])
    assert client(censor.lab, "tcp", BLOG, "80", "hello") == "refused"
    assert client(censor.lab, "tcp", WWW, "80", "hello") == "ok"


def test_http_host_reset_only_for_that_host(censor: Censor) -> None:
    apply(censor, [r.HTTPHostReset(host="blog.lab.test")])
    assert client(censor.lab, "http", BLOG, "blog.lab.test") == "reset"
    assert client(censor.lab, "http", BLOG, "www.lab.test") == "ok"  # same address, other Host


def test_sni_reset_only_for_that_sni(censor: Censor) -> None:
    apply(censor, [r.TLSSNIBlock(sni="news.lab.test", action="reset")])
    assert client(censor.lab, "tls", NEWS, "news.lab.test") == "reset"
    assert client(censor.lab, "tls", NEWS, "xnews.lab.test") == "passed"
    assert client(censor.lab, "tls", NEWS, "news.lab.test.example") == "passed"


@pytest.mark.parametrize("action", ["drop", "timeout"])
def test_sni_drop_and_timeout_end_at_the_deadline(censor: Censor, action: str) -> None:
    apply(censor, [r.TLSSNIBlock(sni="news.lab.test", action=action)])  # type: ignore[arg-type]
    assert client(censor.lab, "tls", NEWS, "news.lab.test") == "timeout"
    assert client(censor.lab, "tls", NEWS, "www.lab.test") == "passed"


def test_throttle_shapes_what_goes_to_the_client(censor: Censor) -> None:
    apply(censor, [r.Throttle(rate_kbit=2000)])
    assert client(censor.lab, "tcp", WWW, "80", "bulk") == "bytes:60000"
    shown = in_namespace(
        censor.namespace, "tc", "-s", "qdisc", "show", "dev", censor.client_interface
    )
    assert "qdisc tbf" in shown
    sent = int(re.search(r"Sent (\d+) bytes", shown).group(1))  # type: ignore[union-attr]
    assert sent >= 60000  # the page went through the shaper
    censor.remove()
    after = in_namespace(censor.namespace, "tc", "qdisc", "show", "dev", censor.client_interface)
    assert "tbf" not in after


def _class_bytes(censor: Censor) -> dict[str, int]:
    shown = in_namespace(
        censor.namespace, "tc", "-s", "class", "show", "dev", censor.client_interface
    )
    found = re.findall(r"class htb (1:\d+) .*?Sent (\d+) bytes", shown, re.S)
    return {classid: int(sent) for classid, sent in found}


def test_throttling_one_site_shapes_its_packets_only(censor: Censor) -> None:
    apply(censor, [r.Throttle(rate_kbit=2000, host="www.lab.test")])
    assert client(censor.lab, "tcp", WWW, "80", "bulk") == "bytes:60000"
    shaped = _class_bytes(censor)
    assert shaped["1:2"] >= 60000  # the site's page went through the shaped class
    assert client(censor.lab, "tcp", NEWS, "80", "bulk") == "bytes:60000"
    after = _class_bytes(censor)
    assert after["1:1"] - shaped["1:1"] >= 60000  # another site's: the unshaped class
    # (the first connection's last ACK and FIN may still come through the shaped class)
    assert after["1:2"] - shaped["1:2"] < 1000
    censor.remove()
    gone = in_namespace(censor.namespace, "tc", "qdisc", "show", "dev", censor.client_interface)
    assert "htb" not in gone


def test_loss_drops_some_packets(censor: Censor) -> None:
    apply(censor, [r.Loss(percent=50)])
    client(censor.lab, "udp", WWW, "20")
    listed = in_namespace(censor.namespace, "nft", "list", "chain", "inet", TABLE, "forward")
    dropped = int(re.search(r"counter packets (\d+)", listed).group(1))  # type: ignore[union-attr]
    assert dropped > 0  # 20 datagrams and their echoes all passing at 50%: about 1e-12


@pytest.mark.parametrize(
    "rule",
    [
        r.OneWayCut(direction="upstream"),
        r.OneWayCut(direction="downstream"),
        r.Blackout(),
    ],
)
def test_cuts_let_nothing_pass(censor: Censor, rule: r.Rule) -> None:
    apply(censor, [rule])
    assert client(censor.lab, "tcp", WWW, "80", "hello") == "timeout"
    assert client(censor.lab, "udp", WWW, "3") == "replies:0"
    censor.remove()
    assert client(censor.lab, "udp", WWW, "3") == "replies:3"


def test_a_shutdown_leaves_the_gateway_answering_a_power_cut_does_not(censor: Censor) -> None:
    gateway = CENSOR_ADDRESS  # the client's default route (topology.py)
    apply(censor, [r.Blackout()])
    # Nothing listens on the censor's port 53: the RST is the gateway's answer (localcheck).
    assert client(censor.lab, "tcp", gateway, "53", "hello") == "refused"
    assert client(censor.lab, "tcp", WWW, "80", "hello") == "timeout"
    apply(censor, [r.Blackout(devices_dark=True)])
    assert client(censor.lab, "tcp", gateway, "53", "hello") == "timeout"
    assert client(censor.lab, "tcp", WWW, "80", "hello") == "timeout"
    censor.remove()
    assert client(censor.lab, "tcp", gateway, "53", "hello") == "refused"
    assert client(censor.lab, "tcp", WWW, "80", "hello") == "ok"


def test_dns_answer_is_forged_by_the_censor(censor: Censor) -> None:
    assert client(censor.lab, "dns", "news.lab.test") == f"NOERROR:{NEWS}"
    apply(censor, [r.DNSAnswer(domain="news.lab.test", rcode="NXDOMAIN")])
    assert client(censor.lab, "dns", "news.lab.test") == "NXDOMAIN:"
    assert client(censor.lab, "dns", "www.lab.test") == f"NOERROR:{WWW}"  # relayed
    censor.remove()
    assert client(censor.lab, "dns", "news.lab.test") == f"NOERROR:{NEWS}"


def test_http_blockpage_through_dnat(censor: Censor) -> None:
    apply(censor, [r.HTTPBlockpage(host="blog.lab.test", body="blocked here")])
    assert client(censor.lab, "http", BLOG, "blog.lab.test") == "bytes:" + str(len(_page(censor)))
    assert client(censor.lab, "http", BLOG, "www.lab.test") == "ok"  # relayed to its site


def _page(censor: Censor) -> bytes:
    from netvigil.lab.censor_http import blockpage

    return blockpage(r.HTTPBlockpage(host="blog.lab.test", body="blocked here"))


def test_remove_is_complete_and_idempotent(censor: Censor) -> None:
    rules: list[r.Rule] = [
        r.HTTPHostReset(host="blog.lab.test"),
        r.Throttle(rate_kbit=100),
        r.Blackout(),
    ]
    apply(censor, rules)
    apply(censor, rules)  # applying twice is applying once
    assert in_namespace(censor.namespace, "iptables", "-S", "FORWARD").count(CHAIN) == 1
    censor.remove()
    censor.remove()
    assert TABLE not in in_namespace(censor.namespace, "nft", "list", "tables")
    assert CHAIN not in in_namespace(censor.namespace, "iptables", "-S")
    assert client(censor.lab, "http", BLOG, "blog.lab.test") == "ok"


def test_dns_injection_answers_first(censor: Censor) -> None:
    apply(censor, [r.DNSInjection(domain="news.lab.test", addresses=("10.10.34.35",))])
    assert client(censor.lab, "dns", "news.lab.test") == "NOERROR:10.10.34.35"


def test_tls_intercept_answers_with_the_censors_certificate(censor: Censor, tmp_path: Path) -> None:
    (tmp_path / "sites-ca").mkdir()
    sites_ca = TestCA(tmp_path / "sites-ca", now=dt.datetime.now(dt.UTC))
    rules = [r.TLSIntercept(sni="news.lab.test", issuer="Lab Censor CA")]
    plan = censor_plan(
        rules,
        censor.lab.plan,
        SITES,
        site_ca=str(sites_ca.cert_file),
        folder=str(tmp_path / "interceptor"),
    )
    censor.apply(plan)
    assert client(censor.lab, "tls", NEWS, "news.lab.test") == "untrusted"
    assert client(censor.lab, "tls", NEWS, "www.lab.test") == "passed"  # relayed untouched
    censor.remove()
    assert client(censor.lab, "tls", NEWS, "news.lab.test") == "passed"


def test_remove_after_the_lab_is_down_is_a_no_op(lab_folder: Path, tmp_path: Path) -> None:
    with lab_running(plan(new_id()), lab_folder) as lab:
        censor = Censor(lab, tmp_path / "censor")
        apply(censor, [r.DNSAnswer(domain="news.lab.test", rcode="REFUSED")])
        assert censor.servers is not None and censor.servers.poll() is None
    censor.remove()  # the namespace, its rules and the servers' process are already gone
    assert censor.servers is None
