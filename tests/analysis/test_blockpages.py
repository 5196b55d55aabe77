"""Citizen Lab's captured blockpages as a labelled test set for scope and vendor attribution.

The pages (../shared/corpus/fingerprints/citizenlab-blockpages/, from citizenlab/
filtering-annotations ``blockpage_meta/``, BSD-3-Clause) are named ``<scope>_<cc>_<entity>_...``
by Citizen Lab: the expected scope comes from the file name, the expected vendor of each
``prod_*`` page is written below by hand from its name. Nothing here feeds the matcher: the
signatures are OONI's CSV (which holds all of Citizen Lab's own ``data/v1/http.csv`` rows) and
Censored Planet's two lists only (each match printed with its source), none derived from these
pages by us. Scopes are decided by
analysis/fingerprint_attribution.py; its order is a rule about rows, not tuned per page.
"""

from __future__ import annotations

import codecs
import functools
import pathlib
import re

import pytest

from netvigil.analysis.fingerprint_attribution import (
    Attribution,
    attribute,
    attributed_scope,
    blockpage_vendor,
)
from netvigil.analysis.fingerprints import FingerprintDB, FingerprintMatch
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Layer, Outcome, Verdict
from netvigil.analysis.web_rules import layer_verdict
from netvigil.records.envelope import decode_any

PAGES = (
    pathlib.Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "corpus"
    / "fingerprints"
    / "citizenlab-blockpages"
)
SCOPES = {"prod": "prod", "isp": "isp", "nat": "nat", "inst": "inst"}
THRESHOLD = 0.90

