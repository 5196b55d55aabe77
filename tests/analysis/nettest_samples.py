"""Every nettest example the analyser tests use, and variants of each failing in each way.

The measurements are OONI's own (shared/corpus/ooni-measurements/ooni-backend-fastpath-other/)
and variants of them with each layer's steps failing in each way the failure vocabulary
(netvigil.failures.Failure) spells, plus the spec examples the analyser tests build where
the corpus has none (tests/analysis/test_messaging.py, test_resolvers.py, test_tunnels.py):
what the words of the explorer (tests/web/test_nettest_words.py) and the declared techniques
(tests/analysis/test_techniques.py) are checked over.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.nettests import ANALYSERS
from netvigil.analysis.verdicts import Verdict
from netvigil.failures import Failure, kind_of
from netvigil.records import MeasurementFormatError, decode_measurement
from tests.analysis.test_messaging import FB_EXAMPLE, _asns
from tests.analysis.test_resolvers import DNSCHECK_EXAMPLE, OK_KEY, STUN_EXAMPLE
from tests.analysis.test_tunnels import PSIPHON
from tests.corpus import MEASUREMENTS

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"
DB = FingerprintDB.load()
Keys = dict[str, Any]
# One spelling of each failure kind (the vocabulary's first), and a top-level failure.
FAILURES = (
    *{kind_of(f): str(f) for f in reversed(list(Failure))}.values(),
    "unknown_failure: something else",
)


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def connects(keys: Keys, failure: str) -> None:
    for tcp in _dicts(keys.get("tcp_connect")):
        tcp["status"] = {**(tcp.get("status") or {}), "failure": failure, "success": False}


def half_connects(keys: Keys, failure: str) -> None:
    for tcp in _dicts(keys.get("tcp_connect"))[::2]:
        tcp["status"] = {**(tcp.get("status") or {}), "failure": failure, "success": False}


def _queries(keys: Keys, failure: str) -> None:
    for query in _dicts(keys.get("queries")):
        query["answers"], query["failure"] = None, failure


def _handshakes(keys: Keys, failure: str) -> None:
    for handshake in _dicts(keys.get("tls_handshakes")):
        handshake["failure"] = failure


def _requests(keys: Keys, failure: str) -> None:
    for request in _dicts(keys.get("requests")):
        request["failure"], request["response"] = failure, None


def _top(keys: Keys, failure: str) -> None:
    keys["failure"] = failure


def _targets(keys: Keys, failure: str) -> None:
    targets = keys.get("targets")
    for target in targets.values() if isinstance(targets, dict) else ():
        target["failure"] = failure
        connects(target, failure)


EDITS: tuple[Callable[[Keys, str], None], ...] = (
    connects,
    half_connects,
    _queries,
    _handshakes,
    _requests,
    _top,
    _targets,
)


def _bootstraps(keys: Keys) -> Iterator[Keys]:
    """vanilla_tor and torsf stopping in each bracket of tor's bootstrap phases."""
    for progress in (0, 5, 15, 50):
        yield {**keys, "tor_progress": progress, "tor_progress_tag": "conn"}


def _dnscheck_variants() -> Iterator[dict[str, Any]]:
    """The ts-028 example with its DoT endpoint failing at each step, in each way."""
    for failure in FAILURES:
        for step in ("tcp_connect", "tls_handshakes", "queries", "bootstrap"):
            data = copy.deepcopy(DNSCHECK_EXAMPLE)
            keys = data["test_keys"]
            lookup = keys["lookups"][OK_KEY]
            if step == "bootstrap":
                keys["bootstrap_failure"] = failure
            elif step == "tcp_connect":
                lookup["tls_handshakes"] = None
                connects(lookup, failure)
            elif step == "tls_handshakes":
                _handshakes(lookup, failure)
            _queries(lookup, failure)
            yield data
        for scheme in ("udp://8.8.8.8:53", "https://dns.google/dns-query"):
            data = copy.deepcopy(DNSCHECK_EXAMPLE)
            lookups = data["test_keys"]["lookups"]
            lookup = copy.deepcopy(lookups[OK_KEY])
            lookup["tls_handshakes"] = None
            for query in lookup["queries"]:
                query["engine"] = "udp" if scheme.startswith("udp") else "doh"
            _queries(lookup, failure)
            lookups[scheme] = lookup
            yield data
    for failure in FAILURES:
        for dns in (False, True):
            data = copy.deepcopy(STUN_EXAMPLE)
            data["test_keys"]["failure"] = failure
            if dns:
                _queries(data["test_keys"], failure)
            yield data


def _examples() -> Iterator[tuple[str, dict[str, Any]]]:
    """The corpus's files of analysed nettests, and the spec examples the analyser tests use
    where the corpus has none (ts-019's facebook_messenger, ts-015's psiphon)."""
    for path in sorted(OTHER.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and data.get("test_name") in ANALYSERS:
            yield path.name, data
    yield "ts-019 example", FB_EXAMPLE
    for asn in (32934, 64500):  # Facebook's AS, and another: consistent, then not
        data = copy.deepcopy(FB_EXAMPLE)
        _asns(asn, asn)(data["test_keys"])
        yield f"ts-019 example in AS{asn}", data
    yield "ts-015 example", PSIPHON
    data = copy.deepcopy(PSIPHON)
    data["test_keys"]["queries"] = copy.deepcopy(STUN_EXAMPLE["test_keys"]["queries"])
    yield "ts-015 example resolving outside its tunnel", data


def measurements() -> Iterator[tuple[str, dict[str, Any]]]:
    """(what it is, the measurement) for every example, each of its variants, and the
    resolver examples' variants."""
    for name, data in _examples():
        yield name, data
        keys = data.get("test_keys")
        if not isinstance(keys, dict) or len(json.dumps(keys)) > 200_000:
            continue
        for edit in EDITS:
            for failure in FAILURES:
                edited = copy.deepcopy(data)
                edit(edited["test_keys"], failure)
                yield f"{name} {edit.__name__} {failure}", edited
        if data["test_name"] in ("vanilla_tor", "torsf"):
            for variant in _bootstraps(keys):
                yield f"{name} {variant['tor_progress']}%", {**data, "test_keys": variant}
    yield "ts-028 example", DNSCHECK_EXAMPLE
    for n, variant in enumerate(_dnscheck_variants()):
        yield f"resolver variant {n}", variant


def verdicts() -> Iterator[tuple[str, Verdict]]:
    for name, data in measurements():
        measurement = decode_measurement(msgspec.json.encode(data))
        try:
            verdict = ANALYSERS[measurement.test_name](measurement, DB)
        except MeasurementFormatError:
            continue  # an edit the records refuse: an error row, no words needed
        yield name, verdict
