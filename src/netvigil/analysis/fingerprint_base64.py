"""The text a base64-wrapped fingerprint pattern stands for, so that decoded pages match it.

A few body rows hold a slice of the blockpage's base64 encoding, not its text. Citizen Lab
wrote them that way for pages of mixed or non-UTF-8 encodings (filtering-annotations
``known_blockpages.py`` notes: "as base64 wrap" for Westcall, ``ooni.ru_35`` in OONI's CSV;
"mixed encodings/base64 so this should only match on OONI" for the Thai ICT page, ``ooni.th_5``;
Alliance Telecom, ``ooni.ru_37``): OONI stores a body that is not UTF-8 as
``{"format": "base64", "data": ...}`` and their matcher searched that string. We decode bodies
before matching, so as written these rows can never match; this module gives each one the text
it encodes, which FingerprintDB and the reference matcher also look for.

The slice may start anywhere in a 4-character group, so each of the four alignments is tried,
and only one that decodes to markup (a ``<`` and no control characters but tab, CR and LF) is
kept; a pattern that merely looks like base64, such as Censored Planet's
``Accesstothewebpageyouweretryingtovisit...``, decodes to bytes that are neither and keeps no
text. The bytes become text as a browser would read them: UTF-8, else the charset their own
``<meta>`` declares (Westcall's page is KOI8-R). Line breaks and the blanks around them match
any whitespace: they are layout, not content, and copies of a page differ in them -- the HTML
parser turns CRLF into LF (WHATWG HTML §13.2.3.5, "preprocessing the input stream"), and the
saved Westcall page lost the trailing blanks its base64 slice still has. Text within a line
must match exactly.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from typing import Final

__all__ = ["MIN_LENGTH", "decoded_pattern"]

# Shorter runs of letters and digits are ordinary words or tokens, not an encoded page.
MIN_LENGTH: Final = 40
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_CHARSET: Final = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK: Final = re.compile(r"[ \t]*[\r\n][\s]*")


def decoded_pattern(pattern: str) -> str | None:
    """A regexp for the text ``pattern`` encodes, or None if it is not base64 of markup."""
    if len(pattern) < MIN_LENGTH or not _BASE64.fullmatch(pattern):
        return None
    for offset in range(4):
        text = _markup(pattern[offset:])
        if text is not None:
            return r"\s+".join(re.escape(part) for part in _LINE_BREAK.split(text))
    return None


def _markup(chunk: str) -> str | None:
    # Padding ends the encoding on a whole group; a slice cut mid-group loses that group.
    whole = chunk if chunk.endswith("=") else chunk[: len(chunk) // 4 * 4]
    try:
        raw = base64.b64decode(whole, validate=True)
    except (binascii.Error, ValueError):
        return None
    text = _as_text(raw)
    if text is None or "<" not in text or _CONTROL.search(text):
        return None
    return text.strip()  # blanks at the slice's ends would demand whitespace there


def _as_text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(raw)
    if declared is None:
        return None
    try:
        return raw.decode(codecs.lookup(declared.group(1).decode("ascii")).name)
    except (LookupError, UnicodeDecodeError):
        return None
