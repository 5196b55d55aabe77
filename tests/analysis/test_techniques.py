"""Every technique a verdict names is an id its nettest family declares (analysis/nettests.py).

Over every sample the analyser tests use (tests/analysis/nettest_samples.py: the corpus's
ooni-backend-fastpath-other/ files, the spec examples, and variants of each failing in each
way the failure vocabulary spells) and every real web_connectivity measurement of the corpus.
The books refuse an undeclared technique (verdicts.RuleBook), so an analyser naming one fails
here with the book's message rather than storing it.
"""

from __future__ import annotations

import re
from collections import Counter

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.nettests import BLOCKPAGE_PREFIX, FAMILIES, TECHNIQUES, TECHNIQUES_OF
from netvigil.observatory import query
from netvigil.readers import Item, read_paths
from tests.analysis.nettest_samples import verdicts
from tests.corpus import FASTPATH, JSONL

DB = FingerprintDB.load()
# Stable and lowercase, dotted or underscored: no counts, no spaces, no phases.
ID = re.compile(r"[a-z][a-z0-9]*(?:[._][a-z0-9]+)*")


def test_every_declared_id_is_an_id_and_the_api_knows_them_all() -> None:
    for family, (_, ids) in FAMILIES.items():
        odd = sorted(t for t in ids if not ID.fullmatch(t))
        assert not odd, f"{family}: {odd}"
    assert set(TECHNIQUES) == {t for _, ids in FAMILIES.values() for t in ids}
    assert len(TECHNIQUES) == len(set(TECHNIQUES))
    assert query.TECHNIQUES == TECHNIQUES
    for technique in TECHNIQUES:
        assert query.technique(technique) == technique


def test_every_technique_emitted_by_the_other_nettests_is_declared_by_its_family() -> None:
    emitted: Counter[str] = Counter()
    tests: set[str] = set()
    undeclared = []
    for name, verdict in verdicts():
        declared = TECHNIQUES_OF[verdict.test_name]
        tests.add(verdict.test_name)
        named = [layer.technique for layer in verdict.layers] + [verdict.technique]
        for technique in filter(None, named):
            emitted[technique] += 1
            if technique not in declared:
                undeclared.append(f"{verdict.test_name}: {technique!r} (from {name})")
    assert not undeclared, "\n".join(undeclared[:20])
    # The samples reach every nettest but speed (which names no technique; STUN's example is
    # spelled `stun_reachability`, the other name) and Tor's ids of each kind.
    assert tests >= set(TECHNIQUES_OF) - {"web_connectivity", "ndt", "dash", "stunreachability"}
    tor = {t for t in emitted if t.startswith(("tor.", "snowflake."))}
    assert tor >= {
        "tor.dir_port_unreachable",
        "tor.or_port_unreachable",
        "tor.obfs4_unreachable",
        "tor.dir_port_reached",
        "tor.or_port_reached",
        "tor.bootstrap_stalled",
        "tor.bootstrapped",
        "snowflake.bootstrap_failed",
    }, sorted(tor)
    assert len(emitted) >= 50, sorted(emitted)  # most of the vocabulary, not a handful


def test_every_web_connectivity_technique_of_the_corpus_is_declared() -> None:
    web = TECHNIQUES_OF["web_connectivity"]
    emitted: Counter[str] = Counter()
    for item in read_paths([*FASTPATH, JSONL]):
        if not isinstance(item, Item) or item.measurement.test_name != "web_connectivity":
            continue
        verdict = analyze(item.measurement, DB)
        for technique in filter(None, (layer.technique for layer in verdict.layers)):
            assert technique in web or technique.startswith(BLOCKPAGE_PREFIX), technique
            emitted[technique] += 1
    assert any(t.startswith(BLOCKPAGE_PREFIX) for t in emitted) and len(emitted) >= 5, emitted
