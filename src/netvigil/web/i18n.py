"""The explorer's languages: gettext catalogues read with Babel, and the one a request wants.

Catalogues are the `.po` files under `web/locale/<lang>/LC_MESSAGES/netvigil.po`, compiled in
memory when first used (Babel's `read_po` then `write_mo`), so the package ships only the
text a translator edits and no build step can leave a stale `.mo` behind. `scripts/messages`
extracts the strings of the templates and modules into `web/locale/netvigil.pot` and updates
each catalogue (pybabel's extract and update).

A request's language, first found wins: `?lang=` (the switch on every page, remembered in
the `lang` cookie), the cookie, then `Accept-Language` (RFC 9110 §12.5.4, with its q-values),
then English. Persian is written right to left; Babel's `Locale.text_direction` says so.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from importlib.resources import files

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "netvigil"
DEFAULT = "en"
COOKIE = "lang"
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


@functools.cache
def available() -> tuple[str, ...]:
    """English (the source language) and every language with a catalogue, sorted."""
    root = files("netvigil.web").joinpath("locale")
    found = [p.name for p in root.iterdir() if p.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file()]
    return (DEFAULT, *sorted(found))


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of `lang` (one of `available()`); English has none (the source)."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    text = files("netvigil.web").joinpath("locale", lang, "LC_MESSAGES", f"{DOMAIN}.po")
    with text.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def direction(lang: str) -> str:
    """ "rtl" or "ltr", as the language is written (Babel's CLDR data)."""
    return "rtl" if Locale.parse(lang).text_direction == "rtl" else "ltr"


def _known(tag: str) -> str | None:
    """The available language a tag names (`fa-IR` → `fa`), or None."""
    if not _TAG.fullmatch(tag):
        return None
    base = tag.replace("_", "-").split("-")[0].lower()
    return base if base in available() else None


def accepted(header: str) -> list[str]:
    """The available languages an Accept-Language header asks for, most wanted first.

    Malformed entries are skipped (a header is hostile input like any other); q=0 means
    "not this one"."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.fullmatch(r"\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*", params) if params else None
        if params and match is None:
            continue
        if match is not None:
            quality = float(match.group(1))
        lang = _known(tag.strip())
        if lang is not None and quality > 0:
            ranked.append((-quality, position, lang))
    return list(dict.fromkeys(lang for _, _, lang in sorted(ranked)))


def choose(query: str | None, cookie: str | None, header: str) -> str:
    """The language of a request: the switch, the cookie, the header, English."""
    for asked in (query, cookie):
        if asked and (lang := _known(asked)) is not None:
            return lang
    return next(iter(accepted(header)), DEFAULT)
