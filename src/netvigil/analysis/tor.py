"""Verdicts for `tor` (ts-023): which directory authorities and bridges were reached.

`tor` measures targets of four kinds (ts-023 "Test description"): `dir_port` (an HTTP GET of the
consensus: layer http), `or_port` / `or_port_dirauth` (a TLS handshake: tls), `obfs4` (the
obfs4 handshake: tunnel), anything else a TCP connect. Each kind gets one layer verdict:

- every target of the kind failed → blocked (`tor.kind_all_failed`), at the earliest layer a
  target failed: OONI's own probe flags exactly this as the anomaly (probe-cli tor.go
  `MeasurementSummaryKeys`: a kind with `*_total > 0` and `*_accessible <= 0`);
- some reached → ok, naming them; those that failed are a `partial_failure` finding;
- OONI's fastpath scores blocked / (blocked + reached) and calls more than half an anomaly
  (backend fastpath core.py `score_tor`, anomaly when `blocking_general > 0.5`): when that
  holds and no kind failed whole, `tor.most_targets_failed` says blocked with less confidence.
  Targets as a list (early probes) or none at all: fastpath accuracy 0, so insufficient.

`vanilla_tor` and `torsf` are judged in :mod:`netvigil.analysis.tor_bootstrap`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Final

from msgspec import UNSET

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.tor_bootstrap import BOOTSTRAP_ANALYSERS, Analyser
from netvigil.analysis.tor_bootstrap import TECHNIQUES as BOOTSTRAP_TECHNIQUES
from netvigil.analysis.verdicts import (
    LAYER_ORDER,
    Finding,
    Layer,
    LayerVerdict,
    RuleBook,
    Verdict,
    Witness,
)
from netvigil.records import AnyMeasurement, decode_keys
from netvigil.records.tor import (
    DIR_PORT,
    OBFS4,
    OR_PORT,
    OR_PORT_DIRAUTH,
    PROTOCOLS,
    SCRUBBED,
    TorKeys,
    TorTarget,
)

# A kind's technique: `tor.<kind>_unreachable` (every target of it failed) or
# `tor.<kind>_reached` (some or all reached: the rule says which), ts-023's kinds, any other
# protocol a TCP connect; `tor.most_targets_unreachable` is the fastpath's reading. The
# counts are the first witness (`test_keys.targets`), each target's failure the others.
TCP_CONNECT = "tcp_connect"
KINDS = (*PROTOCOLS, TCP_CONNECT)
TECHNIQUES: Final = frozenset(
    {
        *(f"tor.{kind}_{how}" for kind in KINDS for how in ("unreachable", "reached")),
        "tor.most_targets_unreachable",
        *BOOTSTRAP_TECHNIQUES,
    }
)
RULES = RuleBook(
    {
        "tor.no_targets": (0.0, 0.0, 0.0),
        "tor.targets_as_list": (0.0, 0.0, 0.0),
        "tor.no_target_ran": (0.0, 0.0, 0.0),
        "tor.target_keys_missing": (0.0, 0.0, 0.0),
        "tor.kind_all_failed": (0.8, 0.2, 0.0),
        "tor.most_targets_failed": (0.6, 0.4, 0.0),
        "tor.kind_reached": (0.0, 0.0, 1.0),
        "tor.kind_partly_reached": (0.0, 0.1, 0.9),
    },
    techniques=TECHNIQUES,
)

ACTION_LAYER = {DIR_PORT: Layer.HTTP, OR_PORT: Layer.TLS, OR_PORT_DIRAUTH: Layer.TLS}
ACTION_LAYER[OBFS4] = Layer.TUNNEL
_TOR_ACCESS = frozenset((Layer.TCP, Layer.TLS, Layer.HTTP, Layer.TUNNEL))


def _name(target_id: str, target: TorTarget) -> str:
    """How a witness names a target: never a private bridge's address."""
    if target.private:
        return f"private bridge {SCRUBBED}"
    return target.target_name or target.target_address or target_id


def _ref(target_id: str, target: TorTarget) -> str:
    return f"test_keys.targets.{SCRUBBED if target.private and ':' in target_id else target_id}"


def _failed_step(target_id: str, target: TorTarget) -> tuple[Layer, Witness]:
    """Where a failed target failed: the first step with a failure, else the kind's action."""
    ref, failure = _ref(target_id, target), str(target.failure)
    connect = target.tcp_connect[0] if target.tcp_connect else None
    tls = target.tls_handshakes[0] if target.tls_handshakes else None
    request = target.requests[0] if target.requests else None
    if connect is not None and connect.status.failure:
        layer, ref, failure = Layer.TCP, f"{ref}.tcp_connect[0]", connect.status.failure
    elif tls is not None and tls.failure:
        layer, ref, failure = Layer.TLS, f"{ref}.tls_handshakes[0]", tls.failure
    elif request is not None and request.failure:
        layer, ref, failure = Layer.HTTP, f"{ref}.requests[0]", request.failure
    else:
        layer = ACTION_LAYER.get(target.target_protocol or "", Layer.TCP)
    observed = f"{target.target_protocol} {_name(target_id, target)}: {failure}"
    return layer, Witness(ref=ref, observed=observed)


