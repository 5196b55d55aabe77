"""What to measure: URLs from the command line, a text file, or a Citizen Lab test list.

Test lists (citizenlab/test-lists, CC BY-NC-SA 4.0; ooni.md §8) are CSVs with the columns
``url,category_code,category_description,date_added,source,notes``. They ship inside the
package, gzip-compressed (``netvigil/data/test-lists/``, origin in its SOURCES.md), so that a
probe works offline and a censor cannot withhold the list. As OONI's backend does, a country
gets its own rows plus the global ones.

A bad *input* (malformed URL or CSV row) becomes an :class:`InputProblem`, never an exception:
the probe records it as a per-URL failure and measures the rest. A bad *run* (unreadable file,
unknown category or country) raises :class:`InputError`. Sources name files by base name only:
a full path could put the user name (``/home/<name>``) into published results (ooni.md §6).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import msgspec

_SCHEMES: Final = frozenset({"http", "https"})
# RFC 3986 excludes these from a host; they show up in copy-paste accidents, not real names.
_BAD_HOST_CHARS: Final = frozenset('<>"{}|\\^`')
_BAD_PORT: Final = "port must be a number from 1 to 65535"
_LISTS: Final = resources.files("netvigil") / "data" / "test-lists"
_GLOBAL: Final = "global"
# OONI's names for "no country": XX is how the backend serves the global list, ZZ is how it
# stores it and also what a probe reports when it cannot geolocate (ooni.md §8).
_GLOBAL_ONLY: Final = frozenset({"XX", "ZZ"})


class InputError(ValueError):
    """The run cannot use its inputs; the message is one line naming the file or code."""


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """One URL to measure; ``source`` is ``cli``, ``file:<name>:<line>`` or ``test-list:<cc>``."""

    url: str
    category_code: str | None
    source: str


class InputProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One rejected input and why; ``line`` is 1-based, None for command-line URLs."""

    source: str
    line: int | None
    value: str
    reason: str


class Inputs(msgspec.Struct, frozen=True, kw_only=True):
    """Targets to measure, in order and without duplicate URLs, and the inputs rejected."""

    targets: tuple[Target, ...]
    problems: tuple[InputProblem, ...]


_Item = Target | InputProblem


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be measured, or None if it can. IDN hosts are accepted as they are."""
    if not url:
        return "empty URL"
    # Checked before parsing: urlsplit silently drops tabs and newlines (bpo-43882).
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in url):
        return "URL contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when not a number or above 65535
    except ValueError as exc:
        return _BAD_PORT if "port" in str(exc).lower() else f"malformed URL ({exc})"
    if parts.scheme.lower() not in _SCHEMES:
        return "scheme must be http or https"
    if "@" in parts.netloc:
        # Credentials would be sent to a site we do not control, and published with the result.
        return "credentials in URLs are not allowed"
    if not parts.hostname:
        return "URL has no host"
    if _BAD_HOST_CHARS.intersection(parts.hostname):
        return "host contains characters not allowed in a host name"
    if port == 0:
        return _BAD_PORT
    try:  # what the probe and the test helper send to the resolver (IDNA, as Python's codec)
        parts.hostname.encode("idna")
    except UnicodeError:
        return "host is not a valid domain name (an empty label, or one over 63 characters)"
    return None


def _check(url: str, category: str | None, source: str, where: str, line: int | None) -> _Item:
    """A target sourced ``source``, or the problem with ``url`` at ``where``/``line``."""
    if (reason := url_problem(url)) is None:
        return Target(url=url, category_code=category, source=source)
    return InputProblem(source=where, line=line, value=url, reason=reason)


def _collect(items: Iterable[_Item]) -> Inputs:
    """Targets in order, dropping a URL already seen (first wins), and every problem."""
    targets: dict[str, Target] = {}
    problems: list[InputProblem] = []
    for item in items:
        if isinstance(item, Target):
            targets.setdefault(item.url, item)
        else:
            problems.append(item)
    return Inputs(targets=tuple(targets.values()), problems=tuple(problems))


def from_urls(urls: Iterable[str]) -> Inputs:
    """URLs given on the command line (surrounding whitespace ignored)."""
    return _collect(_check(url.strip(), None, "cli", "cli", None) for url in urls)


def _read_text(path: Path) -> str:
    try:
        # utf-8-sig: a byte-order mark, as some Windows editors write, is not part of line 1.
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"input file {path} is not UTF-8 (bad byte at {exc.start})") from None


def from_file(path: Path) -> Inputs:
    """One URL per line; blank lines and lines starting with ``#`` are skipped."""
    where = f"file:{path.name}"
    # Not splitlines(): it also splits on \v, \f, U+2028..., so line numbers would drift.
    lines = enumerate((raw.strip() for raw in _read_text(path).split("\n")), 1)
    return _collect(
        _check(line, None, f"{where}:{n}", where, n)
        for n, line in lines
        if line and not line.startswith("#")
    )


