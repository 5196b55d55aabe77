"""The multi-literal scanners behind :class:`netvigil.analysis.fingerprint_index.LiteralIndex`.

Both find every literal of a set that occurs in a text, in one pass: Intel's Hyperscan in
literal mode when it is installed (python-hyperscan ships it in its wheels for x86-64), else
an Aho-Corasick automaton (pyahocorasick). Hyperscan measured 10-45x faster than
pyahocorasick on real pages (docs/fingerprints.md); both report the same set of literals,
which tests/analysis/test_fingerprints.py checks engine against engine.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any, Final, Protocol

import ahocorasick

hyperscan: Any
try:  # optional accelerator: same results, an order of magnitude faster (docs/fingerprints.md)
    import hyperscan
except ImportError:  # pragma: no cover - exercised on platforms without its wheels
    hyperscan = None

__all__ = ["ENGINES", "Scanner", "scanner"]

ENGINES: Final = ("hyperscan", "ahocorasick") if hyperscan is not None else ("ahocorasick",)


class Scanner(Protocol):
    def scan(self, text: str) -> set[int]:
        """The ids of the literals that occur in `text`."""
        ...


def scanner(key_ids: dict[str, int], engine: str | None) -> Scanner:
    """A scanner of `engine` (default: the fastest installed) for literals -> their ids."""
    engine = engine or ENGINES[0]
    if engine not in ENGINES:
        raise ValueError(f"fingerprint engine {engine!r} is not available here ({ENGINES})")
    if engine == "hyperscan":
        return _HyperscanScanner(key_ids)
    return _AhoCorasickScanner(key_ids)


class _HyperscanScanner:
    """Hyperscan in literal mode over the UTF-8 bytes of the text.

    A literal occurs in a string iff its UTF-8 encoding occurs in the string's encoding (UTF-8
    is self-synchronising), so matching bytes gives the same answer as matching characters.
    HS_FLAG_SINGLEMATCH reports each literal once, which is all `search` needs.
    """

    __slots__ = ("_database", "_found")

    def __init__(self, key_ids: dict[str, int]) -> None:
        assert hyperscan is not None
        literals = sorted(key_ids, key=key_ids.__getitem__)
        self._database: Any = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(
            expressions=[literal.encode("utf-8", "surrogatepass") for literal in literals],
            ids=[key_ids[literal] for literal in literals],
            elements=len(literals),
            flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(literals),
            literal=True,
        )
        self._found: set[int] = set()

    def _on_match(self, ident: int, start: int, end: int, flags: int, context: object) -> None:
        self._found.add(ident)

    def scan(self, text: str) -> set[int]:
        self._found = set()
        self._database.scan(
            text.encode("utf-8", "surrogatepass"), match_event_handler=self._on_match
        )
        return self._found


class _AhoCorasickScanner:
    __slots__ = ("_automaton",)

    def __init__(self, key_ids: dict[str, int]) -> None:
        self._automaton = _build_automaton(key_ids)

    def scan(self, text: str) -> set[int]:
        return {ident for _end, ident in self._automaton.iter(text)}


def _build_automaton(key_ids: dict[str, int]) -> ahocorasick.Automaton:
    """An automaton mapping each literal to its id, with children in frequency order.

    pyahocorasick scans a node's children linearly, in the order they were created, and the
    scan dominates its run time. Inserting the literals sorted by the frequency of their
    characters (in the patterns themselves: HTML and blockpage prose, like the pages scanned)
    puts common characters first, which measures ~15-20% faster on real pages.
    """
    freq = Counter(itertools.chain.from_iterable(key_ids))
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for literal in sorted(key_ids, key=lambda s: [-freq[c] for c in s]):
        automaton.add_word(literal, key_ids[literal])
    automaton.make_automaton()
    return automaton
