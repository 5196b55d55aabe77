"""Comparing the probe's final HTTP response with the test helper's (ts-017 "HTTP diff").

Each rule follows OONI's *code*, which is what produced the archive, where it differs from
the spec text (ooni.md §1.4): `status_code_match` is null when the codes differ and the
control's is not 2xx; `title_match` is true only when no long word is in one title alone.
Sources: ooni/probe-cli:internal/minipipeline/httpdiff.go and
internal/experiment/webconnectivitylte/analysishttpdiff.go.
"""

from __future__ import annotations

import msgspec

# Above this, the two bodies count as the same page (bodyProportionFactor, ts-017).
BODY_PROPORTION_FACTOR = 0.7

# Header names that every server sends, so they say nothing about whose page it is.
COMMON_HEADERS = frozenset(
    [
        "date",
        "content-type",
        "server",
        "cache-control",
        "vary",
        "set-cookie",
        "location",
        "expires",
        "x-powered-by",
        "content-encoding",
        "last-modified",
        "accept-ranges",
        "pragma",
        "x-frame-options",
        "etag",
        "x-content-type-options",
        "age",
        "via",
        "p3p",
        "x-xss-protection",
        "content-language",
        "cf-ray",
        "strict-transport-security",
        "link",
        "x-varnish",
    ]
)

# Title words shorter than this are too common to compare (bytes, as Go's len()).
MIN_TITLE_WORD = 5


class HTTPDiff(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    body_proportion: float | None = None
    body_length_match: bool | None = None
    headers_match: bool | None = None
    status_code_match: bool | None = None
    title_match: bool | None = None
    uncommon_headers_shared: frozenset[str] | None = None
    title_words_differing: frozenset[str] | None = None

    @property
    def differs(self) -> bool:
        """ts-017's diff algorithm: same status and at least one other similarity, or a diff."""
        if self.status_code_match:
            return not (self.body_length_match or self.headers_match or self.title_match)
        return True


def body_proportion(probe: int, control: int) -> float:
    return control / probe if probe >= control else probe / control


def status_code_match(probe: int, control: int) -> bool | None:
    if probe == control:
        return True
    return None if control // 100 != 2 else False


def uncommon_headers_shared(probe: frozenset[str], control: frozenset[str]) -> frozenset[str]:
    mine = {k.lower() for k in probe} - COMMON_HEADERS
    theirs = {k.lower() for k in control} - COMMON_HEADERS
    return frozenset(mine & theirs)


def _long_words(title: str) -> set[str]:
    return {
        word.lower()
        for word in title.split(" ")
        if (len(word) if word.isascii() else len(word.encode("utf-8"))) >= MIN_TITLE_WORD
    }


def title_words_differing(probe: str, control: str) -> frozenset[str]:
    return frozenset(_long_words(probe) ^ _long_words(control))


def titles_share_a_word(probe: str, control: str) -> bool:
    """Whether the titles have a long word in common (what the layered engine asks of two titles).

    Not OONI's rule: `title_match` is true when no long word is in one title alone, so two
    untitled pages "match". The layered engine asks for a shared word as well.
    """
    return bool(_long_words(probe) & _long_words(control))


def compare(
    *,
    probe_status: int,
    probe_body_length: int,
    probe_truncated: bool,
    probe_headers: frozenset[str],
    probe_title: str,
    control_status: int,
    control_body_length: int,
    control_headers: frozenset[str],
    control_title: str,
) -> HTTPDiff:
    """Compare a final probe response (2xx/4xx/5xx) with a successful control fetch."""
    proportion: float | None = None
    if probe_body_length > 0 and not probe_truncated and control_body_length > 0:
        proportion = body_proportion(probe_body_length, control_body_length)
    status = None
    if probe_status > 0 and control_status > 0:
        status = status_code_match(probe_status, control_status)
    shared: frozenset[str] | None = None
    differing: frozenset[str] | None = None
    if control_status > 0:
        shared = uncommon_headers_shared(probe_headers, control_headers)
        differing = title_words_differing(probe_title, control_title)
    return HTTPDiff(
        body_proportion=proportion,
        body_length_match=None if proportion is None else proportion > BODY_PROPORTION_FACTOR,
        headers_match=None if shared is None else len(shared) > 0,
        status_code_match=status,
        title_match=None if differing is None else len(differing) == 0,
        uncommon_headers_shared=shared,
        title_words_differing=differing,
    )
