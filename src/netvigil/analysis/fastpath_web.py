"""The fastpath's web scorers: web_connectivity and the legacy http_requests.

Both read what the probe wrote (ooni/backend fastpath/fastpath/core.py
`score_web_connectivity`, `score_http_requests`): for web_connectivity the probe's `blocking`
key, which for our own probe is the classic key :mod:`netvigil.analysis.classic` computes bit
for bit as OONI's, so it is read here, never recomputed. Fingerprints are matched OONI's way
(`match_fingerprints`, `match_http_body_fingerprints`, `match_http_headers_fingerprints`):
a plain substring search of every body row whatever its pattern_type, `full` and `prefix`
header rows only; and a match confirms as `is_confirmed` says (any isp/nat row, or a row
naming the probe's country). Our own matcher is stricter on purpose (fingerprints.py); this
module only reproduces OONI's verdict.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from netvigil.analysis.fastpath_score import (
    NoRow,
    Scores,
    as_dict,
    as_list,
    dget_or,
    failed_scores,
    gn,
    has_unknown_failure,
    init_scores,
)
from netvigil.analysis.fingerprints import Fingerprint, FingerprintDB

# core.py FINGERPRINT_SCOPE_TO_LOCALITY; other scopes count as "general".
_LOCALITY = {"inst": "local", "isp": "isp", "nat": "country", "prod": "general"}
_BLOCKING_TYPES = ("tcp_ip", "dns", "http-diff", "http-failure")


def minifp(fp: Fingerprint) -> dict[str, Any]:
    """core.py `minifp`: the fields of a matched fingerprint OONI keeps in the scores."""
    return {
        "name": fp.name,
        "scope": fp.scope,
        "location_found": fp.location_found,
        "confidence_no_fp": fp.confidence_no_fp,
        "expected_countries": sorted(set(fp.expected_countries) - {"ZZ"}),
    }


def _body_matches(resp: dict[str, Any], db: FingerprintDB, found: list[Fingerprint]) -> None:
    body = resp.get("body")
    text: str | bytes
    if isinstance(body, dict):
        if "data" not in body or body.get("format", "") != "base64":
            return  # core.py logbug(2): a dict body that is not base64
        try:
            text = base64.b64decode(str(body["data"]))
        except (binascii.Error, ValueError):
            raise _Base64Error from None  # score_web_connectivity_full: accuracy 0
    elif isinstance(body, str):
        text = body
    else:
        return
    for fp in db.http:
        if fp.location_found != "body":
            continue
        hit = fp.pattern.encode() in text if isinstance(text, bytes) else fp.pattern in text
        if hit:
            found.append(fp)


def _header_matches(resp: dict[str, Any], db: FingerprintDB, found: list[Fingerprint]) -> None:
    headers = {str(h).lower(): v for h, v in as_dict(resp.get("headers")).items()}
    if not headers:
        return
    for fp in db.http:
        if not fp.location_found.startswith("header."):
            continue
        value = headers.get(fp.location_found[7:])
        if fp.pattern_type == "full" and value == fp.pattern:
            found.append(fp)
        elif fp.pattern_type == "prefix":
            if isinstance(value, dict) and value.get("format") == "base64":
                try:
                    value = base64.b64decode(str(value.get("data", ""))).decode("latin1")
                except (binascii.Error, ValueError):
                    raise _Base64Error from None
            if isinstance(value, str) and value.startswith(fp.pattern):
                found.append(fp)


class _Base64Error(Exception):
    """A base64 body or header OONI's b64decode rejects (binascii.Error in core.py)."""


def _http_matches(resp: dict[str, Any], db: FingerprintDB, found: list[Fingerprint]) -> None:
    _body_matches(resp, db, found)
    _header_matches(resp, db, found)


def _dns_answer(answer: dict[str, Any]) -> object:
    for key in ("ipv4", "hostname", "ipv6"):
        if key in answer:
            return answer[key]
    return ""


