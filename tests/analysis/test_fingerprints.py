"""Tests for netvigil.analysis.fingerprints: loading, semantics, the confirmation rule, and a
differential test of the automaton matcher against the naive reference matcher."""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import io
import json
import pathlib
import random
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netvigil.analysis.fingerprint_base64 import decoded_pattern
from netvigil.analysis.fingerprint_censoredplanet import BLOCKPAGE_FILE as CP_BLOCKPAGES
from netvigil.analysis.fingerprint_censoredplanet import FALSE_POSITIVE_FILE as CP_FALSE_POSITIVES
from netvigil.analysis.fingerprint_index import LiteralIndex, required_literals
from netvigil.analysis.fingerprint_reference import NaiveMatcher
from netvigil.analysis.fingerprints import (
    DNS_FILE,
    HTTP_FILE,
    Fingerprint,
    FingerprintDB,
    FingerprintError,
    FingerprintMatch,
    confirms,
    is_false_positive_page,
)
from netvigil.analysis.vendors import VendorTable, product_token

CP_SOURCE = "censored planet signatures (assets-censoredplanet fcbafca)"
CORPUS = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
MEASUREMENTS = CORPUS / "ooni-measurements"

Page = tuple[str | None, dict[str, str]]


@functools.cache
def db() -> FingerprintDB:
    return FingerprintDB.load()


@functools.cache
def naive() -> NaiveMatcher:
    return NaiveMatcher(db().dns + db().http)


def assert_same(body: str | None, headers: dict[str, str]) -> tuple[FingerprintMatch, ...]:
    fast = db().match_http(body, headers)
    assert fast == naive().match_http(body, headers)
    return fast


def fp(scope: str, countries: tuple[str, ...] = ()) -> Fingerprint:
    return Fingerprint(
        name="t", scope=scope, location_found="body", pattern_type="contains", pattern="x",
        expected_countries=countries, source="test", confidence_no_fp=None,
    )  # fmt: skip


# --- loading -------------------------------------------------------------------------------


def bundled_rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("netvigil") / "data" / "fingerprints" / name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_bundled_counts_match_csv() -> None:
    dns_rows, http_rows = bundled_rows(DNS_FILE), bundled_rows(HTTP_FILE)
    assert (len(db().dns), len(http_rows)) == (len(dns_rows), 1729) == (226, 1729)
    # OONI's rows first, in CSV order, then Censored Planet's that OONI's import lacks.
    assert [f.name for f in db().http[:1729]] == [r["name"] for r in http_rows]
    assert {f.source for f in db().http[1729:]} == {CP_SOURCE}
    assert sum(f.pattern_type == "regexp" for f in db().http[:1729]) == 14
    assert FingerprintDB.load() is db()  # the bundled DB is loaded once
    with pytest.raises(AttributeError):
        db().http = ()  # type: ignore[misc]


def test_row_fields_parsed() -> None:
    ae0 = db().http[0]
    assert (ae0.name, ae0.scope, ae0.location_found) == ("ooni.ae_0", "nat", "header.server")
    assert ae0.expected_countries == ("AE", "SA")
    assert ae0.confidence_no_fp == 5


def test_override_directory(tmp_path: pathlib.Path) -> None:
    src = resources.files("netvigil") / "data" / "fingerprints"
    for name in (DNS_FILE, HTTP_FILE):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    only_ooni = FingerprintDB.load(tmp_path)  # without Censored Planet's lists: OONI's rows
    assert (only_ooni.dns, only_ooni.http) == (db().dns, db().http[:1729])
    for name in (CP_BLOCKPAGES, CP_FALSE_POSITIVES):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    other = FingerprintDB.load(tmp_path)
    assert other is not db()
    assert (other.dns, other.http) == (db().dns, db().http)


# The rows of the bundled CSV whose quoted pattern spans lines with CRLF (checked below
# against the raw bytes, so a new such row shows up here).
CRLF_ROWS = (
    "cp.d_corp_multacom_satellite",
    "ooni.th_11",
    "ooni.th_12",
    "ooni.th_13",
    "ooni.vn_http_1",
    "ooni.kh_http_1",
)


