"""OONI's fastpath anomaly rule, reproduced for every nettest it scores.

:func:`fastpath_scores` is ooni/backend fastpath/fastpath/core.py `score_measurement`
(commit 32d8349dc544, the one the corpus's fixtures come from) followed by the flags
`process_measurement` derives (anomaly = blocking_general > 0.5, failure = accuracy < 0.5,
confirmed). The per-nettest rules are in fastpath_web.py, fastpath_apps.py,
fastpath_signal.py, fastpath_circumvention.py and fastpath_network.py, each citing core.py's
function. This is OONI's verdict, reproduced to compare ours with (tests/analysis/
test_fastpath_parity.py); it never feeds our own verdicts.

Returns None where the fastpath writes no score: the scorers that return `{}` (riseupvpn
since ooni/backend#745, ndt; unless the date check below fills it) and the shapes on which
core.py raises (NoRow: no row is stored).
A test_name core.py does not know (dnscheck, urlgetter, anything new) scores zeros with
accuracy 0, a "failure", as there. `flag_measurements_with_wrong_date` runs on the
measurement's own `measurement_uid` (core.py gets the collector's, the same string): a start
time over an hour after the uid's reception time, or over a year before it, is a failure.
Not reproduced: `process_measurement`'s filters (it stores nothing for a measurement without
report_id, from ZZ or AS0).

Differences forced by reading our decoded measurements rather than OONI's raw dict: a null
envelope key counts as missing (psiphon's `"resolver_ip" not in msm`), and a
web_connectivity measurement decoded with typed keys has every key present (`accessible`
null where the probe wrote none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec

from netvigil.analysis import (
    fastpath_apps,
    fastpath_circumvention,
    fastpath_network,
    fastpath_signal,
    fastpath_web,
)
from netvigil.analysis.fastpath_score import (
    FastpathScore,
    NoRow,
    Scores,
    failed_scores,
    score_of,
)
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.records import AnyMeasurement, Envelope

__all__ = ["SCORERS", "FastpathScore", "fastpath_scores", "measurement_dict"]

Scorer = Callable[[dict[str, Any]], Scores]

# core.py `score_measurement`'s dispatch, in its order (web ones need the fingerprints).
SCORERS: dict[str, Scorer] = {
    "telegram": fastpath_apps.score_telegram,
    "facebook_messenger": fastpath_apps.score_facebook_messenger,
    "http_header_field_manipulation": fastpath_network.score_hhfm,
    "http_invalid_request_line": fastpath_network.score_http_invalid_request_line,
    "whatsapp": fastpath_apps.score_whatsapp,
    "vanilla_tor": fastpath_circumvention.score_vanilla_tor,
    "ndt": lambda msm: {},  # core.py `score_ndt`: a stub
    "tcp_connect": fastpath_network.score_tcp_connect,
    "dash": fastpath_network.score_dash,
    "meek_fronted_requests_test": fastpath_circumvention.score_meek,
    "psiphon": fastpath_circumvention.score_psiphon,
    "tor": fastpath_circumvention.score_tor,
    "dns_consistency": fastpath_network.score_dns_consistency,
    "signal": fastpath_signal.score_signal,
    "stunreachability": fastpath_circumvention.score_stunreachability,
    "torsf": fastpath_circumvention.score_torsf,
    "riseupvpn": fastpath_circumvention.score_riseupvpn,
    "openvpn": fastpath_circumvention.score_openvpn,
    "browser_web": fastpath_network.score_browser_web,
}
_WITH_FINGERPRINTS = {
    "web_connectivity": fastpath_web.score_web_connectivity,
    "http_requests": fastpath_web.score_http_requests,
}
_ENVELOPE_FIELDS = tuple(f for f in Envelope.__struct_fields__)


def measurement_dict(measurement: AnyMeasurement) -> dict[str, Any]:
    """The measurement as the plain JSON object core.py reads (null envelope keys left out,
    and an empty test_version: the envelope's default for a missing one)."""
    msm: dict[str, Any] = {
        name: msgspec.to_builtins(value)
        for name in _ENVELOPE_FIELDS
        if (value := getattr(measurement, name)) is not None
        and not (name == "test_version" and value == "")
    }
    msm["test_keys"] = measurement.test_keys_object()
    return msm


def fastpath_scores(
    measurement: AnyMeasurement, fingerprints: FingerprintDB | None = None
) -> FastpathScore | None:
    """OONI's fastpath score of one measurement, None where the fastpath writes none.

    `fingerprints` (default: the bundled ones) serve web_connectivity and http_requests,
    matched OONI's way (fastpath_web.py).
    """
    msm = measurement_dict(measurement)
    name = measurement.test_name
    try:
        if name in _WITH_FINGERPRINTS:
            db = fingerprints if fingerprints is not None else FingerprintDB.load()
            scores = _WITH_FINGERPRINTS[name](msm, db)
        elif name in SCORERS:
            scores = SCORERS[name](msm)
        else:
            scores = failed_scores()  # "Unsupported test name"
    except NoRow:
        return None
    _flag_wrong_date(msm, measurement.measurement_uid or "", scores)
    return score_of(scores) if scores else None


_YEAR = 31536000  # seconds, core.py's "too old"


def _flag_wrong_date(msm: dict[str, Any], uid: str, scores: Scores) -> None:
    """core.py `flag_measurements_with_wrong_date`: it fills even an empty `{}`."""
    if not uid.startswith("20") or len(uid) < 20:
        return
    try:
        received = dt.datetime.strptime(uid[:22], "%Y%m%d%H%M%S.%f_")
        started = dt.datetime.strptime(str(msm.get("measurement_start_time") or ""), _TIME)
    except ValueError:
        return
    delta = (received - started).total_seconds()
    if delta < -3600:
        scores.update(accuracy=0.0, msg="Measurement start time from the future")
    elif delta > _YEAR:
        scores.update(accuracy=0.0, msg="Measurement start time too old")


_TIME = "%Y-%m-%d %H:%M:%S"
