"""Censored Planet's signature lists as fingerprint rows, for the one scanner of FingerprintDB.

Files (censoredplanet/assets-censoredplanet, BSD-3-Clause; data/fingerprints/SOURCES.md):
``censoredplanet_blockpage_signatures.json`` and ``censoredplanet_false_positive_signatures.json``,
one ``{"fingerprint": name, "pattern": regex}`` object per line. OONI's CSV imported an older
copy as its ``cp.*`` rows; what this module adds is what that import lacks: signatures newer than
it, patterns Censored Planet changed since (named ``cp.<name>_v2`` beside OONI's
``cp.<name>``), and header signatures OONI filed under the wrong
header (``Server: Barracuda/NGFirewall`` is in OONI's CSV as a ``header.location`` row).

Censored Planet's matcher (censoredplanet-analysis ``pipeline/metadata/blockpage.py`` and
``flatten_base.py``) runs each pattern with ``re.DOTALL`` over the reconstructed response:
status line, ``Name: value`` header lines, blank line, body. We keep their semantics in our
locations: a pattern that starts with a response header name and ``:`` becomes a row of that
header (anchored at the value's start, as the line is), every other pattern a body row; a
pattern with no regex syntax is a ``contains`` literal (into the multi-literal scanner), any
other a ``regexp`` whose ``.`` is spelled ``[\\s\\S]`` (DOTALL without an inline flag, which
the regexp prefilter would not model). A pattern spanning headers and body cannot match; none
of the published blockpage patterns needs that.

Scopes follow OONI's import of the same list (its ``cp.*`` rows): ``a_prod`` prod, ``b_nat``
nat, ``c_isp`` isp, ``d_corp`` inst, ``f_gen`` vbw, and every row of the false-positive list
``fp`` (evidence of a legitimate page, never of blocking) -- except ``e_unk`` ("unknown"
entity), which OONI filed as nat: for the rows we add it is vbw, since a page nobody could
attribute (``/blocked``, ``http://127.0.0.1``) must not confirm a national block on its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from importlib.resources.abc import Traversable
from typing import Final

import msgspec

from netvigil.analysis.fingerprint_index import skip_class
from netvigil.analysis.fingerprint_model import Fingerprint, FingerprintError

__all__ = ["BLOCKPAGE_FILE", "FALSE_POSITIVE_FILE", "SOURCE", "censoredplanet_rows", "translate"]

BLOCKPAGE_FILE: Final = "censoredplanet_blockpage_signatures.json"
FALSE_POSITIVE_FILE: Final = "censoredplanet_false_positive_signatures.json"
SOURCE: Final = "censored planet signatures (assets-censoredplanet fcbafca)"
_SCOPES: Final = (
    ("a_prod", "prod"),
    ("b_nat", "nat"),
    ("c_isp", "isp"),
    ("d_corp", "inst"),
    ("e_unk", "vbw"),
    ("f_gen", "vbw"),
)
# Response headers that Censored Planet's header-shaped patterns name.
_HEADERS: Final = frozenset({"server", "location", "set-cookie", "warning", "via"})
_HEADER_LINE: Final = re.compile(r"([A-Za-z][A-Za-z-]*): ?(.+)", re.DOTALL)
_META: Final = frozenset(".^$*+?{}[]()|")


def literal_of(pattern: str) -> str | None:
    """The text ``pattern`` matches if it has no regex syntax (only escaped punctuation)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1].isalnum() or pattern[i + 1] == "_":
                return None
            out.append(pattern[i + 1])
            i += 2
        elif c in _META:
            return None
        else:
            out.append(c)
            i += 1
    return "".join(out)


def dotall(pattern: str) -> str:
    """``pattern`` with every ``.`` outside a class spelled ``[\\s\\S]`` (re.DOTALL's ``.``)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
        elif c == "[":
            j = skip_class(pattern, i)
            out.append(pattern[i:j])
            i = j
        else:
            out.append(r"[\s\S]" if c == "." else c)
            i += 1
    return "".join(out)


def translate(name: str, pattern: str, scope: str) -> Fingerprint:
    """One Censored Planet signature as a fingerprint row (see the module docstring)."""
    location, text, anchored = "body", pattern, False
    header = _HEADER_LINE.fullmatch(pattern)
    if header is not None and header.group(1).lower() in _HEADERS:
        location, text, anchored = f"header.{header.group(1).lower()}", header.group(2), True
    literal = literal_of(text)
    if literal is not None:
        pattern_type, value = ("prefix" if anchored else "contains"), literal
    else:
        pattern_type, value = "regexp", ("^" if anchored else "") + dotall(text)
        try:
            re.compile(value)
        except (re.error, OverflowError, RecursionError) as exc:
            raise ValueError(f"{name}: regexp {pattern!r} does not compile ({exc})") from exc
    return Fingerprint(
        name=f"cp.{name}",
        scope=scope,
        location_found=location,
        pattern_type=pattern_type,
        pattern=value,
        expected_countries=(),
        source=SOURCE,
        confidence_no_fp=None,
    )


def scope_of(name: str) -> str | None:
    return next((scope for prefix, scope in _SCOPES if name.startswith(prefix)), None)


def censoredplanet_rows(
    folder: Traversable, known: Iterable[Fingerprint]
) -> tuple[Fingerprint, ...]:
    """Both lists' rows that OONI's import (``known``) lacks, blockpages first, in file order.

    A signature is already known when a row of the same location has its pattern, as written
    or as the literal it denotes. Files absent from ``folder`` add nothing (an override
    directory may hold only OONI's two CSVs).
    """
    known = tuple(known)
    seen = {(fp.location_found, fp.pattern) for fp in known}
    names = {fp.name for fp in known}
    out: list[Fingerprint] = []
    for filename, false_positive in ((BLOCKPAGE_FILE, False), (FALSE_POSITIVE_FILE, True)):
        source = folder.joinpath(filename)
        if not source.is_file():
            continue
        for line_no, line in enumerate(_lines(source), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                name, pattern = str(item["fingerprint"]), str(item["pattern"])
                scope = "fp" if false_positive else scope_of(name)
                if scope is None:
                    raise ValueError(f"{name}: no scope prefix (a_prod_, b_nat_, ...)")
                if not pattern:
                    raise ValueError(f"{name}: empty pattern")
                row = translate(name, pattern, scope)
            except (ValueError, KeyError, TypeError) as exc:
                msg = str(exc).replace("\n", " ")
                raise FingerprintError(f"{source}: line {line_no}: {msg}") from exc
            loc = row.location_found
            if (
                (loc, pattern) in seen
                or (loc, literal_of(pattern)) in seen
                or (loc, row.pattern) in seen
            ):
                continue
            seen.add((loc, row.pattern))
            if row.name in names:  # a pattern changed since OONI's import: keep both, apart
                row = msgspec.structs.replace(row, name=f"{row.name}_v2")
            names.add(row.name)
            out.append(row)
    return tuple(out)


def _lines(source: Traversable) -> list[str]:
    try:
        return source.read_bytes().decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FingerprintError(f"{source}: cannot read signature file ({exc})") from exc
