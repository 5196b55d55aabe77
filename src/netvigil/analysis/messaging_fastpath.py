"""OONI's fastpath scores of the messaging nettests, reproduced (anomaly and failure).

What OONI's backend says of a measurement the moment it arrives (ooni/backend at 32d8349d,
fastpath/fastpath/core.py: `score_signal`, `score_measurement_telegram`,
`score_measurement_whatsapp`, `score_measurement_facebook_messenger`): a `blocking_general`
score (anomaly when > 0.5) and an `accuracy` (failure when < 0.5). We keep it beside our own
verdict so the two can be compared, measurement by measurement; where they differ, ours
says why in its witnesses and findings. Rules, in words:

- signal: inaccurate in OONI's known-bug windows (messaging_signal.inaccurate, whose
  engine rule OONI applies to every probe) or when `failure`/`failed_operation` is missing
  or set; blocked = `signal_backend_status` is "blocked".
- telegram: a request without a URL makes the whole measurement inaccurate; else the share
  of failed connects, plus the share of failed DC requests (0.5 each when there are none),
  plus 1 when `telegram_web_status` is "blocked".
- whatsapp: inaccurate without requests, without both the web and registration requests,
  or without any connect; blocked (1.0) when web or registration failed, or no connect worked.
- facebook_messenger: 0.5 per false consistency/reachability key and per true blocking key,
  unless every key of OONI's short list is true and `facebook_tcp_blocking` is false.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netvigil.analysis.messaging_signal import inaccurate
from netvigil.records import AnyMeasurement

Scores = tuple[float, float]  # (blocking_general, accuracy)
WEB_TELEGRAM = ("https://web.telegram.org/", "http://web.telegram.org/")
WEB_WHATSAPP = "https://web.whatsapp.com/"
REGISTRATION = "https://v.whatsapp.net/v2/register"


def _connects(keys: dict[str, Any]) -> tuple[int, int]:
    ok = bad = 0
    for entry in keys.get("tcp_connect") or ():
        success = (entry.get("status") or {}).get("success")
        ok += success is True
        bad += success is False
    return ok, bad


def signal(measurement: AnyMeasurement, keys: dict[str, Any]) -> Scores:
    accuracy = 0.0 if keys.get("failed_operation", True) or keys.get("failure", True) else 1.0
    if inaccurate(measurement, any_engine=True) is not None:
        return 0.0, 0.0
    status = keys.get("signal_backend_status")
    if status == "blocked":
        return 1.0, accuracy
    return 0.0, accuracy if status == "ok" else 0.0


def telegram(measurement: AnyMeasurement, keys: dict[str, Any]) -> Scores:
    ok, bad = _connects(keys)
    answered = failed = 0
    for request in keys.get("requests") or ():
        url = (request.get("request") or {}).get("url")
        if url is None:
            return 0.0, 0.0  # a client bug to OONI: no URL, no score
        if url in WEB_TELEGRAM:
            continue
        if request.get("failure") is None:
            answered += 1
        else:
            failed += 1
    score = bad / (ok + bad) if ok + bad else 0.5
    score += failed / (answered + failed) if answered + failed else 0.5
    if keys.get("telegram_web_status") == "blocked":
        score += 1
    return score, 1.0


def whatsapp(measurement: AnyMeasurement, keys: dict[str, Any]) -> Scores:
    accuracy = 1.0
    for key, value in keys.items():
        if key.endswith("_failure") and str(value or "").startswith("unknown_failure"):
            accuracy = 0.0
    if "unknown_failure 'ascii' co" in str(keys.get("whatsapp_web_failure") or ""):
        return 0.0, 0.0
    requests = keys.get("requests") or ()
    if not requests:
        return 0.0, 0.0
    web = registration = None
    for request in requests:
        url = (request.get("request") or {}).get("url", "")
        if url == WEB_WHATSAPP:
            web = request.get("failure", True) in (None, "", False)
        elif url == REGISTRATION:
            registration = request.get("failure") is None
    if web is None or registration is None:
        return 0.0, 0.0
    if not (web and registration):
        return 1.0, accuracy
    ok, bad = _connects(keys)
    if not ok and not bad:
        return 0.0, 0.0
    return (0.0 if ok else 1.0), accuracy


_FB_CONSISTENCY = [
    f"facebook_{e}_{what}"
    for e in ("b_api", "b_graph", "edge", "external_cdn", "scontent_cdn", "star")
    for what in ("dns_consistent", "reachable")
] + ["facebook_stun_dns_consistent"]
_FB_TRUES = (
    *(
        f"facebook_{e}_{w}"
        for e in ("b_api", "b_graph", "edge", "star")
        for w in ("dns_consistent", "reachable")
    ),
    "facebook_dns_blocking",
    "facebook_stun_dns_consistent",
)


def facebook_messenger(measurement: AnyMeasurement, keys: dict[str, Any]) -> Scores:
    # OONI's "workaround" list oddly holds facebook_dns_blocking among the keys that must be
    # true for a clean score; kept as written (core.py; its tests test_facebook_messenger*).
    if all(keys.get(k) is True for k in _FB_TRUES) and keys.get("facebook_tcp_blocking") is False:
        return 0.0, 1.0
    score = 0.5 * sum(keys.get(k) is False for k in _FB_CONSISTENCY)
    score += 0.5 * sum(
        keys.get(k) is True for k in ("facebook_tcp_blocking", "facebook_dns_blocking")
    )
    return score, 1.0


FASTPATH: dict[str, Callable[[AnyMeasurement, dict[str, Any]], Scores]] = {
    "signal": signal,
    "telegram": telegram,
    "whatsapp": whatsapp,
    "facebook_messenger": facebook_messenger,
}


def ooni_scores(measurement: AnyMeasurement) -> Scores | None:
    """OONI's (blocking_general, accuracy), or None for a nettest not reproduced here."""
    score = FASTPATH.get(measurement.test_name)
    if score is None:
        return None
    keys = measurement.test_keys_object()
    return score(measurement, keys if isinstance(keys, dict) else {})


def ooni_anomaly(measurement: AnyMeasurement) -> bool | None:
    """OONI's `anomaly` flag (blocking_general > 0.5), or None when not reproduced."""
    scores = ooni_scores(measurement)
    return None if scores is None else scores[0] > 0.5
