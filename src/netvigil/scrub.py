"""Remove the probe's own IP addresses, in every spelling, from what it writes or uploads.

Rule (reliability.md §1.2): the probe's IP is never written or uploaded in any form.

OONI (ooni.md §6): ``ScrubMeasurement`` (ooni/probe-cli internal/model/measurement.go) replaces the
probe's IP in the serialised measurement with ``[scrubbed]`` as exact text only, so leading zeros,
expanded or upper-case IPv6, URL or JSON escapes and names like ``1-2-3-4.isp.example`` get through.
internal/scrubber/scrubber.go (from Snowflake's safelog) removes *every* address it knows from
headers and bodies, which also destroys evidence (DNS answers, block-page addresses).

We go further by matching meaning, not spelling. One regex, compiled once per :class:`Scrubber`,
finds candidates: runs of hex digits and ``. : -`` where any character may also be percent-encoded
at any depth (``%2E``, ``%252e``, ``%31``) or backslash-escaped (``\\u002e``); an escape right
before a run marks its start (``%201.2.3.4``, ``\\u003e2001:db8::1``). Each candidate is decoded and
split into parts, and every window of parts that could spell an address is normalised (leading
zeros dropped, ``-`` read as ``:``), parsed with :mod:`ipaddress` and compared with the probe's:

* four decimal parts joined by ``.`` or ``-``, in either order (``010.001.002.003``,
  ``host-1-2-3-4``, ``4.3.2.1.in-addr.arpa``);
* up to nine groups joined by ``:`` or ``-`` (``2001-db8--1.ipv6-literal.net``), maybe with a
  dotted IPv4 tail; an embedded IPv4 address counts too (mapped, compatible, NAT64, 6to4, Teredo);
* 32 nibbles joined by ``.`` (ip6.arpa). A literal regex adds the 32-bit decimal form of an IPv4
  address standing alone (``16909060``).

Only matching windows become ``[scrubbed]``; other addresses, loopback included, are kept. A number
is never cut (``11.2.3.4`` and ``1.2.3.45`` stay), but a longer dotted run is: ``1.2.3.4.5`` becomes
``[scrubbed].5`` and ``Chrome/1.2.3.4`` ``Chrome/[scrubbed]``, as the text still spells the address.
Not covered: compressed or base64 data (scrub before encoding), HTML entities, UTF-16, and octets
with leading zeros read as octal (inet_aton reads ``010`` as 8; here it is 10).
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address
from itertools import accumulate

REPLACEMENT = "[scrubbed]"

_H = "0-9a-fA-F"
_DIGITS = "0123456789"
_CODE = "(?:2[eEdD]|3[aA])"  # '.', '-', ':' once percent- or \u-encoded
_SEP = rf"(?>[.:-]|%(?:25)*+{_CODE}|\\++u00{_CODE})"
_OTHER = (
    rf"(?>[{_H}]|%(?:25)*+(?!{_CODE})[{_H}]{{2}}|%(?![{_H}]{{2}})"
    rf"|\\++(?!u00{_CODE})(?:u[{_H}]{{4}}|[bfnrt/])?)"
)
# At least two separators; units never overlap and match possessively, so the scan is linear.
# Versions and dates (two or three decimal numbers and nothing more) are skipped early.
_SKIP = rf"(?![0-9]+(?:[.-][0-9]+){{1,2}}(?![{_H}.:%\\-]))"
_CANDIDATE = (
    rf"(?=[{_H}.:%\\-])(?<![{_H}%\\]){_SKIP}{_OTHER}*+{_SEP}{_OTHER}*+{_SEP}(?:{_OTHER}|{_SEP})*+"
)
# The 32-bit form standing alone, though an escape (\n, \u00e9, %20) may come just before it.
_INTEGER = r"{0}(?:(?<![\w.-]{0})|(?<=\\[bfnrt]{0})|(?<=\\u\w{{4}}{0})|(?<=%\w\w{0}))(?!\w|\.\d)"
_UNIT = re.compile(rf"%(?:25)*+([{_H}]{{2}})|\\++(?:u([{_H}]{{4}})|[bfnrt/])?|.", re.S)
_RUN = re.compile(r"[0-9a-fA-F.:-]+")
_SPLIT = re.compile(r"([.:-])")
_EMBEDS_LOW32 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96"))
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_Address = IPv4Address | IPv6Address


def _parse(text: str) -> _Address:
    """Parse a configured address; brackets, a zone and zero-padded octets are accepted."""
    core = str(text).strip().removeprefix("[").split("]")[0].split("%")[0]
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+){3}", core):
        core = ".".join(str(int(octet)) for octet in core.split("."))
    try:
        address = ipaddress.ip_address(core)
    except ValueError:
        raise ValueError(f"not an IP address: {text!r}") from None
    mapped = address.ipv4_mapped if isinstance(address, IPv6Address) else None
    return mapped or address


def _embedded(address: IPv6Address) -> list[IPv4Address]:
    """IPv4 addresses an IPv6 address carries: mapped, 6to4, Teredo, NAT64, compatible."""
    found = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
    if any(address in network for network in _EMBEDS_LOW32):
        found.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return [v4 for v4 in found if v4 is not None]


class _Strings:
    """Where the strings of a JSON document lie (found on first use)."""

    def __init__(self, doc: bytes) -> None:
        self._doc, self._spans = doc, list[tuple[int, int]]()

    def inside(self, position: int) -> bool:
        self._spans = self._spans or [m.span() for m in _JSON_STRING.finditer(self._doc)]
        index = bisect.bisect_right(self._spans, (position, len(self._doc))) - 1
        return index >= 0 and position < self._spans[index][1]


class Scrubber:
    """Replaces every textual form of the probe's own addresses by :data:`REPLACEMENT`."""

    def __init__(
        self,
        addresses: Iterable[str],
        *,
        lab: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
    ) -> None:
        """`lab`: networks that stand for the public Internet in a lab (`--lab-network`),
        where a probe's "public" address may be a loopback one and must be scrubbed too."""
        kept: dict[_Address, None] = {}
        labs = tuple(lab)
        for text in [addresses] if isinstance(addresses, str) else addresses:
            address = _parse(text)
            public = any(address.version == n.version and address in n for n in labs)
            if public or not (address.is_loopback or address.is_unspecified):
                kept[address] = None
        self._addresses = tuple(str(address) for address in kept)
        self._v6 = {int(a) for a in kept if isinstance(a, IPv6Address)}
        v4 = {a for a in kept if isinstance(a, IPv4Address)} | {  # a 6to4/Teredo address's IPv4
            e for a in kept if isinstance(a, IPv6Address) for e in _embedded(a) if e.is_global
        }
        self._v4 = {tuple(a.packed) for a in v4}
        self._v4int = {int(a) for a in v4}
        self._memo: dict[str, str] = {}
        self._text, self._bytes = re.compile(_CANDIDATE), re.compile(_CANDIDATE.encode())
        ints = "|".join(_INTEGER.format(n) for n in self._v4int)
        self._int_text = re.compile(ints, re.ASCII) if ints else None
        self._int_bytes = re.compile(ints.encode()) if ints else None

    @property
    def addresses(self) -> tuple[str, ...]:
        """The probe addresses scrubbed, in canonical form (no loopback or unspecified)."""
        return self._addresses

    def text(self, value: str) -> str:
        """Scrub a string (header, URL, DNS answer, decoded body)."""
        if not self._addresses:
            return value
        out = self._text.sub(lambda m: self._candidate(m[0]), value)
        if self._int_text is not None:
            out = self._int_text.sub(REPLACEMENT, out)
        return value if out == value else out

    def data(self, value: bytes) -> bytes:
        """Scrub raw bytes (a body before any base64 encoding); addresses are matched as ASCII."""
        return self._pass(self._pass(value, self._bytes, None), self._int_bytes, None)

    def json(self, value: bytes) -> bytes:
        """Scrub a serialised JSON document, escapes included; valid JSON stays valid.

        A match inside a string becomes ``[scrubbed]``. Outside strings, which can only be the
        integer form of an address written as a JSON number, it becomes ``"[scrubbed]"``.
        """
        out = self._pass(value, self._bytes, _Strings(value))
        return self._pass(out, self._int_bytes, _Strings(out))

    def _pass(self, value: bytes, regex: re.Pattern[bytes] | None, doc: _Strings | None) -> bytes:
        if regex is None or not self._addresses:
            return value

        def replace(m: re.Match[bytes]) -> bytes:
            raw = m[0].decode("ascii")  # matches are ASCII by construction
            out = REPLACEMENT if regex is self._int_bytes else self._candidate(raw)
            if out != raw and doc is not None and not doc.inside(m.start()):
                out = out.replace(REPLACEMENT, f'"{REPLACEMENT}"')
            return out.encode("ascii")

        out = regex.sub(replace, value)
        return value if out == value else out

    def _candidate(self, raw: str) -> str:
        """Scrub one candidate; bodies repeat tokens (dates, versions, CSS), so remember them."""
        if raw not in self._memo:
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[raw] = self._scrub_candidate(raw)
        return self._memo[raw]

    def _scrub_candidate(self, raw: str) -> str:
        """Decode a candidate, find the windows that spell a probe address, map them back."""
        offsets: list[int] | None = None
        logical = raw
        if "%" in raw or "\\" in raw:
            chars, offsets = [], []
            for unit in _UNIT.finditer(raw):
                offsets.append(unit.start())
                code = unit[1] or unit[2]
                chars.append(chr(int(code, 16)) if code else " " if unit[0][0] == "\\" else unit[0])
            offsets.append(len(raw))
            logical = "".join(chars)
        spans: list[list[int]] = []
        for run in _RUN.finditer(logical):
            for a, b in sorted(self._windows(run[0])):
                a, b = run.start() + a, run.start() + b
                if spans and a <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], b)
                else:
                    spans.append([a, b])
        pieces, position = [], 0
        for start, end in spans:
            if offsets is not None:
                start, end = offsets[start], offsets[end]
            pieces += [raw[position:start], REPLACEMENT]
            position = end
        return "".join(pieces) + raw[position:] if spans else raw

    def _windows(self, run: str) -> list[tuple[int, int]]:
        """Spans of a run (hex digits and separators only) that spell a probe address."""
        colons_or_dashes = ":" in run or "-" in run
        if not colons_or_dashes and run.count(".") < 3:
            return []  # neither IPv6 nor four IPv4 numbers
        tokens = _SPLIT.split(run)
        parts, seps = tokens[0::2], tokens[1::2]
        starts = [0, *accumulate(len(part) + 1 for part in parts)]  # separators are one char
        n, found = len(parts), []
        for k in range(n - 3):  # IPv4: four decimal numbers joined by '.' or '-', either order
            first, second, third, last = parts[k : k + 4]
            if not (second.isdigit() and third.isdigit()) or ":" in seps[k : k + 3]:
                continue
            head = first[len(first.rstrip(_DIGITS)) :]  # a number may follow letters ("ip1")
            tail = last[: len(last) - len(last.lstrip(_DIGITS))]
            octets = (int(head or -1), int(second), int(third), int(tail or -1))
            if octets in self._v4 or octets[::-1] in self._v4:
                found.append((starts[k + 1] - 1 - len(head), starts[k + 3] + len(tail)))
        for i in range(n - 1) if colons_or_dashes else ():  # IPv6: groups joined by ':' or '-'
            kind = seps[i]
            for j in range(i + 1, min(n, i + 9)) if kind != "." else ():
                if seps[j - 1] != kind:
                    break
                if self._hit6(parts[i : j + 1], None):
                    found.append((starts[i], starts[j] + len(parts[j])))
                tail4 = parts[j : j + 4] if seps[j : j + 3] == [".", ".", "."] else None
                if kind == ":" and tail4 and self._hit6(parts[i:j], tail4):  # dotted IPv4 tail
                    found.append((starts[i], starts[j + 3] + len(parts[j + 3])))
        streak = 0  # ip6.arpa: 32 single nibbles joined by '.', least significant first
        for k, part in enumerate(parts if n >= 32 else ()):
            streak = (streak + 1 if k and seps[k - 1] == "." else 1) if len(part) == 1 else 0
            value = int("".join(parts[k - 31 : k + 1])[::-1], 16) if streak >= 32 else -1
            if value >= 0 and self._probe6(IPv6Address(value)):
                found.append((starts[k - 31], starts[k] + 1))
        return found

    def _hit6(self, groups: list[str], tail: list[str] | None) -> bool:
        empty, size = groups.count(""), len(groups) + (2 if tail else 0)
        if not ((empty == 0 and size == 8) or (0 < empty < size <= 9)):
            return False  # cheap shape check before asking ipaddress
        if tail is not None and not all(t.isdigit() for t in tail):
            return False
        text = ":".join((g.lstrip("0") or "0") if g else "" for g in groups)
        text += ":" + ".".join(str(int(t)) for t in tail) if tail else ""
        try:
            address = IPv6Address(text)
        except ValueError:
            return False
        return self._probe6(address)

    def _probe6(self, address: IPv6Address) -> bool:
        return int(address) in self._v6 or any(int(v4) in self._v4int for v4 in _embedded(address))


def public_address(text: object) -> str | None:
    """A measurement's `probe_ip`, when it is an address to scrub: not OONI's placeholder
    (127.0.0.1, which its probes send), not unspecified, not something that is no address."""
    if not isinstance(text, str):
        return None
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    return None if address.is_loopback or address.is_unspecified else str(address)