def match_fingerprints(tk: dict[str, Any], db: FingerprintDB) -> list[Fingerprint]:
    """core.py `match_fingerprints`: DNS answers, then each response's body and headers."""
    found: list[Fingerprint] = []
    for query in as_list(dget_or(tk, "queries", ())):
        for answer in as_list(dget_or(query, "answers", ())):
            addr = _dns_answer(as_dict(answer))
            found.extend(fp for fp in db.dns if isinstance(addr, str) and fp.pattern == addr)
    for req in as_list(dget_or(tk, "requests", ())):
        resp = req.get("response") if isinstance(req, dict) else None
        if isinstance(resp, dict):
            _http_matches(resp, db, found)
    return found


def _confirm(scores: Scores, matches: list[Fingerprint], probe_cc: str) -> None:
    if matches:
        scores["fingerprints"] = [minifp(fp) for fp in matches]
    for fp in matches:
        countries = set(fp.expected_countries) - {"ZZ"}
        # core.py `is_confirmed`
        if (probe_cc != "ZZ" and probe_cc in countries) or fp.scope in ("isp", "nat"):
            scores["blocking_" + _LOCALITY.get(fp.scope, "general")] = 1.0
            scores["confirmed"] = True


def score_web_connectivity(msm: dict[str, Any], db: FingerprintDB) -> Scores:
    """core.py `score_web_connectivity_full` and `score_web_connectivity`."""
    tk = msm.get("test_keys")
    if not isinstance(tk, dict):
        return failed_scores()  # logbug(9): test_keys is None
    try:
        matches = match_fingerprints(tk, db)
    except _Base64Error:
        scores = _score_web(msm, tk, [])
        scores["accuracy"] = 0.0
        return scores
    return _score_web(msm, tk, matches)


def _score_web(msm: dict[str, Any], tk: dict[str, Any], matches: list[Fingerprint]) -> Scores:
    scores = init_scores()
    _confirm(scores, matches, str(dget_or(msm, "probe_cc", "ZZ")).upper())
    if tk.get("title_match") not in (True, False, None):
        scores["accuracy"] = 0.0  # logbug(1): incorrect title_match
        return scores
    blocking = tk.get("blocking")
    if isinstance(blocking, str) and blocking in _BLOCKING_TYPES:
        scores["blocking_general"] = 1.0
        scores["analysis"] = {"blocking_type": blocking}
    elif blocking == False:  # noqa: E712 -- core.py compares with ==, so a 0 counts too
        pass
    elif blocking is None:
        if not matches:  # backend#610: somewhat-broken, unless a fingerprint confirms
            scores["accuracy"] = 0.0
    else:
        scores["analysis"] = {"msg": "Unsupported blocking type"}
        scores["accuracy"] = 0.0
    if has_unknown_failure(tk):
        scores["accuracy"] = 0.0
    scores["blocking_general"] += sum(
        scores[f"blocking_{w}"] for w in ("country", "global", "isp", "local")
    )
    if "accessible" in tk and tk["accessible"] is None and not matches:
        scores["accuracy"] = 0.0
    return scores


def score_http_requests(msm: dict[str, Any], db: FingerprintDB) -> Scores:
    """core.py `score_http_requests` (legacy). It reads `control_failure` and
    `experiment_failure` at the top of the measurement, where df-000 has no such keys; so
    do we (the envelope never carries them: in practice they are always absent)."""
    tk = as_dict(dget_or(msm, "test_keys", {}))
    body_length_match, headers_match = tk.get("body_length_match"), tk.get("headers_match")
    if msm.get("control_failure") or msm.get("experiment_failure"):
        return failed_scores()
    if body_length_match is None or headers_match is None:
        return failed_scores()
    scores = init_scores()
    if not (bool(body_length_match) and bool(headers_match)):
        scores["blocking_general"] = 1.0
    found: list[Fingerprint] = []
    for req in as_list(dget_or(tk, "requests", [])):
        if gn(req, "request", "tor", "is_tor"):
            continue  # the request over Tor is the control
        try:
            _http_matches(as_dict(dget_or(req, "response", {})), db, found)
        except _Base64Error:
            raise NoRow from None  # core.py raises binascii.Error here: the measurement gets no row
    _confirm(scores, found, str(dget_or(msm, "probe_cc", "ZZ")).upper())
    return scores
