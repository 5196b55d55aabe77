"""Test keys of OONI's Tor nettests: `tor` (ts-023), `vanilla_tor` (ts-016) and `torsf` (ts-030).

Key names and types as OONI writes them (ooni/spec nettests/ts-023-tor.md, ts-016-vanilla-tor.md,
ts-030-torsf.md; ooni/probe-cli internal/experiment/{tor,vanillator,torsf}) and as the real
measurements in shared/corpus/ooni-measurements/ooni-backend-fastpath-other/ have them:

- `tor`: `targets` maps a target id (``ip:port`` for a directory authority, a SHA-256 hex for a
  bridge) to what measuring it saw; early probes (test_version 0.0.1, tor_list.json) wrote a
  *list*, which OONI's fastpath scores with accuracy 0. A target's `failure` is null on success,
  a string on failure and, in OONI's fastpath, ``false`` for a target that did not run
  (fastpath core.py `score_tor`). Counts per protocol (`dir_port_total`, ...) since 2020-01-27.
- `vanilla_tor` / `torsf`: a tor bootstrap, its "Bootstrapped N%" log lines (`tor_logs`; the
  Measurement Kit probe wrote one string, `tor_log`) and the progress it reached.

The probe-cli tor experiment adds `conn_id`/`dial_id` to its TCP, TLS and network-event records
(measurex archival types): the subclasses below carry them so our measurements have OONI's keys.
"""

from __future__ import annotations

import msgspec

from netvigil.records.base import Record
from netvigil.records.templates import (
    DNSQuery,
    HTTPTransaction,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
)

# ts-023 "This specification defines the following protocols"; anything else is a TCP connect.
DIR_PORT = "dir_port"
OR_PORT = "or_port"
OR_PORT_DIRAUTH = "or_port_dirauth"
OBFS4 = "obfs4"
PROTOCOLS = (DIR_PORT, OR_PORT, OR_PORT_DIRAUTH, OBFS4)
SCRUBBED = "[scrubbed]"  # ts-023 privacy considerations


class TorTCPConnect(TCPConnect, frozen=True):
    conn_id: int | None = None
    dial_id: int | None = None


class TorTLSHandshake(TLSHandshake, frozen=True):
    conn_id: int | None = None


class TorNetworkEvent(NetworkEvent, frozen=True):
    conn_id: int | None = None
    dial_id: int | None = None


class TorOperation(Record, frozen=True):
    """A `summary` value: the failure of one operation ("connect", "handshake")."""

    failure: str | None = None


class TorTarget(Record, frozen=True):
    """ts-023 `Target`: one directory authority or bridge, as measured."""

    agent: str | None = None
    # null: reached; a string: failed; false: did not run (fastpath score_tor). UNSET: the
    # key is missing, which the fastpath scores with accuracy 0 (as a missing network_events).
    failure: str | bool | msgspec.UnsetType | None = msgspec.UNSET
    network_events: list[TorNetworkEvent] | msgspec.UnsetType | None = msgspec.UNSET
    queries: list[DNSQuery] | None = None
    requests: list[HTTPTransaction] | None = None
    summary: dict[str, TorOperation] | None = None
    target_address: str | None = None
    target_name: str | None = None
    target_protocol: str | None = None
    target_source: str | None = None
    tcp_connect: list[TorTCPConnect] | None = None
    tls_handshakes: list[TorTLSHandshake] | None = None

    @property
    def private(self) -> bool:
        """ts-023: a target with a non-empty `source` is a private bridge (probe-cli
        `keytarget.private`: ``Source != ""``), whose address must never be published."""
        return bool(self.target_source)


class TorKeys(Record, frozen=True):
    """ts-023 `tor` test keys."""

    dir_port_total: int | None = None
    dir_port_accessible: int | None = None
    obfs4_total: int | None = None
    obfs4_accessible: int | None = None
    or_port_dirauth_total: int | None = None
    or_port_dirauth_accessible: int | None = None
    or_port_total: int | None = None
    or_port_accessible: int | None = None
    targets: dict[str, TorTarget] | list[TorTarget] | None = None


class BootstrapKeys(Record, frozen=True):
    """`vanilla_tor` (ts-016, probe-cli vanillator 0.3.0) and `torsf` (ts-030, 0.5.1) keys.

    torsf 0.1.0 wrote only `bootstrap_time` and `failure` (torsf_1.json, torsf_2.json).
    `error` is OONI's legacy field: null, "timeout-reached" or "unknown-error".
    """

    bootstrap_time: float | None = None
    error: str | None = None
    failure: str | None = None
    success: bool | None = None
    timeout: float | None = None
    tor_logs: list[str] | str | None = None
    tor_log: str | None = None  # Measurement Kit's vanilla_tor: the whole log, one string
    tor_progress: float | None = None
    tor_progress_tag: str | None = None
    tor_progress_summary: str | None = None
    tor_version: str | None = None
    transport_name: str | None = None
    # torsf only
    persistent_datadir: bool | None = None
    rendezvous_method: str | None = None

    def log_lines(self) -> list[str]:
        """The bootstrap log as lines, whichever key and shape the probe used."""
        logs = self.tor_logs if self.tor_logs is not None else self.tor_log
        if logs is None:
            return []
        return logs.splitlines() if isinstance(logs, str) else list(logs)
