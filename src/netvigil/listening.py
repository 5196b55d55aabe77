"""Listening sockets for `netvigil serve` and `netvigil th serve`, bound before anything starts.

Binding first (and handing the socket to uvicorn) means a busy port is one line of ours, not
"observatory on ..." followed by uvicorn's error, and that the address a server prints is
one it is already listening on: nothing is loaded or created for a server that cannot run.
"""

from __future__ import annotations

import errno
import socket

BACKLOG = 2048  # uvicorn's default


class ListenError(OSError):
    """The address cannot be listened on (the message is one line, naming the address)."""


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port; ListenError says why not."""
    where = url_of(host, port).removeprefix("http://").rstrip("/")
    try:
        (family, kind, proto, _, address), *_ = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise ListenError(f"--host: cannot resolve {host!r}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # Lets a restarted server reuse the port its predecessor left in TIME_WAIT; it does
        # not let two servers listen on one port (that needs SO_REUSEPORT on both).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"{where} is already in use (another server?): stop it or choose another --port"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ListenError(f"--host: {host} is not an address of this machine") from None
        raise ListenError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    return sock