def test_multi_line_patterns_keep_their_crlf() -> None:
    raw = (resources.files("netvigil") / "data" / "fingerprints" / HTTP_FILE).read_bytes()
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    expected = {r["name"]: r["pattern"] for r in rows if "\r\n" in r["pattern"]}
    assert tuple(expected) == CRLF_ROWS
    loaded = {f.name: f for f in db().http if f.name in expected}
    for name, pattern in expected.items():
        assert loaded[name].pattern == pattern, name
        # A blockpage sent with CRLF line ends, as the one the row was copied from.
        page = f"<html><head>{pattern}</head><body>more</body></html>"
        assert name in {m.fingerprint.name for m in db().match_http(page, {})}, name
        assert confirms(loaded[name], (loaded[name].expected_countries or ("ZZ",))[0])
        # ...and the same page with LF line ends is not the same bytes.
        lf_page = page.replace("\r\n", "\n")
        assert name not in {m.fingerprint.name for m in db().match_http(lf_page, {})}, name


# --- bad input -----------------------------------------------------------------------------

HEADER = "name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,"
HEADER += "expected_countries,source,exp_url,notes\n"


def write_db(tmp_path: pathlib.Path, http_rows: str, header: str = HEADER) -> pathlib.Path:
    src = resources.files("netvigil") / "data" / "fingerprints"
    (tmp_path / DNS_FILE).write_text((src / DNS_FILE).read_text("utf-8"), "utf-8")
    (tmp_path / HTTP_FILE).write_text(header + http_rows, "utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("header", "row", "expected"),
    [
        (HEADER, "a,nat,,body,glob,x,5,,s,,\n", r"line 2: a: unknown pattern_type 'glob'"),
        (HEADER, "ok,nat,,body,contains,x,5,,s,,\nb,nat,,body,regexp,a(b,5,,s,,\n", r"line 3: b"),
        (HEADER, "c,nat,,dns,full,1.2.3.4,5,,s,,\n", r"location_found 'dns'"),
        (HEADER, "d,nat,,body,contains,,5,,s,,\n", r"empty pattern"),
        (HEADER.replace("pattern_type,", ""), "", r"missing column\(s\) pattern_type"),
    ],
)
def test_bad_http_csv(tmp_path: pathlib.Path, header: str, row: str, expected: str) -> None:
    with pytest.raises(FingerprintError, match=expected) as info:
        FingerprintDB.load(write_db(tmp_path, row, header))
    assert HTTP_FILE in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: pathlib.Path) -> None:
    dns = (resources.files("netvigil") / "data" / "fingerprints" / DNS_FILE).read_text("utf-8")
    (tmp_path / DNS_FILE).write_text(dns, "utf-8")
    with pytest.raises(FingerprintError, match=re.escape(HTTP_FILE)):
        FingerprintDB.load(tmp_path)


# --- semantics -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["web_connectivity_ir_fp.json", "bug_352.json"])
def test_ir_dns_blockpage_ip(name: str) -> None:
    msmt = json.loads((MEASUREMENTS / "ooni-backend-fastpath" / name).read_text("utf-8"))
    answers = [a.get("ipv4") for q in msmt["test_keys"]["queries"] for a in q["answers"] or ()]
    ips = [ip for ip in answers if ip and ip.startswith("10.10.34.")]
    assert ips
    for ip in ips:
        matches = db().match_dns(ip)
        assert matches == naive().match_dns(ip)
        assert [(m.fingerprint.name, m.fingerprint.expected_countries) for m in matches] == [
            ("ooni.ir_10dot10_ipv4_1", ("IR",))
        ]
        assert confirms(matches[0].fingerprint, "IR")
        assert not confirms(matches[0].fingerprint, "IT")
    assert db().match_dns(ips[0])[0].witness == ips[0]
    assert db().match_dns("93.184.216.34") == ()


def first_row(location: str, kind: str) -> Fingerprint:
    return next(f for f in db().http if (f.location_found, f.pattern_type) == (location, kind))


def names(matches: tuple[FingerprintMatch, ...]) -> list[str]:
    return [m.fingerprint.name for m in matches]


def test_body_contains_and_full() -> None:
    (m,) = assert_same("<p>Ray ID: 42</p>", {})
    assert (m.fingerprint.name, m.location) == ("cp.fp_x_cloudflare_error_1", "body")
    assert m.witness == "Ray ID:"
    full = first_row("body", "full")
    assert full.name in names(assert_same(full.pattern, {}))
    assert full.name not in names(assert_same(full.pattern + " ", {}))
    assert full.name not in names(assert_same("x" + full.pattern, {}))
    assert assert_same("ray id: 42", {}) == ()  # values are case-sensitive


