"""The censor's rules as packet filters and servers: rules + the lab's plan → a CensorPlan.

Sans-IO: nothing here runs a command; lab/censor_apply.py applies the plan in the `censor`
namespace. Each technique of lab/rules.py gets the kernel mechanism that does it on the path,
where a national censor does it (ooni.md §1.5, reliability.md §4.3 and §5):

- nftables, one table of ours (`inet netvigil_lab`), forward chain: Drop, Reset
  (`reject with tcp reset`), OneWayCut, Blackout and Loss (`numgen random mod 100 < N`);
  its nat prerouting chain DNATs the client's DNS (UDP and TCP 53, any destination: an
  on-path DNS censor takes every query), and TCP 80/443 of the sites an HTTPBlockpage or
  TLSIntercept names, to the censor's own servers (lab/censor_main.py) on 10.77.1.1;
- iptables `-m string` in a chain of ours (`NETVIGIL_LAB`, jumped to from FORWARD), since
  nftables has no payload string match: HTTPHostReset ("Host: <host>", case-insensitive,
  REJECT tcp-reset on the request's first data packet) and TLSSNIBlock, keyed on the SNI's
  wire bytes with their two-byte length prefix (RFC 6066 §3), so "news.lab.test" does not
  also match "xnews.lab.test" or "news.lab.test.example";
- tc on the censor's interface towards the client: Throttle, a tbf for the whole link or an
  htb class that a u32 filter feeds with one site's packets (this kernel has no netem);
- an input chain for a Blackout with `devices_dark`: the censor is also the client's gateway
  (10.77.1.1), and a shutdown leaves it up (its port 53 refuses a connection with a RST,
  which the daemon's local check counts as "gateway up", probe/localcheck.py), while a
  power cut leaves it dark: everything from the client to the censor itself is dropped.

TLSSNIBlock's three actions, as the client sees them: `reset` is a RST answering the hello;
`drop` marks the flow (conntrack mark) and drops every later packet of it, both ways, so the
server never hears of the client again; `timeout` drops only the packets carrying the hello
(each retransmission too) and lets the rest through, so the TCP connection stays up and no
TLS byte passes. Both of the last two end at the probe's deadline: to the client they are the
same handshake that never finishes (scenarios.toml expects `tls_timeout` for both).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import msgspec

from netvigil.lab import rules as r
from netvigil.lab.topology import RESOLVER, Plan

TABLE: Final = "netvigil_lab"
CHAIN: Final = "NETVIGIL_LAB"
MARK: Final = "0x4e56"  # "NV": the flows an SNI drop rule condemned
CENSOR_ADDRESS: Final = "10.77.1.1"  # the censor's own address on the client's side
DNS_PORT, HTTP_PORT, TLS_PORT = 5353, 8080, 8443  # where the censor's servers listen


class CensorPlanError(ValueError):
    """A rule the censor cannot apply in this lab (one line)."""


class Servers(msgspec.Struct, frozen=True, kw_only=True):
    """What lab/censor_main.py runs: the rules, where to listen, the real world behind."""

    rules: tuple[r.Rule, ...]
    listen: str = CENSOR_ADDRESS
    dns_port: int | None = None  # None: that server is not needed
    http_port: int | None = None
    tls_port: int | None = None
    resolver: tuple[str, int] = (RESOLVER, 53)
    http_upstreams: dict[str, tuple[str, int]] = {}
    tls_upstreams: dict[str, tuple[str, int]] = {}
    site_ca: str | None = None  # the real sites' CA, which the TLS interceptor trusts
    folder: str | None = None  # where the interceptor keeps its own CA


class CensorPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the censor does for one set of rules; each argv runs in `namespace`."""

    namespace: str
    nft: str  # an nftables ruleset, for `nft -f -`
    iptables: tuple[tuple[str, ...], ...]
    tc: tuple[tuple[str, ...], ...]
    servers: Servers | None  # None: packet rules do it all
    client_interface: str  # the censor's veth towards the client (tc's device)


