"""Which analyser judges which nettest (web_connectivity's is :mod:`layered`), and the
techniques each family of them may name.

Each nettest module exposes `ANALYSERS`, a dict from test_name to a function of the
measurement and the fingerprints that returns a :class:`Verdict` (raising
MeasurementFormatError when the test keys do not decode). A test_name in no module's
dict is not analysed: its rows keep the outcome "unanalysed" and the keys stay in the
archive (ooni.md §4: `urlgetter` has no verdict; nor does a nettest we do not know).

Each family declares its technique ids next to its rule book (`TECHNIQUES`), and the book
refuses a verdict naming any other (verdicts.RuleBook), so :data:`TECHNIQUES` is what the
tables can hold — with one open end, web_connectivity's `http_blockpage:<fingerprint>` — and
what the data API validates `technique=` against (observatory/query.py). An id is stable and
lowercase; what varies (counts of Tor targets, the phase a bootstrap stalled at) is in the
verdict's witnesses. Families spell an id their own way where its words differ:
web_connectivity's and the apps' `dns_bogon` is an answer the site or app should not get,
dnscheck's `dns.bogon` a resolver that lies (docs/design/010, "Techniques").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from netvigil.analysis import (
    messaging,
    messaging_trace,
    middlebox,
    middlebox_evidence,
    resolvers,
    speed,
    tor,
    tunnels,
    web_rules,
)
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.verdicts import Verdict
from netvigil.records import AnyMeasurement

Analyser = Callable[[AnyMeasurement, FingerprintDB], Verdict]

ANALYSERS: dict[str, Analyser] = {
    **messaging.ANALYSERS,
    **middlebox.ANALYSERS,
    **resolvers.ANALYSERS,
    **speed.ANALYSERS,
    **tor.ANALYSERS,
    **tunnels.ANALYSERS,
}

# family -> (its nettests, its technique ids)
FAMILIES: Final[dict[str, tuple[tuple[str, ...], frozenset[str]]]] = {
    "web_connectivity": (("web_connectivity",), web_rules.TECHNIQUES),
    "messaging": (tuple(messaging.ANALYSERS), messaging_trace.TECHNIQUES),
    "middlebox": (tuple(middlebox.ANALYSERS), middlebox_evidence.TECHNIQUES),
    "resolvers": (tuple(resolvers.ANALYSERS), resolvers.TECHNIQUES),
    "speed": (tuple(speed.ANALYSERS), speed.TECHNIQUES),
    "tor": (tuple(tor.ANALYSERS), tor.TECHNIQUES),
    "tunnels": (tuple(tunnels.ANALYSERS), tunnels.TECHNIQUES),
}
# test_name -> the ids its verdicts may name
TECHNIQUES_OF: Final[dict[str, frozenset[str]]] = {
    test: ids for tests, ids in FAMILIES.values() for test in tests
}
BLOCKPAGE_PREFIX: Final = web_rules.BLOCKPAGE_PREFIX
# Every family's ids once, web_connectivity's first: the order the API's 400 message uses.
TECHNIQUES: Final[tuple[str, ...]] = tuple(
    dict.fromkeys(t for _, ids in FAMILIES.values() for t in sorted(ids))
)