def test_header_prefix_full_contains_case_insensitive_names() -> None:
    prefix = "http://www.bluecoat.com/notify-NotifyUser1"
    (m,) = assert_same(None, {"LoCaTiOn": prefix + "?u=x"})
    assert (m.fingerprint.name, m.location) == ("ooni.ae_1", "header.location")
    assert m.witness == prefix + "?u=x"  # the whole header value
    assert assert_same(None, {"Location": "http://x/?" + prefix}) == ()  # prefix only at start
    assert assert_same(prefix, {}) == ()  # a header row does not match the body
    full = first_row("header.server", "full")
    assert names(assert_same(None, {"SERVER": full.pattern})) == [full.name]
    assert full.name not in names(assert_same(None, {"Server": full.pattern + "/2"}))
    contains = first_row("header.location", "contains")
    assert contains.name in names(assert_same(None, {"location": "a" + contains.pattern + "b"}))


def test_prefix_rows_are_anchored_in_bodies() -> None:
    rows = [(0, "prefix", "<b>blocked"), (1, "contains", "blocked"), (2, "full", "<b>blocked</b>")]
    index = LiteralIndex(rows)
    assert index.search("<b>blocked</b>") == {0: "<b>blocked", 1: "blocked", 2: "<b>blocked</b>"}
    assert index.search(" <b>blocked</b>") == {1: "blocked"}


def test_regexp_rows() -> None:
    page = 'x <p>The document has moved <a href="/y">here</a>.</p> z'
    (m,) = assert_same(page, {})
    assert m.fingerprint.name == "cp.fp_x_moved_here"
    assert m.witness == '<p>The document has moved <a href="/y">here</a>.</p>'
    assert assert_same("<p>The document has moved <a href=\n>here</a>.</p>", {}) == ()  # `.` ≠ \n
    assert assert_same("You don't have permission to access /x on this server.<P>", {})


def test_results_sorted_and_deduplicated() -> None:
    cf = "<title>Please Wait... | Cloudflare</title>"  # three rows share this pattern
    matches = assert_same(cf + cf, {"Location": "x", "location": "y"})
    rows = [db().http.index(m.fingerprint) for m in matches]
    assert rows == sorted(set(rows))
    assert len(matches) == 3


@pytest.mark.parametrize(
    ("scope", "countries", "cc", "expected"),
    [
        ("fp", (), "IR", False),
        ("fp", ("IR",), "IR", False),
        ("vbw", (), "IR", False),
        ("vbw", ("IR",), "IR", False),
        ("nat", (), "IR", True),
        ("isp", (), "IR", True),
        ("inst", (), "IR", True),
        ("prod", (), "IR", True),
        ("injb", (), "IR", False),
        ("prov", (), "IR", False),
        ("nat", ("IR", "AE"), "AE", True),
        ("nat", ("IR", "AE"), "ae", True),
        ("isp", ("IR",), "IT", False),
        ("prod", ("RU",), "IT", False),
    ],
)
def test_confirms_rule(scope: str, countries: tuple[str, ...], cc: str, expected: bool) -> None:
    assert confirms(fp(scope, countries), cc) is expected
    assert is_false_positive_page(fp(scope, countries)) is (scope == "fp")


# --- required literals (the regexp prefilter must never reject a matching text) --------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("abc", ("abc",)),
        ("ab|cd", ()),
        ("x(a|b)yz", ("x", "yz")),
        ("ab*cd", ("a", "cd")),
        ("ab+cd", ("ab", "cd")),
        ("ab*?cd", ("a", "cd")),
        ("ab{2,3}cd", ("a", "cd")),
        ('{"msg":', ('"msg":',)),
        (r"a\.b[.|]c\d", ("a.b", "c")),
        ("(?i)abc", ()),
        (r"\x41bc", ()),
    ],
)
def test_required_literals(pattern: str, expected: tuple[str, ...]) -> None:
    assert required_literals(pattern) == expected


TOKENS = ["a", "b", "ab", "c", ".", "*", "+", "?", "|", "(", ")", "[ab]", r"\.", "{1,2}", "x"]


@st.composite
def small_regexes(draw: st.DrawFn) -> str:
    while True:
        pattern = "".join(draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=8)))
        try:
            re.compile(pattern)
        except re.error:
            continue
        return pattern