def _csv_rows(text: str, label: str, key: str = "url") -> Iterator[tuple[int, dict[str, str]]]:
    """(first line number, row) per record; a short row lacks keys, extra fields are dropped.
    csv.reader, not DictReader: the latter skips blank lines, so line numbers would drift."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
        if key not in header:
            raise InputError(f"{label} has no {key!r} column")
        start = reader.line_num + 1
        for fields in reader:
            if fields:
                yield start, dict(zip(header, fields, strict=False))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{label} is not valid CSV at line {reader.line_num}: {exc}") from None


def _parse_test_list(text: str, label: str, where: str, source: str | None) -> Inputs:
    """Parse a list; targets get ``source`` or, when None, ``<where>:<line>``."""
    items: list[_Item] = []
    for n, row in _csv_rows(text, label):
        category = row.get("category_code", "").strip().upper() or None
        url = row.get("url", "").strip()
        items.append(_check(url, category, source or f"{where}:{n}", where, n))
    return _collect(items)


def from_test_list_csv(path: Path) -> Inputs:
    """A CSV in the Citizen Lab format; targets are sourced ``file:<name>:<line>``."""
    return _parse_test_list(_read_text(path), str(path), f"file:{path.name}", None)


def _bundled_text(name: str) -> str:
    try:
        return gzip.decompress((_LISTS / f"{name}.csv.gz").read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"bundled test list {name} is damaged ({exc})") from None


@functools.cache
def _bundled_names() -> frozenset[str]:
    names = (e.name.removesuffix(".csv.gz") for e in _LISTS.iterdir() if e.name.endswith(".gz"))
    return frozenset(n for n in names if not n.startswith("00-"))  # legends are not lists


def bundled_countries() -> frozenset[str]:
    """Upper-case codes of the countries that have a bundled list of their own."""
    return frozenset(n.upper() for n in _bundled_names() if len(n) == 2)


@functools.cache
def bundled_list(name: str) -> Inputs:
    """One bundled list by file name: ``global``, ``cis`` or a lower-case country code."""
    if name not in _bundled_names():
        raise InputError(f"no bundled test list named {name!r}")
    return _parse_test_list(_bundled_text(name), name, f"test-list:{name}", f"test-list:{name}")


@functools.cache
def _known_countries() -> frozenset[str]:
    legend = _csv_rows(_bundled_text("00-LEGEND-country_codes"), "country legend", "CountryCode")
    # The legend is older than the lists (it lacks cd, mk, ps, rs, ss, tl), so lists count too.
    return frozenset(r.get("CountryCode", "").upper() for _, r in legend) | bundled_countries()


def known_countries() -> frozenset[str]:
    """Upper-case codes :func:`bundled` accepts: the legend's countries, XX and ZZ."""
    return _known_countries() | _GLOBAL_ONLY


def bundled(country: str) -> Inputs:
    """The list for ``country`` (ISO alpha-2, any case), then the global list, no duplicates.

    ``XX`` or ``ZZ``: global only. A real country without a list (Andorra, AD) also gets global
    only, as OONI's backend serves it; :func:`bundled_countries` tells which have one."""
    code = country.strip().upper()
    if code not in _known_countries() | _GLOBAL_ONLY:
        raise InputError(f"unknown country code {country!r}: use ISO alpha-2 (such as IT) or XX")
    own = [bundled_list(code.lower())] if code in bundled_countries() else []
    return merge(*own, bundled_list(_GLOBAL))


@functools.cache
def category_codes() -> frozenset[str]:
    """The current category codes, from ``00-LEGEND-new_category_codes.csv``."""
    legend = _csv_rows(_bundled_text("00-LEGEND-new_category_codes"), "category legend", "New Code")
    return frozenset(code for _, r in legend if (code := r.get("New Code", "").strip()))


def filter_categories(inputs: Inputs, codes: Iterable[str]) -> Inputs:
    """Keep the targets whose category is in ``codes`` (any case, comma lists accepted).

    No codes means no filter. Targets without a category (command line, text files) do not
    pass, so filter the test lists before merging in the user's URLs. Problems are all kept.
    """
    wanted = {c.strip().upper() for code in codes for c in code.split(",")} - {""}
    if not wanted:
        return inputs
    valid = category_codes()
    if unknown := wanted - valid:
        raise InputError(
            f"unknown category code(s) {', '.join(sorted(unknown))}; "
            f"valid codes: {', '.join(sorted(valid))}"
        )
    kept = tuple(t for t in inputs.targets if t.category_code in wanted)
    return Inputs(targets=kept, problems=inputs.problems)


def merge(*parts: Inputs) -> Inputs:
    """All targets in order, dropping a URL already seen (first wins); all problems."""
    items: list[_Item] = [t for part in parts for t in part.targets]
    return _collect(items + [p for part in parts for p in part.problems])
