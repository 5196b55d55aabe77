"""The fastpath's messaging-app scorers: telegram, facebook_messenger, whatsapp.

Rules from ooni/backend fastpath/fastpath/core.py `score_measurement_telegram`,
`score_measurement_facebook_messenger` and `score_measurement_whatsapp` (signal is in
fastpath_signal.py). Where core.py itself would raise on a shape (a request that is not an
object, a `failure` key missing), the fastpath stores no row; the scorer then raises NoRow
and :func:`netvigil.analysis.fastpath.fastpath_scores` says None (no score).
"""

from __future__ import annotations

from typing import Any

from netvigil.analysis.fastpath_score import (
    NoRow,
    Scores,
    all_keys_are,
    as_dict,
    as_list,
    dget_or,
    failed_scores,
    has_unknown_failure,
    init_scores,
    tcp_connect_counts,
)

_TELEGRAM_WEB = ("https://web.telegram.org/", "http://web.telegram.org/")


def score_telegram(msm: dict[str, Any]) -> Scores:
    """Fraction of DC connects failing + fraction of DC HTTP requests failing + 1 when
    Telegram Web is "blocked"; the probe's own *_blocking keys are ignored."""
    tk = as_dict(dget_or(msm, "test_keys", {}))
    web_status = tk.get("telegram_web_status")
    web_blocking = web_status == "blocked"
    accessible, unreachable = tcp_connect_counts(tk)
    http_ok = http_failed = 0
    web_failure = None
    for request in as_list(dget_or(tk, "requests", ())):
        if not isinstance(request, dict) or "request" not in request:
            if not isinstance(request, dict):
                raise NoRow  # core.py: TypeError, no row
            return failed_scores()  # core.py: KeyError, "client bug"
        inner = request["request"]
        if not isinstance(inner, dict):
            raise NoRow
        if "url" not in inner:
            return failed_scores()
        if "failure" not in request:
            raise NoRow
        if inner["url"] in _TELEGRAM_WEB:
            if request["failure"] is not None:
                web_failure = request["failure"]
            continue  # Telegram Web does not count among the DC requests
        if request["failure"] is None:
            http_ok += 1
        else:
            http_failed += 1
    score = unreachable / (accessible + unreachable) if accessible + unreachable else 0.5
    score += http_failed / (http_failed + http_ok) if http_failed + http_ok else 0.5
    if web_blocking:
        score += 1
    scores = init_scores()
    scores["blocking_general"] = score
    scores["web_failure"] = web_failure
    scores["accessible_endpoints"] = accessible
    scores["unreachable_endpoints"] = unreachable
    scores["http_success_cnt"] = http_ok
    scores["http_failure_cnt"] = http_failed
    if web_failure is not None:
        scores["msg"] = f"failure: {web_failure}"
    return scores


_FB_ENDPOINTS = ("b_api", "b_graph", "edge", "external_cdn", "scontent_cdn", "star")
_FB_CONSISTENCY = (
    *(f"facebook_{ep}_{what}" for ep in _FB_ENDPOINTS for what in ("dns_consistent", "reachable")),
    "facebook_stun_dns_consistent",
)
_FB_ANOMALY = ("facebook_tcp_blocking", "facebook_dns_blocking")
# core.py's workaround: these all true (facebook_dns_blocking among them) and
# facebook_tcp_blocking false score 0.
_FB_ALL_TRUE = (
    "facebook_b_api_dns_consistent",
    "facebook_b_api_reachable",
    "facebook_b_graph_dns_consistent",
    "facebook_b_graph_reachable",
    "facebook_dns_blocking",
    "facebook_edge_dns_consistent",
    "facebook_edge_reachable",
    "facebook_star_dns_consistent",
    "facebook_star_reachable",
    "facebook_stun_dns_consistent",
)


def score_facebook_messenger(msm: dict[str, Any]) -> Scores:
    """+0.5 for each consistency/reachability key that is false and each *_blocking key
    that is true; each such key is copied into the scores."""
    tk = as_dict(dget_or(msm, "test_keys", {}))
    scores = init_scores()
    score = 0.0
    if not (
        all_keys_are(tk, _FB_ALL_TRUE, True) and all_keys_are(tk, ("facebook_tcp_blocking",), False)
    ):
        for key in _FB_CONSISTENCY:
            if tk.get(key) is False:
                score += 0.5
                scores[key] = False
        for key in _FB_ANOMALY:
            if tk.get(key) is True:
                score += 0.5
                scores[key] = True
    scores["blocking_general"] = score
    return scores


def _whatsapp_access(requests: list[Any]) -> tuple[bool | None, bool | None]:
    webapp = registration = None
    for b in requests:
        if not isinstance(b, dict):
            continue
        url = as_dict(b.get("request", {})).get("url", "")
        if url == "https://web.whatsapp.com/":
            webapp = b.get("failure", True) in (None, "", False)
        elif url == "https://v.whatsapp.net/v2/register":
            registration = b.get("failure") is None
    return webapp, registration


def score_whatsapp(msm: dict[str, Any]) -> Scores:
    """Anomaly when WhatsApp Web or the registration server failed, or no endpoint
    connected; accuracy 0 without those requests or endpoints, or on unknown_failure."""
    tk = as_dict(dget_or(msm, "test_keys", {}))
    scores = init_scores()
    if has_unknown_failure(tk):
        scores["accuracy"] = 0.0
    web_failure = tk.get("whatsapp_web_failure", "")
    if isinstance(web_failure, str) and "unknown_failure 'ascii' co" in web_failure:
        scores["accuracy"] = 0.0
        return scores
    requests = as_list(tk.get("requests", ()) or ())
    if not requests:
        scores["accuracy"] = 0.0
        return scores
    webapp, registration = _whatsapp_access(requests)
    if webapp is None or registration is None:
        scores["accuracy"] = 0.0
        return scores
    if webapp is not True or registration is not True:
        scores["blocking_general"] = 1.0
        return scores
    accessible, unreachable = tcp_connect_counts(tk)
    if not accessible and not unreachable:
        scores["accuracy"] = 0.0
    elif not accessible:
        scores["blocking_general"] = 1.0
    scores["analysis"] = {
        "registration_server_accessible": registration,
        "whatsapp_web_accessible": webapp,
        "whatsapp_endpoints_accessible": accessible > 0,
    }
    return scores