REAL_REGEXPS = [f.pattern for f in FingerprintDB.load().http if f.pattern_type == "regexp"]
assert len(REAL_REGEXPS) > 14  # Censored Planet's regexps are in there too


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_required_literals_are_required(data: st.DataObject) -> None:
    pattern = data.draw(st.one_of(small_regexes(), st.sampled_from(REAL_REGEXPS)))
    text = data.draw(st.from_regex(pattern))
    assert re.search(pattern, text)
    for literal in required_literals(pattern):
        assert literal in text, (pattern, text, literal)


# --- differential: real and synthetic pages ----------------------------------------------------


def decode(value: Any) -> str | None:
    """A str, or ``{"format": "base64", "data": ...}`` decoded as UTF-8 with replacement.

    Legacy (2015) measurements give header values as lists: the first value is used.
    """
    if isinstance(value, list):
        return decode(value[0]) if value else None
    if isinstance(value, dict) and value.get("format") == "base64":
        data = str(value.get("data") or "")
        try:  # web_connectivity_b64_incorrect.json deliberately lacks the padding
            raw = base64.b64decode(data + "=" * (-len(data) % 4))
        except binascii.Error:
            return None
        return raw.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def responses(obj: Any, key: str = "") -> Iterator[Page]:
    """Every HTTP ``response`` (body, headers) in an OONI measurement, whatever the nettest."""
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


def real_pages() -> list[Page]:
    pages: list[Page] = []
    for path in sorted(MEASUREMENTS.rglob("*.json*")):
        text = path.read_text("utf-8")
        lines = text.splitlines() if path.suffix == ".jsonl" else [text]
        for line in filter(str.strip, lines):
            pages.extend(responses(json.loads(line)))
    return pages


def test_differential_real_pages() -> None:
    pages = real_pages()
    # The corpus is fixed, so are the counts: real pages hit body, header and regexp rows.
    assert len(pages) == 204
    assert sum(body is not None and len(body) > 1000 for body, _ in pages) == 40
    matches = [m for body, headers in pages for m in assert_same(body, headers)]
    # 46 of OONI's rows, and Censored Planet's fp r_fp_28 (`Set-Cookie:.*domain=\.`) on the
    # three responses whose Set-Cookie names a domain (Cloudflare's __cfduid).
    assert len(matches) == 46 + 3
    assert sum(m.fingerprint.name == "cp.r_fp_28" for m in matches) == 3
    assert {m.location for m in matches} == {"body", "header.location", "header.set-cookie"}
    assert sum(m.fingerprint.pattern_type == "regexp" for m in matches) == 4 + 3


def craftable(pattern: str) -> bool:
    """Whether crafted_match handles ``pattern``: literals, escapes, dots, dot-stars."""
    rest = re.sub(r"\\.|(?:\.|\[\\s\\S\])\*?", "", pattern.removeprefix("^"))
    return not re.search(r"[()|*+?\[\]^$]", rest)


def crafted_match(pattern: str, rng: random.Random) -> str:
    """A string matching one of the corpus regexps: `.*` becomes filler, `\\x` becomes x."""
    # Censored Planet's rows spell re.DOTALL's `.` as `[\s\S]`: the same filler serves.
    text = re.sub(r"(?:\.|\[\\s\\S\])\*", lambda _: rng.choice(["", "ab", " some words "]), pattern)
    text = text.replace("[\\s\\S]", "\n").lstrip("^")
    text = re.sub(r"(?<!\\)\.", "'", text)
    return re.sub(r"\\(.)", r"\1", text)


WORDS = ["<div>", "</div>", "<p>", "lorem", "ipsum", "blocked", "http://", "é", "你好", "\n", " "]


def filler(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(WORDS) for _ in range(n))


def synthetic_page(rows: list[Fingerprint], rng: random.Random) -> Page:
    body: list[str] = [filler(rng, rng.randrange(50))]
    headers: dict[str, str] = {}
    for row in rows:
        p = row.pattern
        value = {"regexp": crafted_match(p, rng), "contains": f"a{p}b", "full": p}.get(
            row.pattern_type, p + "/x"
        )
        if row.location_found.startswith("header."):
            name = row.location_found[7:]
            headers[rng.choice([name, name.upper(), name.title()])] = value
        elif row.pattern_type in ("full", "prefix") and rng.random() < 0.8:
            body = [value, filler(rng, 3)] if row.pattern_type == "prefix" else [value]
        else:
            body += [value, filler(rng, rng.randrange(50))]
    return "".join(body), headers


