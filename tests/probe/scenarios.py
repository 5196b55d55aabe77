"""The QA scenarios the probe tests reproduce, and how one is run (for test_scenarios, test_format).

Each case names an OONI netem QA scenario (ooni/probe-cli internal/webconnectivityqa) and
builds it from the lab's servers — a lying resolver, a reset, a black hole, a blockpage, a
bad certificate — with the layered outcome and layer it must get.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from netvigil.lab.dnsserver import Answer
from netvigil.lab.webserver import Behaviour
from netvigil.probe.recording import Trace
from netvigil.probe.report import Location, envelope
from netvigil.probe.webconnectivity import Settings, measure
from netvigil.records import WebMeasurement
from tests.probe.world import SITE, World, world

SITE_ZONE = {
    "www.example.com": Answer(addresses=(SITE,)),
    "second.example.com": Answer(addresses=(SITE,)),
}
BLOCKPAGE = Behaviour(
    body=b"<html><head><title>Access Denied</title></head><body>"
    b"<h1>Access Denied</h1>"
    b"<p>This request cannot be served in your jurisdiction.</p></body></html>",
    length=False,
)
PAGE = Behaviour()


@dataclass(frozen=True)
class Case:
    name: str  # the QA scenario reproduced
    url: str  # {http} and {https} are replaced by the lab servers' ports
    outcome: str  # layered outcome
    layer: str | None  # layered layer
    probe_zone: dict[str, Answer] = field(default_factory=lambda: SITE_ZONE)
    helper_zone: dict[str, Answer] = field(default_factory=lambda: SITE_ZONE)
    site: Behaviour = PAGE
    censored: Behaviour | None = None
    tls_censor: Behaviour | None = None
    certificate: str = "valid"
    blackhole_site: bool = False
    helper_down: bool = False


REDIRECT = Behaviour(kind="redirect", status=302, location="http://second.example.com:{http}/")
CASES = [
    Case("successWithHTTP", "http://www.example.com:{http}/", "ok", None),
    Case("successWithHTTPS", "https://www.example.com:{https}/", "ok", None),
    Case(
        "dnsBlockingNXDOMAIN",
        "https://www.example.com:{https}/",
        "blocked",
        "dns",
        probe_zone={"www.example.com": Answer(rcode="NXDOMAIN")},
    ),
    Case(
        "dnsBlockingBOGON",
        "https://www.example.com:{https}/",
        "blocked",
        "dns",
        probe_zone={"www.example.com": Answer(addresses=("10.10.34.35",))},
    ),
    Case(
        "ghostDNSBlockingWithHTTP",
        "http://www.example.com:{http}/",
        "blocked",
        "dns",
        helper_zone={},
        censored=BLOCKPAGE,
        probe_zone={"www.example.com": Answer(addresses=(SITE,))},
    ),
    Case(
        "tcpBlockingConnectionRefusedWithInconsistentDNS",
        "http://www.example.com:{http}/",
        "blocked",
        "dns",
        probe_zone={"www.example.com": Answer(addresses=("127.0.0.50",))},
    ),
    Case(
        "tcpBlockingConnectTimeout",
        "https://www.example.com:{https}/",
        "blocked",
        "tcp",
        blackhole_site=True,
    ),
    Case(
        "tlsBlockingConnectionResetWithConsistentDNS",
        "https://www.example.com:{https}/",
        "blocked",
        "tls",
        tls_censor=Behaviour(kind="reset_on_hello"),
    ),
    Case(
        "httpBlockingConnectionReset",
        "http://www.example.com:{http}/",
        "blocked",
        "http",
        censored=Behaviour(kind="reset"),
    ),
    Case(
        "httpDiffWithConsistentDNS",
        "http://www.example.com:{http}/",
        "blocked",
        "http",
        censored=BLOCKPAGE,
    ),
    Case(
        "throttlingWithHTTP",
        "http://www.example.com:{http}/",
        "blocked",
        "http",
        censored=Behaviour(kind="drip", interval=0.5),
    ),
    Case(
        "redirectWithConsistentDNSAndThenConnectionResetForHTTP",
        "http://www.example.com:{http}/",
        "blocked",
        "http",
        site=REDIRECT,
        censored=None,
    ),
    Case(
        "websiteDownNXDOMAIN",
        "http://www.example.com:{http}/",
        "down",
        "dns",
        probe_zone={},
        helper_zone={},
    ),
    Case("websiteDownTCPConnect", "http://www.example.com:1/", "down", "tcp"),
    Case(
        "badSSLWithExpiredCertificate",
        "https://www.example.com:{https}/",
        "down",
        "tls",
        certificate="expired",
    ),
    Case(
        "badSSLWithWrongServerName",
        "https://www.example.com:{https}/",
        "down",
        "tls",
        certificate="wrong_name",
    ),
    Case(
        "badSSLWithUnknownAuthorityWithConsistentDNS",
        "https://www.example.com:{https}/",
        "down",
        "tls",
        certificate="unknown_ca",
    ),
    Case(
        "redirectWithMoreThanTenRedirectsAndHTTP",
        "http://www.example.com:{http}/",
        "down",
        "http",
        site=Behaviour(kind="redirect", status=302, location="/again"),
    ),
    Case(
        "controlFailureWithSuccessfulHTTPWebsite",
        "http://www.example.com:{http}/",
        "insufficient",  # no control, no verdict (issue 9)
        None,
        helper_down=True,
    ),
]


async def run_case(case: Case, folder: Path) -> WebMeasurement:
    """Measure `case` in its own world; the measurement as the probe writes it."""
    async with world(
        folder,
        honest_zone=case.helper_zone or {},
        probe_zone=case.probe_zone,
        site=case.site,
        censored=case.censored,
        tls_censor=case.tls_censor,
        certificate=case.certificate,
    ) as w:
        url = case.url.format(http=w.http.port, https=w.https.port)
        if case.name.startswith("redirectWithConsistentDNSAndThenConnectionReset"):
            # the first hop works; the second host resets the probe's request
            def router(host: str, path: str, client: str) -> Behaviour:
                if host == "second.example.com":
                    return Behaviour(kind="reset") if client == "127.0.0.2" else Behaviour()
                return Behaviour(
                    kind="redirect",
                    status=302,
                    location=f"http://second.example.com:{w.http.port}/",
                )

            w.http.router = router
        if case.blackhole_site:
            w.blackholes.add((SITE, w.https.port))
        helpers = ("http://127.0.0.1:1/",) if case.helper_down else (w.helper_url,)
        return await measure_in(w, url, helpers)


async def measure_in(w: World, url: str, helpers: tuple[str, ...]) -> WebMeasurement:
    """Measure `url` from the probe's side of `w`; the measurement as the probe writes it."""
    settings = Settings(
        test_helpers=helpers,
        ca_file=str(w.ca.cert_file),
        resolver=("127.0.0.1", w.lying.port),
        dns_timeout=2,
        connect_timeout=2,
        tls_timeout=2,
        http_timeout=3,
        control_timeout=20,
    )
    keys, helper = await measure(url, w.probe_backend(), settings, Trace())
    now = dt.datetime.now(dt.UTC)
    return envelope(
        url,
        keys,
        location=Location(probe_cc="IT", probe_asn="AS137"),
        report="r",
        started=now,
        test_started=now,
        runtime=0,
        test_helper=helper,
    )
