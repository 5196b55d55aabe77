"""Run a function with its sockets inside one of the lab's network namespaces.

`netvigil lab run` lives in the root namespace, which by design has no route into the lab
(lab/topology.py): that is what keeps the lab's traffic in. To read the collector's API in
`server`, a thread joins that namespace alone: setns(2) moves only the calling thread
("reassociate the calling thread with a namespace"), so the rest of the process, and every
socket it opens, stays where it was. The thread is new for each call and ends with it, so no
thread of the pool of another library is ever left in the lab.

Python 3.11 has no os.setns (3.12 adds it), so libc's is called through ctypes.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import Final, TypeVar

__all__ = ["NamespaceError", "call_in"]

T = TypeVar("T")
CLONE_NEWNET: Final = 0x40000000  # <sched.h>
NETNS_DIR: Final = "/run/netns"  # where `ip netns add` binds the namespaces (ip-netns(8))


class NamespaceError(OSError):
    """The namespace cannot be joined (gone, or not ours to join); one line."""


def _join(namespace: str) -> None:
    if "/" in namespace or namespace in ("", ".", ".."):
        raise NamespaceError(f"{namespace!r} is not a namespace name")
    try:
        fd = os.open(os.path.join(NETNS_DIR, namespace), os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NamespaceError(f"namespace {namespace}: {exc.strerror}") from None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise NamespaceError(f"namespace {namespace}: setns: {os.strerror(errno)}")
    finally:
        os.close(fd)


def call_in(namespace: str, function: Callable[[], T]) -> T:
    """`function()` in a new thread inside `namespace`; its result, or what it raised."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            _join(namespace)
            outcome.append(function())
        except BaseException as exc:  # handed to the caller's thread, raised there
            failure.append(exc)

    thread = threading.Thread(target=body, name=f"netns {namespace}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