def test_crafted_regexp_strings_match() -> None:
    rng = random.Random(1)
    # OONI's 14 and Censored Planet's that are literals with `.`/`.*` (the others, with groups
    # or alternations, are exercised by test_differential_hypothesis's st.from_regex).
    rows = [f for f in db().http if f.pattern_type == "regexp" and craftable(f.pattern)]
    ooni = {f.name for f in db().http[:1729] if f.pattern_type == "regexp"}
    assert len(ooni) == 14 and ooni < {f.name for f in rows}
    for row in rows:
        assert re.search(row.pattern, crafted_match(row.pattern, rng)), row.pattern


def test_differential_synthetic_pages() -> None:
    rng = random.Random(20241020)
    http = db().http
    regexp_rows = [f for f in http if f.pattern_type == "regexp" and craftable(f.pattern)]
    total, matched = 0, set()
    for i in range(600):
        extra = [regexp_rows[i % len(regexp_rows)]] if i % 5 == 0 else []
        rows = rng.sample(http, rng.randrange(0, 4)) + extra
        matches = assert_same(*synthetic_page(rows, rng))
        total += len(matches)
        matched |= {m.fingerprint.name for m in matches}
    assert total == 1372  # the pages are seeded, so these counts are fixed
    assert len(matched) == 758
    assert {f.name for f in regexp_rows} <= matched


@st.composite
def pages_from_rows(draw: st.DrawFn) -> Page:
    """A page embedding sampled rows: a regexp row via a string hypothesis builds to match it,
    a full row as the whole value, a prefix row at the start; sometimes with text around it,
    which turns full/prefix rows into near misses."""
    parts = [draw(st.text(max_size=30))]
    headers: dict[str, str] = {}
    for row in draw(st.lists(st.sampled_from(db().http), max_size=4)):
        value = draw(st.from_regex(row.pattern)) if row.pattern_type == "regexp" else row.pattern
        if draw(st.booleans()):
            value = draw(st.text(max_size=3)) + value + draw(st.text(max_size=3))
        if row.location_found.startswith("header."):
            case = draw(st.sampled_from([str.lower, str.upper, str.title]))
            headers[case(row.location_found[7:])] = value
        elif row.pattern_type == "full":
            parts = [value]
        elif row.pattern_type == "prefix":
            parts.insert(0, value)
        else:
            parts.append(value)
    return ("".join(parts) if draw(st.integers(0, 9)) else None), headers


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages_from_rows())
def test_differential_hypothesis(page: Page) -> None:
    assert_same(*page)


def test_scanner_engines_agree() -> None:
    # Hyperscan is the default engine where its wheels exist (x86-64); pyahocorasick is the
    # fallback elsewhere. Both must find the same rows on real and synthetic pages.
    import platform

    from netvigil.analysis.fingerprint_index import ENGINES, LiteralIndex

    if platform.machine() == "x86_64":
        assert ENGINES == ("hyperscan", "ahocorasick")
    entries = [
        (i, f.pattern_type, f.pattern)
        for i, f in enumerate(db().http)
        if f.location_found == "body"
    ]
    indexes = [LiteralIndex(entries, engine=engine) for engine in ENGINES]
    rng = random.Random(7)
    http = db().http
    bodies = [body for body, _ in real_pages() if body]
    bodies += [str(synthetic_page(rng.sample(http, 3), rng)[0]) for _ in range(300)]
    hits = 0
    for body in bodies:
        results = [index.search(body) for index in indexes]
        assert all(result == results[0] for result in results), body[:80]
        hits += len(results[0])
    assert hits > 100


# --- vendors and Censored Planet's rows ------------------------------------------------------


def test_every_product_name_has_a_vendor() -> None:
    """Every `prod_` token of every list's names (and OONI's other_names) is in vendors.csv."""
    table = VendorTable.load()
    missing = sorted(
        {
            f"{fp.name}: {name}"
            for fp in db().dns + db().http
            for name in (fp.name, *fp.other_names)
            if (token := product_token(name)) is not None and table.vendor_of_token(token) is None
        }
    )
    assert missing == []
    unnamed = sorted(fp.name for fp in db().dns + db().http if fp.scope == "prod" and not fp.vendor)
    # OONI's prod rows whose names and notes name no product (Cloudflare-like waiting pages, a
    # "Web Filter Violation" title, a Squid-like error): no vendor rather than a guess.
    assert unnamed == ["ooni.id_39", "ooni.in_12", "ooni.in_6", "ooni.kh_http_1", "ooni.mm_http_2"]


