"""The one model of a measurement: what `observe` decodes, on every measurement of the corpus.

Both engines read the same `Observed`; these are the promises the rules rely on: the path is
picked out of the records (never a copy with other values, except legacy probes' untagged
connects, which are the first hop), each endpoint's request is the one of its transaction,
and the control the verdicts compare with is the one the probe's warning uses.
"""

from __future__ import annotations

from collections import Counter

import msgspec

from netvigil.analysis.model import Observed
from netvigil.analysis.observe import observe, observe_control
from netvigil.readers import Item, read_paths
from netvigil.records import web_connectivity_keys
from tests.corpus import FASTPATH, JSONL, qa_files


def corpus() -> list[Observed]:
    """Each web_connectivity measurement's model."""
    found = []
    for item in read_paths([*qa_files(), *FASTPATH, JSONL]):
        if not isinstance(item, Item) or item.measurement.test_name != "web_connectivity":
            continue
        keys = web_connectivity_keys(item.measurement)
        if keys is None:
            continue
        seen = observe(keys, item.measurement.url)
        assert seen.control == observe_control(keys, item.measurement.url)
        found.append(seen)
    return found


def test_the_path_is_picked_out_of_the_records() -> None:
    models = corpus()
    legacy = [seen for seen in models if seen.legacy]
    assert (len(models), len(legacy)) == (50 + 79, 28)
    for seen in models:
        assert all(any(p is o for o in seen.all_lookups) for p in seen.lookups)
        assert all(any(s is r for r in seen.requests) for s in seen.http)
        depths = [step.depth for step in seen.http]
        assert depths == sorted(depths), seen.url  # oldest first
        if seen.legacy:
            assert seen.extra_endpoints == ()
            assert seen.endpoints == tuple(
                msgspec.structs.replace(o, depth=0, fetch_body=True) for o in seen.all_endpoints
            )
            assert seen.http == tuple(reversed(seen.requests))
        else:
            kept = [o for o in seen.all_endpoints if any(o is p for p in seen.endpoints)]
            aside = [o for o in seen.all_endpoints if any(o is x for x in seen.extra_endpoints)]
            assert (len(kept), len(aside)) == (len(seen.endpoints), len(seen.extra_endpoints))
            assert len(kept) + len(aside) == len(seen.all_endpoints), seen.url


def test_an_endpoint_is_joined_to_the_request_of_its_transaction() -> None:
    joined = 0
    for seen in corpus():
        for endpoint in seen.all_endpoints:
            if endpoint.request is None:
                assert endpoint.http_failure is None
                continue
            request = seen.requests[endpoint.request]
            assert request.transaction_id == endpoint.transaction_id != 0
            assert endpoint.http_failure == (request.failure or "")
            joined += 1
    assert joined == 131


def test_the_usable_control_is_the_recorded_answer_unless_the_probe_says_it_failed() -> None:
    found: Counter[str] = Counter()
    for seen in corpus():
        if seen.control is not None:
            assert seen.control is seen.answer and not seen.control_failure
            found["usable"] += 1
        elif seen.answer is None:
            found["no answer"] += 1
        else:
            assert seen.control_failure, seen.url  # an answer beside control_failure
            found["failed"] += 1
    # "failed": one real measurement (a fastpath file and its line in the JSONL) keeps the
    # test helper's answer beside control_failure; the classic keys read it, verdicts do not.
    assert found == {"usable": 123, "no answer": 4, "failed": 2}
