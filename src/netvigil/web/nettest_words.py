"""The words of the nettests beyond web_connectivity (issue 13): their techniques (each
family's declared ids, analysis/nettests.py) and their findings.

Each sentence says what the probe saw, no more than the rule that names it (the analysers:
analysis/messaging*.py, tor*.py, tunnels.py, middlebox*.py, resolvers.py,
stunreachability.py, speed.py, tls_interception.py). A messaging app's technique is
web_connectivity's name (`tcp_reset`, from messaging_trace.technique), but web
connectivity's sentences speak of a test helper these tests do not have, so the apps get
their own, the app's name as a parameter (`APP_HOW`). Whole sentences only: a translator
never sees fragments glued together. Tor's verdicts before rules 2026.12.4 put counts and
phases in the technique; until re-analysed they are shown as written ("The probe saw ...").
"""

from __future__ import annotations


def N_(text: str) -> str:
    """Marks `text` for the catalogue; it is translated where it is shown."""
    return text


# Techniques with a fixed name, by the analyser that names them.
NETTEST_HOW: dict[str, str] = {
    # facebook_messenger: an answer outside Facebook's AS (messaging_facebook.py)
    "dns_inconsistent": N_("DNS returned addresses outside the service's own network"),
    # dnscheck (resolvers.py) and stunreachability (stunreachability.py)
    "dns.bogon": N_("DNS returned a private (bogon) address"),
    "dns.nxdomain": N_("DNS said the name does not exist, or gave no address for it"),
    "dns.no_answer": N_("The DNS resolver gave no address for the name"),
    "dns.dns_refused": N_("The DNS resolver refused to answer"),
    "dns.dns_server_error": N_("The DNS resolver answered with a server error"),
    "tcp.reset": N_("The connection to the DNS resolver was reset"),
    "tcp.timeout": N_("Connecting to the DNS resolver timed out"),
    "tcp.eof": N_("The connection to the DNS resolver was closed before it answered"),
    "tls.reset": N_("The TLS handshake with the DNS resolver was reset"),
    "tls.timeout": N_("The TLS handshake with the DNS resolver timed out"),
    "tls.eof": N_("The connection was closed during the TLS handshake with the DNS resolver"),
    "tls.certificate_replaced": N_(
        "The DNS resolver's TLS certificate was rejected: it is not valid for the resolver's name"
    ),
    "http.reset": N_("The DNS-over-HTTPS request was reset"),
    "http.timeout": N_("The DNS-over-HTTPS request timed out"),
    "http.eof": N_("The connection was closed during the DNS-over-HTTPS request"),
    "udp.timeout": N_("The STUN server did not reply"),
    # psiphon, openvpn, riseupvpn (tunnels.py)
    "tunnel.bootstrapped": N_("The Psiphon tunnel bootstrapped"),
    "tunnel.handshake": N_("The OpenVPN handshake with the server completed"),
    "tcp.connected": N_("The server accepted a TCP connection"),
    "http.ok": N_("The RiseupVPN API answered over HTTPS"),
    # http_header_field_manipulation, http_invalid_request_line (middlebox_evidence.py)
    "middlebox.header_rewrite": N_("The request's headers reached the echo helper changed"),
    "middlebox.request_line_rewrite": N_("The request line reached the echo helper changed"),
    "middlebox.transparent_proxy": N_(
        "What came back was not the echo helper's echo: something on the path handled the request"
    ),
    # tor (tor.py): every target of a kind failed, or some were reached; the counts are
    # the layer's first witness (`test_keys.targets`), each target's failure the others
    "tor.dir_port_unreachable": N_("Every Tor directory port the probe tried failed"),
    "tor.or_port_unreachable": N_("Every Tor relay (OR port) the probe tried failed"),
    "tor.or_port_dirauth_unreachable": N_("Every Tor directory authority the probe tried failed"),
    "tor.obfs4_unreachable": N_("Every obfs4 bridge the probe tried failed"),
    "tor.tcp_connect_unreachable": N_("Every Tor target the probe connected to over TCP failed"),
    "tor.most_targets_unreachable": N_(
        "More than half of the Tor targets failed, as OONI's fastpath scores it"
    ),
    "tor.dir_port_reached": N_("The probe reached Tor directory ports"),
    "tor.or_port_reached": N_("The probe reached Tor relays (OR ports)"),
    "tor.or_port_dirauth_reached": N_("The probe reached Tor directory authorities"),
    "tor.obfs4_reached": N_("The probe reached obfs4 bridges"),
    "tor.tcp_connect_reached": N_("The probe reached Tor targets over TCP"),
    # vanilla_tor, torsf (tor_bootstrap.py): the progress reached is the witness
    "tor.bootstrapped": N_("Tor bootstrapped fully (100%%)"),
    "tor.bootstrap_stalled": N_("Tor's bootstrap stalled before it was done"),
    "snowflake.bootstrapped": N_("Tor bootstrapped over Snowflake"),
    "snowflake.bootstrap_failed": N_("Tor did not bootstrap over Snowflake"),
}