@pytest.mark.parametrize(
    ("name", "vendor"),
    [
        ("cl.prod_fortiguard_webfilter_blocktext", "Fortinet FortiGuard"),
        ("cp.a_prod_fortinet_5", "Fortinet FortiGuard"),
        ("cl.prod_cisco_opendns_forward", "Cisco OpenDNS"),  # the longer token wins
        ("cp.a_prod_cisco", "Cisco"),
        ("cl.prod_ciscomeraki_filter_block", "Cisco Meraki"),
        ("cl.prod_squidguard_forward", "SquidGuard"),
        ("cl.prod_squid_error_page", "Squid"),
        ("cp.d_corp_mckesson_using_a_prod_paloalto", "Palo Alto Networks"),
        ("ooni.au_2", "ContentKeeper"),  # through its other name cl.prod_contentkeeper
        ("ooni.il_0", "NetSpark"),
        ("ooni.ug_cyber_roam_0", "Sophos Cyberoam"),  # a `row` line: OONI's own pattern says so
        ("ooni.ir_0", None),
        ("cl.isp_gb_talktalk_optinporn_block", None),
    ],
)
def test_vendor_of_rows(name: str, vendor: str | None) -> None:
    fp = db().named(name)
    assert fp is not None and fp.vendor == vendor


def test_every_match_carries_its_vendor() -> None:
    (m,) = assert_same("<title>x</title>Internet Security by Zscaler<p>", {})
    assert (m.fingerprint.name, m.vendor) == ("cl.prod_zscaler_block", "Zscaler")
    (d,) = db().match_dns("208.91.112.55")
    assert (d.fingerprint.name, d.vendor) == ("cl.dns_prod_fortidns", "Fortinet FortiGuard")


def test_censoredplanet_rows_added() -> None:
    added = {f.name: f for f in db().http[1729:]}
    # A header pattern goes to its header, anchored: OONI filed this one under Location (as
    # cp.a_prod_huawei_esight); its `.` is a regex `.`, spelled for DOTALL.
    huawei = added["cp.a_prod_huawei_esight_v2"]
    assert (huawei.location_found, huawei.pattern_type, huawei.pattern) == (
        "header.server",
        "regexp",
        r"^V2R2C00-IAE/1[\s\S]0",
    )
    assert huawei.vendor == "Huawei" and huawei.scope == "prod"
    found = assert_same(None, {"Server": "V2R2C00-IAE/1.0"})
    assert huawei.name in names(found)
    assert "cp.a_prod_huawei_esight_v2" not in names(
        assert_same(None, {"Server": "x V2R2C00-IAE/1.0"})
    )
    # Censored Planet's `Server: Barracuda/NGFirewall` is OONI's ooni.zz_2 already: not added
    # again, and that row names Barracuda (vendors.csv).
    assert "cp.a_prod_barracuda_2_v2" not in added
    assert [
        (m.fingerprint.name, m.vendor)
        for m in assert_same(None, {"Server": "Barracuda/NGFirewall"})
    ] == [("ooni.zz_2", "Barracuda")]
    # A regex keeps DOTALL semantics: `.` matches a newline, as in Censored Planet's matcher.
    keweon = added["cp.a_prod_keweon_satellite"]
    assert keweon.pattern == r"keweon[\s\S]*mode=block"
    assert "cp.a_prod_keweon_satellite" in names(assert_same("keweon\n<a href=?mode=block>", {}))
    # Signatures OONI already imported are not added twice (fortinet_1 is cp.a_prod_fortinet_1).
    assert "cp.a_prod_fortinet_1_v2" not in added and "cp.a_prod_fortinet_1" not in added
    # The false-positive list's rows are fp: evidence of a legitimate page, never confirming.
    fps = [f for f in added.values() if f.scope == "fp"]
    assert fps and not any(confirms(f, "RU") for f in fps)
    # e_unk ("unknown" entity) rows do not confirm alone.
    assert added["cp.e_unk_redirect_localhost_satellite_v2"].scope == "vbw"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"fingerprint": "z_odd_1", "pattern": "x"}', "z_odd_1: no scope prefix"),
        (
            '{"fingerprint": "a_prod_x", "pattern": "a(b"}',
            "a_prod_x: regexp 'a(b' does not compile",
        ),
        ('{"fingerprint": "a_prod_x"}', "line 1: 'pattern'"),
        ("not json", "line 1:"),
    ],
)
def test_bad_censoredplanet_file(tmp_path: pathlib.Path, line: str, expected: str) -> None:
    src = resources.files("netvigil") / "data" / "fingerprints"
    for name in (DNS_FILE, HTTP_FILE):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    (tmp_path / CP_BLOCKPAGES).write_text(line + "\n", "utf-8")
    with pytest.raises(FingerprintError, match=re.escape(expected)) as info:
        FingerprintDB.load(tmp_path)
    assert CP_BLOCKPAGES in str(info.value) and "\n" not in str(info.value)


