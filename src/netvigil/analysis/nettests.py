"""Which analyser judges which nettest (web_connectivity's is :mod:`layered`).

Each nettest module exposes `ANALYSERS`, a dict from test_name to a function of the
measurement and the fingerprints that returns a :class:`Verdict` (raising
MeasurementFormatError when the test keys do not decode). A test_name in no module's
dict is not analysed: its rows keep the outcome "unanalysed" and the keys stay in the
archive (ooni.md §4: `urlgetter` has no verdict; nor does a nettest we do not know).
"""

from __future__ import annotations

from collections.abc import Callable

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.verdicts import Verdict
from netvigil.records import AnyMeasurement

Analyser = Callable[[AnyMeasurement, FingerprintDB], Verdict]

ANALYSERS: dict[str, Analyser] = {}
