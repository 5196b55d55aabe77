"""Multi-pattern search structure behind :class:`netvigil.analysis.fingerprints.FingerprintDB`.

The HTTP fingerprint list of ooni/blocking-fingerprints has ~1,300 body patterns. Testing them one
by one costs ~1,300 scans of every body, so all literal patterns of one location (the body, or
one header name) go into one multi-pattern scanner that finds them all in one pass
(Hyperscan, else Aho-Corasick: :mod:`netvigil.analysis.fingerprint_scanners`).
``full`` rows are a dict lookup on the whole value and ``prefix`` rows a dict lookup per
distinct prefix length, since neither needs a scan. ``regexp`` rows are prefiltered: the
literal runs that every match must contain (:func:`required_literals`) go into the scanner
too, and the regex runs only when all of them occur in the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from netvigil.analysis.fingerprint_scanners import ENGINES, Scanner, scanner

__all__ = ["ENGINES", "MIN_LITERAL", "LiteralIndex", "required_literals"]

# A shorter literal occurs in most pages, so it would only add automaton hits without filtering.
MIN_LITERAL: Final = 3

# `\d`, `\w`, ... and the zero-width `\b`, `\A`, ...: never part of a literal run. Any other
# letter or digit escape (`\x41`, `\n`, `\1`, `\N{...}`) is rare enough to give up on instead.
_CLASS_ESCAPES: Final = frozenset("dDwWsSbBAZ")
# sre_parse treats `{` as a repeat only when it reads like this (and is not `{}`).
_REPEAT: Final = re.compile(r"\{\d*(?:,\d*)?\}")


def skip_class(pattern: str, i: int) -> int:
    """Index just past the `[...]` set starting at ``pattern[i]``, following sre_parse's rules."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":  # a leading `]` is a literal member
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


def required_literals(pattern: str) -> tuple[str, ...]:
    """Literal runs that any match of ``pattern`` (compiled without flags) must contain.

    Deliberately conservative: an empty result means "no usable literal" and the regex is run on
    every text. Only top-level text counts; a top-level ``|`` means nothing is required, group
    contents are ignored (they may be optional or alternated), a quantifier drops the atom before
    it and ends the run, and inline flags (``(?i)`` could turn on case-insensitivity) give up.
    """
    runs: list[str] = []
    cur: list[str] = []
    depth = 0
    i, n = 0, len(pattern)

    def end_run() -> None:
        if cur:
            runs.append("".join(cur))
            cur.clear()

    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                return ()
            nxt = pattern[i + 1]
            if nxt.isalnum() or nxt == "_":
                if nxt not in _CLASS_ESCAPES:
                    return ()
                end_run()
            elif depth == 0:
                cur.append(nxt)  # an escaped metacharacter such as `\.` is a literal
            i += 2
        elif c == "[":
            end_run()
            i = skip_class(pattern, i)
        elif c == "(":
            if pattern.startswith("(?", i) and not pattern.startswith(("(?:", "(?P<"), i):
                return ()  # inline flags, lookarounds, conditionals: not worth modelling
            end_run()
            depth += 1
            i += 1
        elif c == ")":
            end_run()
            depth -= 1
            i += 1
        elif c == "|":
            if depth == 0:
                return ()
            i += 1
        elif c in "*?+{":
            repeat = _REPEAT.match(pattern, i) if c == "{" else None
            if c == "{" and (repeat is None or repeat.group() == "{}"):
                end_run()  # a literal `{`: keep it out of runs rather than model it
                i += 1
                continue
            if cur and c != "+":
                cur.pop()  # the atom may occur zero times (or `{m,n}`: at least not contiguously)
            end_run()  # repetition breaks contiguity with what follows
            i = repeat.end() if repeat is not None else i + 1
            if i < n and pattern[i] in "?+":  # lazy or possessive modifier
                i += 1
        elif c in ".^$":
            end_run()
            i += 1
        else:
            if depth == 0:
                cur.append(c)
            i += 1
    end_run()
    return tuple(dict.fromkeys(runs))


class LiteralIndex:
    """All fingerprints of one location; :meth:`search` returns the matching rows.

    Built from ``(row, pattern_type, pattern)`` triples, where ``row`` is the CSV row index that
    callers use for ordering. Immutable after construction.
    """

    __slots__ = (
        "_always",
        "_contains",
        "_full",
        "_full_lengths",
        "_guarded",
        "_literals",
        "_prefix",
        "_scanner",
    )

    def __init__(self, entries: Sequence[tuple[int, str, str]], engine: str | None = None) -> None:
        full: dict[str, list[int]] = {}
        prefix: dict[int, dict[str, list[int]]] = {}
        key_ids: dict[str, int] = {}
        contains: list[list[int]] = []
        guarded: list[tuple[int, re.Pattern[str], frozenset[int]]] = []
        always: list[tuple[int, re.Pattern[str]]] = []

        def key_id(literal: str) -> int:
            if literal not in key_ids:
                key_ids[literal] = len(contains)
                contains.append([])
            return key_ids[literal]

        for row, pattern_type, pattern in entries:
            if pattern_type == "full":
                full.setdefault(pattern, []).append(row)
            elif pattern_type == "prefix":
                prefix.setdefault(len(pattern), {}).setdefault(pattern, []).append(row)
            elif pattern_type == "contains":
                contains[key_id(pattern)].append(row)
            elif pattern_type == "regexp":
                literals = [s for s in required_literals(pattern) if len(s) >= MIN_LITERAL]
                compiled = re.compile(pattern)
                if literals:
                    guarded.append((row, compiled, frozenset(key_id(s) for s in literals)))
                else:
                    always.append((row, compiled))
            else:
                raise ValueError(f"unknown pattern_type {pattern_type!r}")

        self._full = {k: tuple(v) for k, v in full.items()}
        self._full_lengths = frozenset(map(len, full))
        self._prefix = tuple(
            (length, {k: tuple(v) for k, v in by_key.items()})
            for length, by_key in sorted(prefix.items())
        )
        self._contains = tuple(tuple(rows) for rows in contains)
        self._literals = tuple(key_ids)  # dicts keep insertion order, so index == key id
        self._guarded = tuple(guarded)
        self._always = tuple(always)
        self._scanner: Scanner | None = None
        if key_ids:
            self._scanner = scanner(key_ids, engine)

    def search(self, text: str) -> dict[int, str]:
        """Map each matching row to its witness: the pattern, or the regex's matched text."""
        found: dict[int, str] = {}
        if len(text) in self._full_lengths:  # skips hashing every large body
            for row in self._full.get(text, ()):
                found[row] = text
        for length, by_key in self._prefix:
            if length > len(text):
                break
            for row in by_key.get(text[:length], ()):
                found[row] = text[:length]
        keys: set[int] = set()
        if self._scanner is not None:
            keys = self._scanner.scan(text)
            for ident in keys:
                for row in self._contains[ident]:
                    found[row] = self._literals[ident]
        for row, compiled, needed in self._guarded:
            if needed <= keys and (m := compiled.search(text)) is not None:
                found[row] = m.group()
        for row, compiled in self._always:
            if (m := compiled.search(text)) is not None:
                found[row] = m.group()
        return found