def test_bad_vendor_table(tmp_path: pathlib.Path) -> None:
    src = resources.files("netvigil") / "data" / "fingerprints"
    for name in (DNS_FILE, HTTP_FILE):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    (tmp_path / "vendors.csv").write_text("kind,key,vendor,evidence\nbrand,x,X,y\n", "utf-8")
    with pytest.raises(FingerprintError, match=r"vendors\.csv: line 2: kind 'brand'"):
        FingerprintDB.load(tmp_path)
    (tmp_path / "vendors.csv").write_text("kind,key,vendor,evidence\nproduct,zscaler,Z,own\n")
    other = FingerprintDB.load(tmp_path)  # a folder's own table replaces ours
    assert other.named("cl.prod_zscaler_block").vendor == "Z"  # type: ignore[union-attr]
    assert other.named("cl.prod_iboss_iphantom_block").vendor is None  # type: ignore[union-attr]


# --- base64-wrapped rows (analysis/fingerprint_base64.py) ---


def test_base64_rows_get_their_text() -> None:
    # The three rows Citizen Lab wrote as base64 (their notes say so); every other row keeps
    # none, including Censored Planet's long run of letters cp.a_prod_paloalto_4.
    db = FingerprintDB.load()
    decoded = {fp.name: fp.decoded for fp in db.http if fp.decoded is not None}
    assert set(decoded) == {"ooni.ru_35", "ooni.ru_37", "ooni.th_5"}
    assert re.search(decoded["ooni.ru_35"], "<TITLE>Access Restricted!</TITLE>") is None
    paloalto = db.named("cp.a_prod_paloalto_4")
    assert paloalto is not None and paloalto.decoded is None


def test_base64_row_matches_its_text_and_its_own_pattern() -> None:
    db = FingerprintDB.load()
    th = db.named("ooni.th_5")
    assert th is not None
    text = '<html xmlns:v="urn:schemas-microsoft-com:vml"\r\nxmlns:o="urn:schemas"'
    for body in (text, text.replace("\r\n", "\n"), "x" + th.pattern + "y"):
        assert "ooni.th_5" in {m.fingerprint.name for m in db.match_http(body, {})}, body
    assert not db.match_http(text.replace("xmlns:o", "xmlns:p"), {})
    assert NaiveMatcher(db.http).match_http(text, {}) == db.match_http(text, {})


@given(
    st.text(st.characters(max_codepoint=0x44F, exclude_categories=("Cc", "Cs")), min_size=60),
    st.integers(min_value=0, max_value=3),
)
@settings(max_examples=60, deadline=None)
def test_base64_slice_at_any_offset_decodes(text: str, start: int) -> None:
    page = "<p>" + text + "</p>"
    encoded = base64.b64encode(page.encode()).decode()
    pattern = decoded_pattern(encoded[start:])
    if start == 0:
        assert pattern is not None and re.fullmatch(pattern, page)
    elif pattern is not None:  # a cut inside a UTF-8 sequence may leave no text: none then
        assert re.search(pattern, page)


def test_short_or_non_base64_patterns_have_no_text() -> None:
    assert decoded_pattern(base64.b64encode(b"<b>hi</b>").decode()) is None  # too short
    assert decoded_pattern("Not base64 at all, it has spaces and <markup> in it.........") is None
    assert decoded_pattern(base64.b64encode(b"\x00\x01" * 40).decode()) is None  # not text
    assert decoded_pattern(base64.b64encode(b"plain words " * 8).decode()) is None  # no markup
