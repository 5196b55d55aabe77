"""The certificate chain a TLS server sent, kept even when the probe refused it.

OONI's df-006 `peer_certificates` is the chain the server presented, in the order it sent it,
recorded whether or not validation succeeded: a refused chain is the evidence of TLS
interception (whose CA forged the site's name; analysis/tls_interception.py). Go's crypto/tls
hands the chain to the caller either way. Python's ssl gives no certificate once validation
has failed (`getpeercert()` then raises or is empty), and the handshake runs inside asyncio's
SSL protocol, out of our reach. So the contexts we make (net/connect.py `tls_context`) create
their SSL objects from :class:`ChainKeepingSSLObject`: when OpenSSL refuses the chain, the
handshake's :class:`ssl.SSLCertVerificationError` carries the chain it refused as
`peer_chain`, and asyncio hands that same exception object to the caller of `start_tls`
(asyncio/sslproto.py `_on_handshake_complete` wakes the waiter with it).

The chain comes from OpenSSL's SSL_get_peer_cert_chain, which Python exposes as
`SSLObject.get_unverified_chain()` from 3.13 and, since 3.10, on the underlying `_ssl`
object only (CPython Modules/_ssl.c `_ssl__SSLSocket_get_unverified_chain_impl`); both are
used, whichever this Python has.
"""

from __future__ import annotations

import _ssl
import ssl
from typing import Any

__all__ = ["ChainKeepingSSLObject", "peer_chain", "refused_chain"]


class ChainKeepingSSLObject(ssl.SSLObject):
    """An SSLObject whose refused handshake says what chain it refused (module docstring)."""

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
        except ssl.SSLCertVerificationError as exc:
            exc.peer_chain = peer_chain(self)  # type: ignore[attr-defined]
            raise


def peer_chain(tls: ssl.SSLObject) -> list[bytes]:
    """The DER certificates the server sent, leaf first ([] when it sent none)."""
    getter = getattr(tls, "get_unverified_chain", None)  # Python >= 3.13
    if getter is None:
        getter = tls._sslobj.get_unverified_chain  # type: ignore[attr-defined]  # 3.10-3.12
    return [_der(cert) for cert in getter() or ()]


def refused_chain(exc: ssl.SSLCertVerificationError) -> list[bytes]:
    """The chain a ChainKeepingSSLObject attached to its refusal ([] for any other's)."""
    chain = getattr(exc, "peer_chain", None)
    return list(chain) if isinstance(chain, list) else []


def _der(cert: Any) -> bytes:
    # 3.13's public method returns DER bytes; the _ssl method returns _ssl.Certificate objects.
    return cert if isinstance(cert, bytes) else bytes(cert.public_bytes(_ssl.ENCODING_DER))
