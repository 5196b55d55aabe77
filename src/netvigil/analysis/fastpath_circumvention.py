"""The fastpath's circumvention scorers: tor, vanilla_tor, torsf, psiphon, riseupvpn,
openvpn, meek_fronted_requests_test and stunreachability.

Rules from ooni/backend fastpath/fastpath/core.py, functions `score_tor`,
`score_vanilla_tor`, `score_torsf`, `score_psiphon`, `score_riseupvpn` (scoring disabled on
2023-10-17, ooni/backend#745: `{}`), `score_openvpn`, `score_meek_fronted_requests_test` and
`score_stunreachability`. Where core.py raises on a shape (its `assert 0` on an empty Tor
failure string, a progress that is not a number) they raise NoRow: no row is stored.
"""

from __future__ import annotations

from typing import Any

from netvigil.analysis.fastpath_score import (
    NoRow,
    Scores,
    as_dict,
    as_list,
    dget_or,
    failed_scores,
    gn,
    init_scores,
)


def score_tor(msm: dict[str, Any]) -> Scores:
    """blocked / (blocked + ok) targets; a target whose failure is false did not run."""
    targets = as_dict(dget_or(msm, "test_keys", {})).get("targets", {})
    if not targets or isinstance(targets, list):
        return failed_scores()  # logbug(5), or the early experiments' list (tor_list.json)
    if not isinstance(targets, dict):
        raise NoRow from None
    blocked = ok = 0
    for target in targets.values():
        if not isinstance(target, dict):
            raise NoRow
        if "failure" not in target or "network_events" not in target:
            return failed_scores()  # logbug(6)
        failure = target["failure"]
        if failure is None:
            ok += 1
        elif failure == "":
            raise NoRow  # core.py: assert 0
        elif failure is not False:
            blocked += 1
    scores = init_scores()
    if blocked + ok:
        scores["blocking_general"] = blocked / (blocked + ok)
    else:
        scores["accuracy"] = 0.0
    scores["extra"] = {"test_runtime": msm.get("test_runtime")}
    return scores


_BOOTSTRAPPED = ("Bootstrapped 100%: Done", "Bootstrapped 100% (done): Done")


def score_vanilla_tor(msm: dict[str, Any]) -> Scores:
    """ok when the log says "Bootstrapped 100%" or progress is 100; else 1 − 0.004·progress."""
    tk = as_dict(dget_or(msm, "test_keys", {}))
    logs = tk.get("tor_logs") or tk.get("tor_log")
    if logs is None:
        return failed_scores()
    if not isinstance(logs, str | list | dict):
        raise NoRow from None
    scores = init_scores()
    if any(line in logs for line in _BOOTSTRAPPED):
        return scores
    progress_value = tk.get("tor_progress", 0)
    if isinstance(progress_value, bool) or not isinstance(progress_value, int | float | str):
        raise NoRow  # float(None) raises in core.py
    try:
        progress = min(100.0, max(0.0, float(progress_value)))
    except ValueError:
        raise NoRow from None
    if progress != 100:
        scores["blocking_general"] = 1.0 - progress * 0.004
    return scores


def score_torsf(msm: dict[str, Any]) -> Scores:
    scores = init_scores()
    name = str(msm.get("software_name", "unknown"))
    if msm.get("software_version", "unknown") == "3.8.3" and name.startswith("ooniprobe-android"):
        return failed_scores()  # a broken release (core.py)
    tk = as_dict(dget_or(msm, "test_keys", {}))
    if tk.get("failure"):
        scores["blocking_general"] = 1.0
        return scores
    scores["extra"] = {
        "bootstrap_time": tk.get("bootstrap_time"),
        "test_runtime": msm.get("test_runtime"),
    }
    return scores


def score_psiphon(msm: dict[str, Any]) -> Scores:
    """Anomaly when `failure` is set; accuracy 0 for a success without a bootstrap time or a
    measurement without `resolver_ip` (a null resolver_ip counts as missing here)."""
    tk = as_dict(dget_or(msm, "test_keys", {}))
    scores = init_scores()
    bootstrap_time = tk.get("bootstrap_time", 0)
    if tk.get("failure") is None:
        scores["accuracy"] = 0.0 if bootstrap_time == 0 else 1.0
    else:
        scores["accuracy"] = 1.0
        scores["blocking_general"] = 1.0
    if "resolver_ip" not in msm:
        scores["accuracy"] = 0.0
    scores["extra"] = {"test_runtime": msm.get("test_runtime"), "bootstrap_time": bootstrap_time}
    return scores


def score_riseupvpn(msm: dict[str, Any]) -> Scores:
    return {}  # scoring disabled, ooni/backend#745


def score_openvpn(msm: dict[str, Any]) -> Scores:
    scores = init_scores()
    success = gn(msm, "test_keys", "success")
    if success is False:
        scores["blocking_general"] = 1.0
    elif success is None:
        scores["accuracy"] = 0.0
    scores["extra"] = {"test_runtime": msm.get("test_runtime")}
    return scores


def score_meek(msm: dict[str, Any]) -> Scores:
    """Anomaly on any response missing or not 200; +0.5 per response whose Server header is
    not the fronting CDN's ("ECAcc ")."""
    scores = init_scores()
    requests = as_list(as_dict(dget_or(msm, "test_keys", {})).get("requests", ()) or ())
    if not requests:
        scores["blocking_general"] = 1.0
        scores["accuracy"] = 0  # an int in core.py
        return scores
    for request in requests:
        resp = as_dict(request).get("response", {})
        if resp is None or as_dict(resp).get("code", 0) != 200:
            scores["blocking_general"] = 1.0
            return scores
        headers = resp.get("headers", {})
        if isinstance(headers, list):  # [[name, [value, ...]], ...] in older probes
            if not all(_header_pair(h) for h in headers if h):
                raise NoRow
            headers = {h[0]: h[1][0] for h in headers if h}
        server = as_dict(headers).get("Server", "")
        if not isinstance(server, str):
            raise NoRow
        if not server.startswith("ECAcc "):
            scores["blocking_general"] += 0.5
    return scores


def _header_pair(h: Any) -> bool:
    return isinstance(h, list) and len(h) > 1 and isinstance(h[1], list | str) and len(h[1]) > 0


def score_stunreachability(msm: dict[str, Any]) -> Scores:
    tk = as_dict(dget_or(msm, "test_keys", {}))
    scores = init_scores()
    scores["extra"] = {"endpoint": tk.get("endpoint")}
    failure = tk.get("failure")
    if failure:
        scores["blocking_general"] = 1.0
        scores["extra"]["failure"] = failure
    return scores
