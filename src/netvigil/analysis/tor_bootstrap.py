"""Verdicts for the tor bootstraps: `vanilla_tor` (ts-016) and `torsf` (ts-030, Snowflake).

Both run tor until it logs "Bootstrapped 100%" or a deadline passes (probe-cli vanillator.go,
torsf.go). Layer tunnel: ok only when tor logged "Bootstrapped 100%" (or its progress is 100,
what the fastpath reads), blocked when it stalled, with the progress reached as witness. The
fastpath's score 1 - 0.004 * progress (ooni/backend fastpath core.py `score_vanilla_tor`) is
over 0.5 for any progress below 100, so every stall is an anomaly there; our rules keep its
numbers in three brackets of tor's bootstrap phases. A log missing or empty: accuracy 0 there,
insufficient here. One difference: a tor that stopped with "unknown-error" at 0% never tried
the network, which shows nothing about it (insufficient; the fastpath would say anomaly).
`torsf` fails as OONI says (core.py `score_torsf`: any `failure` is blocking; ooniprobe-android
3.8.3 measured it inaccurately, ooni/ooni.org#772); torsf 0.1.0 kept no logs, so a bootstrap
time without a failure is its evidence of success.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Layer, RuleBook, Verdict, Witness
from netvigil.records import AnyMeasurement, decode_keys
from netvigil.records.tor import BootstrapKeys

# analysis/nettests.py's type, spelled out: that module imports this one.
Analyser = Callable[[AnyMeasurement, FingerprintDB], Verdict]

# Where the bootstrap got to is its witnesses' (the progress key or the last "Bootstrapped"
# log line), never the technique's.
TECHNIQUES: Final = frozenset(
    {
        "tor.bootstrapped",
        "tor.bootstrap_stalled",
        "snowflake.bootstrapped",
        "snowflake.bootstrap_failed",
    }
)
RULES = RuleBook(
    {
        "vanilla_tor.no_logs": (0.0, 0.0, 0.0),
        "vanilla_tor.tor_stopped": (0.0, 0.0, 0.0),
        "vanilla_tor.bootstrapped": (0.0, 0.0, 1.0),
        # 1 - 0.004 * progress at each bracket's usual progress (5%, 15%, 75%), rest "down".
        "vanilla_tor.stalled_before_relay": (0.98, 0.02, 0.0),
        "vanilla_tor.stalled_at_handshake": (0.94, 0.06, 0.0),
        "vanilla_tor.stalled_in_directory": (0.7, 0.3, 0.0),
        "torsf.inaccurate_version": (0.0, 0.0, 0.0),
        "torsf.no_evidence": (0.0, 0.0, 0.0),
        "torsf.bootstrapped": (0.0, 0.0, 1.0),
        "torsf.bootstrap_failed": (0.8, 0.2, 0.0),
    },
    techniques=TECHNIQUES,
)

# A tor "Bootstrapped" notice (tor's bootstrap phases; probe-cli torlogs.go reads the same
# lines); tor before 0.3.5 wrote no tag: "Bootstrapped 100%: Done".
BOOTSTRAP_LINE = re.compile(r"Bootstrapped (\d{1,3})%(?: \(([A-Za-z_]+)\))?: ?(.*)$")


def _insufficient(measurement: AnyMeasurement, rule: str, reason: str) -> Verdict:
    verdict = RULES.verdict(Layer.TUNNEL, rule)
    return verdict_of(measurement, [verdict], access=Layer.TUNNEL, reason=reason)


def bootstrap_progress(keys: BootstrapKeys) -> tuple[int, Witness]:
    """The progress tor reached and the key or log line that shows it, phase and all
    ("5% (conn): Connecting to a relay"); no "Bootstrapped" line is 0%. `tor_progress` is
    what the fastpath reads; the last "Bootstrapped" line is where probe-cli takes it from
    (vanillator.go `readTorLogs`)."""
    lines = keys.log_lines()
    last = next(
        (
            (n, m)
            for n, line in reversed(list(enumerate(lines)))
            if (m := BOOTSTRAP_LINE.search(line))
        ),
        None,
    )
    key = "tor_logs" if keys.tor_logs is not None else "tor_log"
    if keys.tor_progress is not None:
        progress = int(min(100.0, max(0.0, keys.tor_progress)))
        phase = f"{progress}% ({keys.tor_progress_tag or '?'}): {keys.tor_progress_summary or ''}"
        return progress, Witness(ref="test_keys.tor_progress", observed=phase.strip())
    if last is not None:
        n, match = last
        return int(match[1]), Witness(ref=f"test_keys.{key}[{n}]", observed=lines[n].strip())
    if keys.tor_logs is None and keys.tor_log is None:  # torsf 0.1.0 kept none
        return 0, Witness(ref="test_keys", observed="0%: no tor log recorded")
    return 0, Witness(ref=f"test_keys.{key}", observed='0%: no "Bootstrapped" line')


def _bootstrapped(keys: BootstrapKeys) -> Witness | None:
    lines = keys.log_lines()
    key = "tor_logs" if keys.tor_logs is not None else "tor_log"
    for n, line in enumerate(lines):
        if "Bootstrapped 100%" in line:
            return Witness(ref=f"test_keys.{key}[{n}]", observed=line.strip())
    if keys.tor_progress is not None and keys.tor_progress >= 100:
        return Witness(ref="test_keys.tor_progress", observed="100")
    return None


def analyse_vanilla_tor(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, BootstrapKeys)
    if keys is None or not keys.log_lines():
        why = "no tor bootstrap log (OONI scores such a measurement with accuracy 0)"
        return _insufficient(measurement, "vanilla_tor.no_logs", why)
    done = _bootstrapped(keys)
    if done is not None:
        verdict = RULES.verdict(
            Layer.TUNNEL,
            "vanilla_tor.bootstrapped",
            technique="tor.bootstrapped",
            witnesses=(done,),
        )
        return verdict_of(measurement, [verdict], access=Layer.TUNNEL)
    progress, shown = bootstrap_progress(keys)
    witnesses = tuple(w for w in (shown, _failure(keys)) if w is not None)
    if progress == 0 and keys.error == "unknown-error":
        why = "tor stopped before it tried the network (error: unknown-error, 0%)"
        verdict = RULES.verdict(Layer.TUNNEL, "vanilla_tor.tor_stopped", witnesses=witnesses)
        return verdict_of(measurement, [verdict], access=Layer.TUNNEL, reason=why)
    if progress < 10:  # tor's phase 10 is conn_done: a TCP connection to a relay
        rule = "vanilla_tor.stalled_before_relay"
    elif progress < 25:  # 25 is requesting_status: the link handshake worked
        rule = "vanilla_tor.stalled_at_handshake"
    else:
        rule = "vanilla_tor.stalled_in_directory"
    verdict = RULES.verdict(
        Layer.TUNNEL, rule, technique="tor.bootstrap_stalled", witnesses=witnesses
    )
    return verdict_of(measurement, [verdict], access=Layer.TUNNEL)


def _failure(keys: BootstrapKeys) -> Witness | None:
    if keys.failure is None:
        return None
    return Witness(ref="test_keys.failure", observed=keys.failure)


def analyse_torsf(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    software = measurement.software_name or ""
    if measurement.software_version == "3.8.3" and software.startswith("ooniprobe-android"):
        why = "ooniprobe-android 3.8.3 measured torsf inaccurately (ooni/ooni.org#772)"
        return _insufficient(measurement, "torsf.inaccurate_version", why)
    keys = decode_keys(measurement, BootstrapKeys)
    if keys is None:
        return _insufficient(measurement, "torsf.no_evidence", "no test keys")
    _, shown = bootstrap_progress(keys)
    if keys.failure is not None:
        witnesses = tuple(w for w in (_failure(keys), shown) if w is not None)
        technique = "snowflake.bootstrap_failed"
        verdict = RULES.verdict(
            Layer.TUNNEL, "torsf.bootstrap_failed", technique=technique, witnesses=witnesses
        )
        return verdict_of(measurement, [verdict], access=Layer.TUNNEL)
    done = _bootstrapped(keys)
    if done is None and (keys.success or (keys.bootstrap_time or 0) > 0):
        # torsf 0.1.0 kept no logs: a bootstrap time without a failure is its success.
        done = Witness(ref="test_keys.bootstrap_time", observed=f"{keys.bootstrap_time}")
    if done is None:
        why = "no failure, but nothing shows the tunnel bootstrapped"
        return _insufficient(measurement, "torsf.no_evidence", why)
    verdict = RULES.verdict(
        Layer.TUNNEL, "torsf.bootstrapped", technique="snowflake.bootstrapped", witnesses=(done,)
    )
    return verdict_of(measurement, [verdict], access=Layer.TUNNEL)


BOOTSTRAP_ANALYSERS: dict[str, Analyser] = {
    "vanilla_tor": analyse_vanilla_tor,
    "torsf": analyse_torsf,
}
