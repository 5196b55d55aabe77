"""Benchmark: blockpage fingerprint matching, Aho-Corasick index vs the naive reference matcher.

Usage: .venv/bin/python bench/fingerprint_bench.py [--pages N] [--seed S]

Pages: every HTTP response in the shared OONI corpus (if present) plus synthetic HTML pages of
1-200 KB (log-uniform, so most are small like real blockpages and error pages, some large like
real sites), half of them carrying 1-3 blockpage snippets taken from random fingerprint rows.
The rows are OONI's and Censored Planet's (the bundled set). Both matchers get the same pages;
each is timed best-of-3 and their results must be identical.
The last line printed is ``ratio=<ours/naive speed>``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import math
import pathlib
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from netvigil.analysis.fingerprint_reference import NaiveMatcher
from netvigil.analysis.fingerprints import Fingerprint, FingerprintDB, FingerprintMatch

Page = tuple[str | None, dict[str, str]]
Matcher = Callable[[str | None, Mapping[str, str] | None], tuple[FingerprintMatch, ...]]

CORPUS = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
WORDS = [
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "with", "as", "was", "on", "be",
    "at", "by", "this", "not", "are", "from", "or", "have", "an", "you", "news", "home", "search",
    "login", "about", "contact", "privacy", "terms", "policy", "page", "site", "more", "read",
    "video", "world", "новости", "поиск", "главная", "о", "нас", "新闻", "搜索", "首页", "关于",
    "الأخبار", "بحث",
]  # fmt: skip
TAGS = [
    '<div class="col-md-4">', "</div>", "<p>", "</p>", '<a href="/article/12345">', "</a>",
    "<span>", "</span>", "<li>", "</li>", "<br>", "\n", '<img src="/img/logo.png" alt="">',
    '<script src="/js/app.min.js"></script>', '<meta name="viewport" content="width=device-width">',
]  # fmt: skip
HEADERS = {
    "Server": "nginx",
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "max-age=60",
}


def decode(value: Any) -> str | None:
    """A str or OONI's ``{"format": "base64", "data": ...}`` (UTF-8, errors replaced)."""
    if isinstance(value, list):
        return decode(value[0]) if value else None
    if isinstance(value, dict) and value.get("format") == "base64":
        data = str(value.get("data") or "")
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-8", "replace")
        except binascii.Error:
            return None
    return value if isinstance(value, str) else None


def responses(obj: Any, key: str = "") -> Iterator[Page]:
    if isinstance(obj, dict):
        if key == "response" and ("body" in obj or "headers" in obj):
            raw = obj.get("headers") or {}
            pairs = raw.items() if isinstance(raw, dict) else [p for p in raw if len(p) == 2]
            headers = {str(k): v for k, v in ((k, decode(v)) for k, v in pairs) if v is not None}
            yield decode(obj.get("body")), headers
        for k, v in obj.items():
            yield from responses(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from responses(v, key)


def corpus_pages() -> list[Page]:
    pages: list[Page] = []
    for path in sorted((CORPUS / "ooni-measurements").rglob("*.json*")):
        text = path.read_text("utf-8")
        for line in filter(str.strip, text.splitlines() if path.suffix == ".jsonl" else [text]):
            pages.extend(responses(json.loads(line)))
    return pages


def snippet(row: Fingerprint, rng: random.Random) -> str:
    """A string matching ``row``: the literal, or for a regexp one crafted from its pattern."""
    if row.pattern_type != "regexp":
        return row.pattern
    # Censored Planet's rows spell re.DOTALL's `.` as `[\s\S]` (fingerprint_censoredplanet.py).
    pattern = row.pattern.removeprefix("^").replace("[\\s\\S]*", ".*").replace("[\\s\\S]", ".")
    text = re.sub(r"\.\*", lambda _: rng.choice(["", " x ", "<b>y</b>"]), pattern)
    return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)\.", "'", text))


def synthetic_pages(db: FingerprintDB, count: int, rng: random.Random) -> list[Page]:
    pool = "".join(rng.choice(TAGS) if rng.random() < 0.3 else rng.choice(WORDS) + " "
                   for _ in range(600_000))  # fmt: skip
    pages: list[Page] = []
    for i in range(count):
        size = int(math.exp(rng.uniform(math.log(1_000), math.log(200_000))))
        start = rng.randrange(len(pool) - size)
        body, headers = pool[start : start + size], dict(HEADERS)
        for row in rng.sample(db.http, rng.randint(1, 3)) if i % 2 else ():
            if row.location_found.startswith("header."):
                headers[row.location_found[7:].title()] = snippet(row, rng) + "?u=1"
            else:
                at = 0 if row.pattern_type == "prefix" else rng.randrange(len(body))
                body = body[:at] + snippet(row, rng) + body[at:]
        pages.append((body, headers))
    return pages


def timed(match: Matcher, pages: list[Page], reps: int) -> tuple[float, list[Any]]:
    best, results = math.inf, []
    for _ in range(reps):
        start = time.perf_counter()
        results = [match(body, headers) for body, headers in pages]
        best = min(best, time.perf_counter() - start)
    return best, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=1500, help="total pages (default 1500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    db = FingerprintDB.load()
    naive = NaiveMatcher(db.http)  # regexes compiled here, outside the timed loop
    real = corpus_pages() if CORPUS.is_dir() else []
    pages = real[: args.pages] + synthetic_pages(db, max(0, args.pages - len(real)), rng)
    size = sum(len((b or "").encode()) + sum(len(v.encode()) for v in h.values()) for b, h in pages)
    print(f"pages={len(pages)} real={min(len(real), args.pages)} MB={size / 1e6:.1f}")
    speeds = {}
    outputs = []
    for name, match in (("naive", naive.match_http), ("ours", db.match_http)):
        seconds, results = timed(match, pages, args.reps)
        outputs.append(results)
        speeds[name] = len(pages) / seconds
        print(f"{name}: {speeds[name]:.0f} pages/s, {size / 1e6 / seconds:.1f} MB/s "
              f"(best of {args.reps}: {seconds:.3f} s)")  # fmt: skip
    if outputs[0] != outputs[1]:
        print("MISMATCH between naive and ours", file=sys.stderr)
        return 1
    matched = sum(1 for r in outputs[1] if r)
    print(f"identical results; pages with a match={matched}, matches={sum(map(len, outputs[1]))}")
    print(f"ratio={speeds['ours'] / speeds['naive']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