def _shaping(rule: r.Throttle, client_if: str, sites: Mapping[str, str]) -> list[tuple[str, ...]]:
    rate = f"{rule.rate_kbit}kbit"
    dev = ("dev", client_if)
    if rule.host is None:
        # burst above one full-size frame, or tbf drops every 1514-byte packet (tc-tbf(8)).
        shape = ("rate", rate, "burst", "4kb", "latency", "500ms")
        return [("tc", "qdisc", "replace", *dev, "root", "tbf", *shape)]
    address = _site(sites, rule.host, rule)
    # htb: unclassified traffic goes to class 1:1, unshaped; the site's to 1:2 (tc-htb(8)).
    shaped = ("rate", rate, "ceil", rate, "burst", "4kb")
    match = ("match", "ip", "src", f"{address}/32", "flowid", "1:2")
    return [
        ("tc", "qdisc", "replace", *dev, "root", "handle", "1:", "htb", "default", "1"),
        ("tc", "class", "add", *dev, "parent", "1:", "classid", "1:1", "htb", "rate", "10gbit"),
        ("tc", "class", "add", *dev, "parent", "1:", "classid", "1:2", "htb", *shaped),
        ("tc", "filter", "add", *dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32", *match),
    ]


def _site(sites: Mapping[str, str], host: str, rule: r.Rule) -> str:
    address = sites.get(host.lower())
    if address is None:
        raise CensorPlanError(f"{rule.__struct_config__.tag}: {host!r} is not a lab site")
    return address


def _input(rule: r.Rule, client_if: str) -> list[str]:
    """The nft input-chain statements of one rule: only a dark blackout touches the censor's
    own stack, so its gateway answers nothing (no RST either) from the client's side."""
    if isinstance(rule, r.Blackout) and rule.devices_dark:
        return [f'iifname "{client_if}" counter drop']
    return []


def _forward(rule: r.Rule, client_if: str) -> list[str]:
    """The nft forward-chain statements of one packet rule (none for the others)."""
    match rule:
        case r.Blackout():
            return ["counter drop"]
        case r.OneWayCut(direction="upstream"):
            return [f'iifname "{client_if}" counter drop']
        case r.OneWayCut():
            return [f'oifname "{client_if}" counter drop']
        case r.Loss(percent=percent):
            if not 0 <= percent <= 100:
                raise CensorPlanError(f"loss: percent must be 0-100, not {percent}")
            return [f"numgen random mod 100 < {percent} counter drop"]
        case r.Drop(address=address, port=None):
            return [f"ip daddr {address} counter drop"]
        case r.Drop(address=address, port=port, protocol=protocol):
            return [f"ip daddr {address} {protocol} dport {port} counter drop"]
        case r.Reset(address=address, port=port):
            return [f"ip daddr {address} tcp dport {port} counter reject with tcp reset"]
    return []


def _sni_bytes(sni: str) -> str:
    """The hex-string of a server_name entry: name type 0 (host_name), length, name."""
    name = sni.lower().encode("idna")
    return f"|00{len(name):04x}|{name.decode('ascii')}"


def _strings(rule: r.Rule) -> list[tuple[str, ...]]:
    """The iptables rules (after `-A CHAIN`) of one payload-matching rule."""
    reset = ("-j", "REJECT", "--reject-with", "tcp-reset")
    match rule:
        case r.HTTPHostReset(host=host):
            match = ("-m", "string", "--string", f"Host: {host}", "--algo", "bm", "--icase")
            return [("-p", "tcp", "--dport", "80", *match, *reset)]
        case r.TLSSNIBlock(sni=sni, action=action):
            hello: tuple[str, ...] = ("-p", "tcp", "--dport", "443", "-m", "string")
            hello += ("--hex-string", _sni_bytes(sni), "--algo", "bm")
            if action == "reset":
                return [(*hello, *reset)]
            if action == "drop":
                return [(*hello, "-j", "CONNMARK", "--set-mark", MARK), (*hello, "-j", "DROP")]
            return [(*hello, "-j", "DROP")]
    return []


def _iptables(all_rules: tuple[r.Rule, ...]) -> tuple[tuple[str, ...], ...]:
    body = [spec for rule in all_rules for spec in _strings(rule)]
    if not body:
        return ()
    if any(isinstance(x, r.TLSSNIBlock) and x.action == "drop" for x in all_rules):
        # First, so a condemned flow's later packets (either way) never reach another rule.
        body.insert(0, ("-m", "connmark", "--mark", MARK, "-j", "DROP"))
    made: list[tuple[str, ...]] = [("iptables", "-w", "-N", CHAIN)]
    made += [("iptables", "-w", "-A", CHAIN, *spec) for spec in body]
    made.append(("iptables", "-w", "-A", "FORWARD", "-j", CHAIN))
    return tuple(made)


def censor_plan(
    rules: Iterable[r.Rule],
    lab: Plan,
    sites: Mapping[str, str],
    *,
    site_ca: str | None = None,
    folder: str | None = None,
) -> CensorPlan:
    """The censor's work for `rules` in `lab`; `sites` maps each lab host to its address."""
    all_rules = tuple(rules)
    sites = {host.lower(): address for host, address in sites.items()}
    client_if = lab.links[0].peer
    forward = [line for rule in all_rules for line in _forward(rule, client_if)]
    local = [line for rule in all_rules for line in _input(rule, client_if)]
    into = f'iifname "{client_if}"'
    nat: list[str] = []
    dns = any(isinstance(x, r.DNSAnswer | r.DNSInjection) for x in all_rules)
    if dns:
        for proto in ("udp", "tcp"):
            nat.append(f"{into} {proto} dport 53 dnat ip to {CENSOR_ADDRESS}:{DNS_PORT}")
    pages = {_site(sites, x.host, x) for x in all_rules if isinstance(x, r.HTTPBlockpage)}
    for address in sorted(pages):
        nat.append(
            f"{into} ip daddr {address} tcp dport 80 dnat ip to {CENSOR_ADDRESS}:{HTTP_PORT}"
        )
    tls = {_site(sites, x.sni, x) for x in all_rules if isinstance(x, r.TLSIntercept)}
    if tls and site_ca is None:
        raise CensorPlanError("tls_intercept: the sites' CA (site_ca) is needed to relay")
    for address in sorted(tls):
        nat.append(
            f"{into} ip daddr {address} tcp dport 443 dnat ip to {CENSOR_ADDRESS}:{TLS_PORT}"
        )
    tc: list[tuple[str, ...]] = []
    for rule in all_rules:
        if isinstance(rule, r.Throttle):
            if rule.rate_kbit < 1:
                raise CensorPlanError(f"throttle: rate_kbit must be positive, not {rule.rate_kbit}")
            tc = _shaping(rule, client_if, sites)
    servers = None
    if nat:
        servers = Servers(
            rules=all_rules,
            dns_port=DNS_PORT if dns else None,
            http_port=HTTP_PORT if pages else None,
            tls_port=TLS_PORT if tls else None,
            http_upstreams={host: (address, 80) for host, address in sites.items()},
            tls_upstreams={host: (address, 443) for host, address in sites.items()},
            site_ca=site_ca,
            folder=folder,
        )
    return CensorPlan(
        namespace=lab.censor,
        nft=_ruleset(nat, forward, local),
        iptables=_iptables(all_rules),
        tc=tuple(tc),
        servers=servers,
        client_interface=client_if,
    )


def _ruleset(nat: list[str], forward: list[str], local: list[str]) -> str:
    # Declaring then deleting the table first makes `nft -f` replace ours atomically,
    # whether or not it exists (nft(8), "atomic rule replacement").
    lines = [f"table inet {TABLE} {{}}", f"delete table inet {TABLE}", f"table inet {TABLE} {{"]
    lines += [
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
    ]
    lines += [f"    {line}" for line in nat]
    lines += [
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
    ]
    lines += [f"    {line}" for line in forward]
    lines += ["  }"]
    if local:
        lines += ["  chain input {", "    type filter hook input priority filter; policy accept;"]
        lines += [f"    {line}" for line in local]
        lines += ["  }"]
    lines += ["}"]
    return "\n".join(lines) + "\n"