def ooni_blocking(keys: TorKeys | None) -> float | None:
    """OONI's fastpath `blocking_general` for a tor measurement (None: accuracy 0)."""
    targets = keys.targets if keys is not None else None
    if not targets or isinstance(targets, list):
        return None
    failed = sum(1 for t in targets.values() if isinstance(t.failure, str))
    reached = sum(1 for t in targets.values() if t.failure is None)
    return failed / (failed + reached) if failed + reached else None


def analyse_tor(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, TorKeys)
    targets = keys.targets if keys is not None else None
    if isinstance(targets, list):
        why = "targets written as a list (an early experimental format OONI does not score)"
        return _insufficient(measurement, Layer.TCP, "tor.targets_as_list", why)
    if not targets:
        return _insufficient(measurement, Layer.TCP, "tor.no_targets", "no targets measured")
    incomplete = sorted(i for i, t in targets.items() if UNSET in (t.failure, t.network_events))
    if incomplete:  # the fastpath's "missing Tor failure or network_events field"
        why = f"target {incomplete[0]!r} has no failure or network_events key"
        return _insufficient(measurement, Layer.TCP, "tor.target_keys_missing", why)
    kinds: dict[str, list[tuple[str, TorTarget]]] = {}
    for target_id, target in sorted(targets.items()):
        if target.failure is not False:  # false: this target did not run
            kinds.setdefault(target.target_protocol or TCP_CONNECT, []).append((target_id, target))
    if not kinds:
        return _insufficient(measurement, Layer.TCP, "tor.no_target_ran", "no target ran")
    layers: list[LayerVerdict] = []
    findings: list[Finding] = []
    whole_kind_failed = False
    all_failures: list[tuple[Layer, Witness]] = []
    for kind, members in kinds.items():
        failed = [_failed_step(i, t) for i, t in members if t.failure is not None]
        reached = [(i, t) for i, t in members if t.failure is None]
        all_failures += failed
        action = ACTION_LAYER.get(kind, Layer.TCP)
        if not reached:
            whole_kind_failed = True
            common, count = Counter(w.observed.rsplit(": ", 1)[-1] for _, w in failed).most_common(
                1
            )[0]
            counted = _counted(
                f"every {kind} target failed ({len(failed)}/{len(members)}; {count}: {common})"
            )
            layer = _earliest(layer for layer, _ in failed)
            witnesses = (counted, *(w for _, w in failed))
            technique = _technique(kind, "unreachable")
            layers.append(
                RULES.verdict(
                    layer, "tor.kind_all_failed", technique=technique, witnesses=witnesses
                )
            )
            continue
        witnesses = (
            _counted(f"{len(reached)}/{len(members)} {kind} targets reached"),
            *(
                Witness(ref=_ref(i, t), observed=f"{kind} {_name(i, t)}: reached")
                for i, t in reached
            ),
        )
        rule = "tor.kind_reached" if not failed else "tor.kind_partly_reached"
        technique = _technique(kind, "reached")
        layers.append(RULES.verdict(action, rule, technique=technique, witnesses=witnesses))
        if failed:
            detail = f"{len(failed)} of {len(members)} {kind} targets failed"
            findings.append(
                Finding(
                    kind="partial_failure",
                    layer=action,
                    detail=detail,
                    witnesses=tuple(w for _, w in failed),
                )
            )
    score = ooni_blocking(keys)
    if not whole_kind_failed and score is not None and score > 0.5:
        counted = _counted(
            f"{len(all_failures)} of the targets failed (OONI's score {score:.2f} > 0.5)"
        )
        layer = _earliest(layer for layer, _ in all_failures)
        witnesses = (counted, *(w for _, w in all_failures))
        technique = "tor.most_targets_unreachable"
        layers.append(
            RULES.verdict(
                layer, "tor.most_targets_failed", technique=technique, witnesses=witnesses
            )
        )
    return verdict_of(measurement, layers, findings, access=_TOR_ACCESS)


def _technique(kind: str, how: str) -> str:
    return f"tor.{kind if kind in PROTOCOLS else TCP_CONNECT}_{how}"


def _counted(text: str) -> Witness:
    """The counts behind a kind's verdict, the first witness (the technique is only an id)."""
    return Witness(ref="test_keys.targets", observed=text)


def _earliest(layers: Iterable[Layer]) -> Layer:
    found = set(layers)
    return next(layer for layer in LAYER_ORDER if layer in found)


def _insufficient(measurement: AnyMeasurement, layer: Layer, rule: str, reason: str) -> Verdict:
    return verdict_of(measurement, [RULES.verdict(layer, rule)], access=layer, reason=reason)


ANALYSERS: dict[str, Analyser] = {"tor": analyse_tor, **BOOTSTRAP_ANALYSERS}
