"""The fastpath's signal scorer, with the probe versions OONI marks inaccurate.

ooni/backend fastpath/fastpath/core.py `score_signal`: anomaly when
`signal_backend_status` is "blocked"; accuracy 0 when `failed_operation` or `failure` is
set (or missing), when the status is neither ok nor blocked, and for the versions known to
report wrongly: test_version 0.2.4 (ooni/probe#2636), ≤ 0.2.3 from 2023-11-07 (Signal's new
certificates, ooni/probe#2627), < 0.2.2 from 2022-10-19, and engine_version < 3.17.2 from
2023-05-02 (ooni/backend#679). Any error parsing a version or the start time is accuracy 0
too (core.py's `except Exception`).

Versions compare as `packaging.version.Version` does (PEP 440), which core.py uses: the
release numbers, then a pre-release (`-alpha`, `rc1`) before its release, `.postN` after,
`.devN` before all. A string PEP 440 rejects is an error, as there.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from netvigil.analysis.fastpath_score import Scores, as_dict, dget_or, init_scores

_PEP440 = re.compile(
    r"^\s*v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>\d+)?)?"
    r"(?:-(?P<post_implicit>\d+)|[-_.]?(?P<post>post|rev|r)[-_.]?(?P<post_n>\d+)?)?"
    r"(?:[-_.]?(?P<dev>dev)[-_.]?(?P<dev_n>\d+)?)?"
    r"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?\s*$",
    re.IGNORECASE,
)
_PHASE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}

VersionKey = tuple[tuple[int, ...], tuple[float, float], float, float]


class BadVersion(ValueError):
    """Not a PEP 440 version (packaging's InvalidVersion)."""


def version_key(text: str) -> VersionKey:
    """An ordering key equal to packaging's for public PEP 440 versions."""
    m = _PEP440.match(text)
    if m is None:
        raise BadVersion(text)
    release = tuple(int(p) for p in m["release"].split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    post_text = m["post_implicit"] or (m["post_n"] or "0" if m["post"] else None)
    post = -math.inf if post_text is None else float(post_text)
    dev = math.inf if m["dev"] is None else float(m["dev_n"] or 0)
    if m["pre"] is not None:
        pre: tuple[float, float] = (float(_PHASE[m["pre"].lower()]), float(m["pre_n"] or 0))
    elif m["dev"] is not None and post_text is None:
        pre = (-math.inf, 0.0)  # 1.0.dev0 sorts before 1.0a0
    else:
        pre = (math.inf, 0.0)
    return release, pre, post, dev


def _inaccurate_version(msm: dict[str, Any]) -> bool:
    """Whether core.py's version/date checks mark the measurement inaccurate."""
    start_text = msm.get("measurement_start_time")
    if start_text is None:
        return True
    try:
        tv = str(dget_or(msm, "test_version", "0.0.0"))
        start = dt.datetime.strptime(str(start_text), "%Y-%m-%d %H:%M:%S")
        if tv == "0.2.4":
            return True
        test = version_key(tv)
        if test <= version_key("0.2.3") and start >= dt.datetime(2023, 11, 7):
            return True
        if test < version_key("0.2.2") and start >= dt.datetime(2022, 10, 19):
            return True
        engine = str(dget_or(as_dict(dget_or(msm, "annotations", {})), "engine_version", "0.0.0"))
        return version_key(engine) < version_key("3.17.2") and start >= dt.datetime(2023, 5, 2)
    except (BadVersion, ValueError):
        return True


def score_signal(msm: dict[str, Any]) -> Scores:
    tk = as_dict(dget_or(msm, "test_keys", {}))
    scores = init_scores()
    if tk.get("failed_operation", True) or tk.get("failure", True):
        scores["accuracy"] = 0.0
    if _inaccurate_version(msm):
        scores["accuracy"] = 0.0
        return scores
    status = tk.get("signal_backend_status")
    if status == "blocked":
        scores["blocking_general"] = 1.0
        scores["analysis"] = {"signal_backend_failure": tk.get("signal_backend_failure")}
    elif status != "ok":
        scores["accuracy"] = 0.0
    return scores
