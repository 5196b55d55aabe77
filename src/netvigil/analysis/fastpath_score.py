"""OONI's fastpath score of one measurement, and the JSON accessors its scorers share.

ooni/backend fastpath/fastpath/core.py (commit 32d8349dc544) scores each measurement into a
dict (`init_scores`: blocking_general/global/country/isp/local, plus accuracy, confirmed,
analysis, extra, msg, fingerprints and a few nettest-specific keys), and `process_measurement`
derives the three flags the API and Explorer show: anomaly = blocking_general > 0.5,
failure = accuracy < 0.5 (a missing accuracy counts as 1.0), confirmed = scores["confirmed"].
:class:`FastpathScore` carries that dict unchanged (`scores`, so it compares with what OONI's
own tests assert) beside typed fields. The scorers read plain JSON values, hence the accessors
here (`dget_or` in fastpath/utils.py, `g`/`gn`/`all_keys_*` in core.py), written so that any
JSON shape gives a value, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

LOCALITIES = ("general", "global", "country", "isp", "local")  # core.py LOCALITY_VALS

Scores = dict[str, Any]
JSON = Any


class FastpathScore(msgspec.Struct, frozen=True, kw_only=True):
    """What OONI's fastpath writes for one measurement (its `scores` column and flags)."""

    blocking_general: float
    blocking_global: float
    blocking_country: float
    blocking_isp: float
    blocking_local: float
    accuracy: float | None  # None: the scorer wrote none (process_measurement reads 1.0)
    anomaly: bool
    failure: bool
    confirmed: bool
    analysis: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None
    msg: str | None = None
    scores: dict[str, Any] = {}  # the whole dict, exactly as core.py builds it


class NoRow(Exception):
    """Raised where core.py's scorer itself raises on a shape: `process_measurement` logs
    the exception and stores nothing for the measurement."""


def score_of(scores: Scores) -> FastpathScore:
    """The typed score of a core.py scores dict; flags as `process_measurement` derives them."""
    accuracy = scores.get("accuracy")
    return FastpathScore(
        blocking_general=float(scores.get("blocking_general", 0.0)),
        blocking_global=float(scores.get("blocking_global", 0.0)),
        blocking_country=float(scores.get("blocking_country", 0.0)),
        blocking_isp=float(scores.get("blocking_isp", 0.0)),
        blocking_local=float(scores.get("blocking_local", 0.0)),
        accuracy=None if accuracy is None else float(accuracy),
        anomaly=scores.get("blocking_general", 0.0) > 0.5,
        failure=(1.0 if accuracy is None else accuracy) < 0.5,
        confirmed=scores.get("confirmed", False) is True,
        analysis=scores.get("analysis"),
        extra=scores.get("extra"),
        msg=scores.get("msg"),
        scores=scores,
    )


def init_scores() -> Scores:
    """core.py `init_scores`: every blocking locality at 0.0."""
    return {f"blocking_{where}": 0.0 for where in LOCALITIES}


def failed_scores() -> Scores:
    """The scores of a measurement the fastpath cannot use: zeros and accuracy 0.0."""
    scores = init_scores()
    scores["accuracy"] = 0.0
    return scores


def as_dict(value: JSON) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (null, a list, a string)."""
    return value if isinstance(value, dict) else {}


def as_list(value: JSON) -> list[Any]:
    return value if isinstance(value, list) else []


def dget_or(d: JSON, key: str, default: JSON) -> JSON:
    """fastpath/utils.py `dget_or`: the default when the key is missing or null."""
    value = d.get(key) if isinstance(d, Mapping) else None
    return default if value is None else value


def gn(d: JSON, *keys: str) -> JSON:
    """core.py `gn`/`g`: a nested value, None where a key is missing or null on the way."""
    for key in keys[:-1]:
        d = dget_or(d, key, {})
    return dget_or(d, keys[-1], None)


def all_keys_are(d: Mapping[str, Any], keys: tuple[str, ...], value: bool) -> bool:
    """core.py `all_keys_true` / `all_keys_false`: each key holds exactly True (False)."""
    return all(d.get(k) is value for k in keys)


def tcp_connect_counts(tk: Mapping[str, Any]) -> tuple[int, int]:
    """core.py `_extract_tcp_connect`: (accessible, unreachable) df-005 tcp_connect entries."""
    accessible = unreachable = 0
    for entry in as_list(dget_or(tk, "tcp_connect", [])):
        success = gn(entry, "status", "success")
        if success is True:
            accessible += 1
        elif success is False:
            unreachable += 1
    return accessible, unreachable


def has_unknown_failure(tk: Mapping[str, Any]) -> bool:
    """core.py `_detect_unknown_failure`: a `*_failure` key starting "unknown_failure"."""
    return any(
        k.endswith("_failure") and isinstance(v, str) and v.startswith("unknown_failure")
        for k, v in tk.items()
    )