# The product each prod_* page's name says (Citizen Lab's names: prod_<vendor>_<what>).
EXPECTED_VENDOR = {
    "prod_ciscomeraki_filter_block": "Cisco Meraki",
    "prod_contentkeeper": "ContentKeeper",
    "prod_fortiguard_webfilter_blocktext": "Fortinet FortiGuard",
    "prod_iboss_iphantom_block": "iboss",
    "prod_juniper_webfilter": "Juniper",
    "prod_netspark_familyfilter": "NetSpark",
    "prod_rmedufilter_blockpage": "RM Education",
    "prod_squid_error_page": "Squid",
    "prod_zscaler_block": "Zscaler",
}
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def decode(raw: bytes) -> str:
    """The page as a browser would read it: UTF-8 if it is valid UTF-8 (a BOM is dropped),
    else the charset its ``<meta>`` declares (nat_th_ictprohibit_block is windows-874), else
    UTF-8 with replacement. isp_ru_westcall_blockpage declares koi8-r but is UTF-8: the bytes win.
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    m = _CHARSET.search(raw[:4096])
    if m is not None:
        try:
            return raw.decode(codecs.lookup(m.group(1).decode("ascii")).name, "replace")
        except LookupError:
            pass
    return raw.decode("utf-8", "replace")


def expected_scope(stem: str) -> str:
    return SCOPES[stem.split("_", 1)[0]]


@functools.cache
def scanned() -> dict[str, tuple[tuple[FingerprintMatch, ...], Attribution]]:
    db = FingerprintDB.load()
    out = {}
    for path in sorted(PAGES.glob("*.html")):
        matches = db.match_http(decode(path.read_bytes()), {})
        out[path.stem] = (matches, attribute(matches))
    return out


def describe(matches: tuple[FingerprintMatch, ...]) -> str:
    if not matches:
        return "nothing matched"
    return "; ".join(
        f"{m.fingerprint.name} ({m.fingerprint.scope}, {m.fingerprint.source or 'no source'}"
        f"{', ' + m.vendor if m.vendor else ''})"
        for m in matches
    )


def test_every_page_is_scanned() -> None:
    pages = scanned()
    assert len(pages) == len(list(PAGES.glob("*.html"))) == 69
    assert {expected_scope(stem) for stem in pages} == {"prod", "isp", "nat", "inst"}
    assert {stem for stem in pages if stem.startswith("prod_")} == set(EXPECTED_VENDOR)


# Pages whose right scope no row of any published list argues for, each read by hand: no
# attribution rule can get them right, so they bound the share any rule reaches.
BEYOND_EVERY_ROW = {
    "isp_ru_kaspnet_block": "the file is empty (0 bytes)",
    # The ISP changed its page after Citizen Lab wrote the row (pattern vs page):
    "isp_gb_talktalk_optinporn_block": "row wants ...parental-controls.html?originalURL=, "
    "the page links it URL-encoded with other parameters",
    "isp_ru_orionnet_block": "row wants the title ':: ДОСТУП ЗАПРЕЩЕН', "
    "the page's is ':: БЛОКИРОВКА'",
    "isp_ru_planeta_block": 'row wants <h1 class="HeaderTitle">, the page has an <h2>',
    "isp_ru_yota_block": 'row wants <h1 class="title title_h1">Доступ ограничен</h1>, '
    "the page's h1 has another class and says 'Доступ запрещен'",
    # The page a forward leads to: the ISP's row is the Location header, which a saved page
    # does not have; the body itself is the national register's template.
    "isp_ru_novotelecom_forward": "row is header.location zapret.2090000.ru",
    "isp_ru_westcall_forward_2": "row is header.location http://zapret.westcall.net/",
}


def reachable(stem: str, matches: tuple[FingerprintMatch, ...]) -> bool:
    return any(attributed_scope(m) == expected_scope(stem) for m in matches)


def test_pages_beyond_every_row_are_the_ones_named() -> None:
    # Holds the bound of test_scope_share to the data: a new or fixed signature that scopes one
    # of these pages fails here, and so does a page that loses its only right row.
    beyond = {stem for stem, (matches, _) in scanned().items() if not reachable(stem, matches)}
    assert beyond == set(BEYOND_EVERY_ROW)


@pytest.mark.xfail(
    strict=True,
    reason="60/69 = 87.0%: 7 pages have no row of their scope in OONI's, Citizen Lab's or "
    "Censored Planet's lists (BEYOND_EVERY_ROW), so no rule reaches 90% (the bound is 62/69 = "
    "89.9%); the other 2 (Starnet, TrustPositif) are lists disagreeing on the scope",
)
def test_scope_share() -> None:
    pages = scanned()
    misses = [
        f"{stem}: expected {expected_scope(stem)}, got {att.scope} from {describe(matches)}"
        + (f" [no row can: {BEYOND_EVERY_ROW[stem]}]" if stem in BEYOND_EVERY_ROW else "")
        for stem, (matches, att) in pages.items()
        if att.scope != expected_scope(stem)
    ]
    share = 1 - len(misses) / len(pages)
    report = f"scope right for {len(pages) - len(misses)}/{len(pages)} = {share:.1%}; misses:\n"
    assert share >= THRESHOLD, report + "\n".join(misses)


def test_every_reachable_page_but_two_disagreements_is_right() -> None:
    # The attribution rule (narrowest operator) is right wherever some row can be, except where
    # the lists themselves disagree: Censored Planet calls Starnet a corporation (d_corp) where
    # OONI and Citizen Lab say ISP, and TrustPositif an ISP (c_isp_id_govt_...) where they say
    # national. Voting by list would fix both and break four Russian ISP pages, whose national
    # rows (the register's address) outnumber their ISP's own row.
    wrong = {
        stem
        for stem, (matches, att) in scanned().items()
        if reachable(stem, matches) and att.scope != expected_scope(stem)
    }
    assert wrong == {"isp_id_starnet_sehat_blockpage", "nat_id_trustpositif"}


def test_every_matched_product_page_gets_its_vendor() -> None:
    misses = []
    matched = 0
    for stem, vendor in EXPECTED_VENDOR.items():
        matches, att = scanned()[stem]
        blocking = [m for m in matches if m.fingerprint.scope != "fp"]
        if not blocking:
            continue  # "every prod_* page that any signature matches"
        matched += 1
        if att.vendor != vendor:
            misses.append(f"{stem}: expected {vendor}, got {att.vendor} from {describe(matches)}")
    assert misses == [], "\n".join(misses)
    assert matched == len(EXPECTED_VENDOR)  # today every product page matches some signature


@pytest.mark.parametrize(
    ("stem", "scope", "vendor", "decisive"),
    [
        # Batelco's page forwards into Netsweeper: the ISP's page, Netsweeper's product.
        ("isp_bh_batelco_block_forward", "isp", "Netsweeper", "ooni.bh_0"),
        # OONI files ContentKeeper's page as an AU/IL ISP row; its other name is Citizen Lab's
        # cl.prod_contentkeeper, which identifies the product.
        ("prod_contentkeeper", "prod", "ContentKeeper", "ooni.au_2"),
        ("prod_squid_error_page", "prod", "Squid", "cl.prod_squid_error_page"),
    ],
)
def test_attribution_examples(stem: str, scope: str, vendor: str, decisive: str) -> None:
    matches, att = scanned()[stem]
    assert (att.scope, att.vendor) == (scope, vendor), describe(matches)
    assert att.decisive is not None and att.decisive.fingerprint.name == decisive


@pytest.mark.parametrize(
    ("stem", "row", "witness_start"),
    [
        # Both rows hold base64 slices of the page (analysis/fingerprint_base64.py); the saved
        # pages are text: Westcall's converted from KOI8-R to UTF-8, the Thai one with LF lines.
        ("isp_ru_westcall_blockpage", "ooni.ru_35", '<HTML style="font-family: Geneva'),
        ("nat_th_ictprohibit_block", "ooni.th_5", '<html xmlns:v="urn:schemas-microsoft-com:vml"'),
    ],
)
def test_base64_rows_match_the_decoded_page(stem: str, row: str, witness_start: str) -> None:
    matches, att = scanned()[stem]
    found = {m.fingerprint.name: m for m in matches}
    assert row in found, describe(matches)
    assert found[row].witness.startswith(witness_start)
    assert att.decisive is not None and att.decisive.fingerprint.name == row


def test_false_positive_rows_are_kept_apart() -> None:
    # Squid's error page also matches Censored Planet's fp row p_fp_14 (in OONI's CSV as
    # cp.fp_p_fp_14): evidence of an ordinary error page, reported, never the scope.
    _, att = scanned()["prod_squid_error_page"]
    assert [m.fingerprint.name for m in att.false_positive] == ["cp.fp_p_fp_14"]
    assert att.decisive is not None and att.decisive.fingerprint.scope != "fp"


# --- the verdict's vendor (analysis/layered.py via fingerprint_attribution.blockpage_vendor) ---

MEASUREMENTS = PAGES.parents[1] / "ooni-measurements" / "ooni-backend-fastpath"


def verdict_of(name: str) -> Verdict:
    raw = (MEASUREMENTS / name).read_bytes()
    return analyze(decode_any(raw), FingerprintDB.load())


def test_verdict_names_the_blockpage_product() -> None:
    # OONI's fastpath fixture: an AU probe redirected to
    # http://192.168.22.1/UserCheck/PortalMain?IID=... (its Location header, base64): Check
    # Point's UserCheck portal, Citizen Lab's row cl.prod_checkpoint_urlfilter_forward.
    verdict = verdict_of("web_connectivity_b64_hdr.json")
    assert (verdict.outcome, verdict.technique) == (
        Outcome.BLOCKED,
        "http_blockpage:cl.prod_checkpoint_urlfilter_forward",
    )
    assert verdict.vendor == "Check Point"


def test_verdict_without_a_product_has_no_vendor() -> None:
    # Iran's national DNS blockpage address (ooni.ir_10dot10_ipv4_1): a censor, not a product.
    verdict = verdict_of("web_connectivity_ir_fp.json")
    assert (verdict.outcome, verdict.technique) == (Outcome.BLOCKED, "dns_blockpage_ip")
    assert verdict.vendor is None


def test_dns_blockpage_vendor() -> None:
    # 208.91.112.55 is FortiGuard's DNS filter answer (cl.dns_prod_fortidns, no country).
    db = FingerprintDB.load()
    dns = layer_verdict(Layer.DNS, "dns.blockpage_answer", technique="dns_blockpage_ip")
    assert blockpage_vendor(dns, db, "IT", ["93.184.216.34", "208.91.112.55"]) == (
        "Fortinet FortiGuard"
    )
    assert blockpage_vendor(dns, db, "IT", ["93.184.216.34"]) is None
    down = layer_verdict(Layer.DNS, "dns.failure_control_ok", technique="dns_nxdomain")
    assert blockpage_vendor(down, db, "IT", ["208.91.112.55"]) is None