APPS = {
    "signal": "Signal",
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "facebook_messenger": "Facebook Messenger",
}
APP_HOW: dict[str, str] = {
    "dns_nxdomain": N_("DNS said the name of %(app)s's server does not exist"),
    "dns_no_answer": N_("DNS gave no address for %(app)s's server"),
    "dns_refused": N_("The DNS resolver refused to look up %(app)s's server"),
    "dns_servfail": N_("The DNS resolver answered a server error for %(app)s's server"),
    "dns_timeout": N_("Looking up %(app)s's server timed out"),
    "dns_bogon": N_("DNS returned a private (bogon) address for %(app)s's server"),
    "dns_failure": N_("Looking up %(app)s's server failed"),
    "dns_inconsistent": N_("DNS returned addresses outside %(app)s's own network"),
    "tcp_timeout": N_("Connecting to %(app)s's servers timed out"),
    "tcp_reset": N_("The connection to %(app)s's servers was reset"),
    "tcp_refused": N_("The connection to %(app)s's servers was refused"),
    "tcp_eof": N_("The connection to %(app)s's servers was closed at once"),
    "tcp_unreachable": N_("%(app)s's servers were unreachable"),
    "tcp_failure": N_("Connecting to %(app)s's servers failed"),
    "tls_timeout": N_("The TLS handshake with %(app)s's servers timed out"),
    "tls_reset": N_("The TLS handshake with %(app)s's servers was reset"),
    "tls_refused": N_("The TLS handshake with %(app)s's servers was refused"),
    "tls_eof": N_("The connection was closed during the TLS handshake with %(app)s's servers"),
    "tls_unreachable": N_("%(app)s's servers became unreachable during the TLS handshake"),
    "tls_failure": N_("The TLS handshake with %(app)s's servers failed"),
    "tls_mitm_certificate": N_(
        "The TLS certificate shown for %(app)s's servers was rejected by the roots it must chain to"
    ),
    "http_timeout": N_("The request to %(app)s's servers timed out"),
    "http_reset": N_("The request to %(app)s's servers was reset"),
    "http_refused": N_("The request to %(app)s's servers was refused"),
    "http_eof": N_("The connection was closed during the request to %(app)s's servers"),
    "http_unreachable": N_("%(app)s's servers became unreachable during the request"),
    "http_failure": N_("The request to %(app)s's servers failed"),
}

# Verdicts of rules before 2026.12.4 named a messaging technique `<layer>_<failure kind>`
# (netvigil.failures.FailureKind); until they are re-analysed, the kinds spelled otherwise
# than web_connectivity's techniques are read as its words, and the rest as "failed".
_LAYERS = ("dns", "tcp", "tls", "http")
_KINDS = {  # (layer, failure kind) -> the word web_connectivity's techniques use
    ("dns", "dns_refused"): "refused",
    ("dns", "dns_server_error"): "servfail",
    ("dns", "dns_bogon"): "bogon",
    ("tls", "tls_certificate"): "mitm_certificate",
}


def canonical(technique: str, known: dict[str, str]) -> str:
    """A `<layer>_<kind>` technique as the name `known` has words for (`dns_dns_refused` →
    `dns_refused`, `tcp_other` → `tcp_failure`); any other technique unchanged."""
    layer, sep, kind = technique.partition("_")
    if not sep or layer not in _LAYERS or technique in known:
        return technique
    name = f"{layer}_{_KINDS.get((layer, kind), kind)}"
    return name if name in known else f"{layer}_failure"


FINDINGS: dict[str, str] = {
    "telegram.partial_dc_connects": N_(
        "Some of Telegram's data centres could not be connected to; the others could"
    ),
    "telegram.partial_dc_requests": N_(
        "Some of Telegram's data centres did not answer over HTTP; the others did"
    ),
    "whatsapp.partial_endpoint_connects": N_(
        "Some of WhatsApp's chat endpoints could not be connected to; the others could"
    ),
    "whatsapp.summary_contradicted": N_(
        "The probe's own summary says blocked, but the server answered"
    ),
    "partial_failure": N_("Some Tor targets of this kind failed; the others were reached"),
    "middlebox_product": N_("A product on the path named itself in what came back"),
    "tls_interception": N_(
        "The TLS certificate the probe was shown is not the site's, while the test helper "
        "validated the site's"
    ),
    "tunnel_use_failed": N_("The tunnel came up, but fetching through it failed"),
    "dns_outside_tunnel": N_("DNS lookups were made outside the tunnel"),
    "throughput": N_("The speed measured"),
    "dns_fingerprint_unconfirmed": N_(
        "A DNS answer matches a blockpage fingerprint not confirmed for this country"
    ),
    "http_fingerprint_unconfirmed": N_(
        "The page matches a blockpage fingerprint not confirmed for this country"
    ),
    "dns_bogon_in_control": N_("The control also got the private (bogon) answer"),
    "dns_answer_not_in_control": N_(
        "The DNS answer differs from the control's, but other evidence vouches for it"
    ),
    "server_challenge": N_("The site's own server answered with a challenge"),
}
