"""Visibility levels: who may see an incident or a piece of evidence (ecosystem.md §3.3).

Six ordered levels, each with a plain-language name, a TLP 2.0 label and a MISP
distribution. A lower level is stricter; nested evidence takes the stricter of its own level
and its incident's ("most restrictive wins", as MISP does between an event and its
attributes). Evidence that could identify a volunteer is capped at `group` by type and
cannot be raised: testimony, media (photos, recordings) and anything its author marks so.
"""

from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    DRAFT = 0
    NAMED = 1
    GROUP = 2
    COALITION = 3
    FEDERATED = 4
    PUBLIC = 5

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(level.label for level in cls)
            raise ValueError(f"unknown visibility {text!r} (expected one of {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def plain(self) -> str:
        """What a member reads in the interface."""
        return PLAIN[self]

    @property
    def tlp(self) -> str | None:
        """The TLP 2.0 label (FIRST, 2022)."""
        return TLP[self]

    @property
    def misp_distribution(self) -> int:
        """MISP's distribution: 0 your organisation, 1 this community, 2 connected
        communities, 3 all communities, 4 sharing group."""
        return MISP[self]


PLAIN = {
    Level.DRAFT: "Only my organisation (draft)",
    Level.NAMED: "Named organisations only",
    Level.GROUP: "A sharing group",
    Level.COALITION: "All coalition members on this instance",
    Level.FEDERATED: "Coalition members on connected instances too",
    Level.PUBLIC: "Everyone (public)",
}
TLP = {
    # A draft is never shared; should one leave its organisation in an export, it is RED.
    Level.DRAFT: "TLP:RED",
    Level.NAMED: "TLP:RED",
    Level.GROUP: "TLP:AMBER",
    Level.COALITION: "TLP:GREEN",
    Level.FEDERATED: "TLP:GREEN",
    Level.PUBLIC: "TLP:CLEAR",
}
MISP = {
    Level.DRAFT: 0,
    Level.NAMED: 4,
    Level.GROUP: 4,
    Level.COALITION: 1,
    Level.FEDERATED: 2,
    Level.PUBLIC: 3,
}

# Evidence types that can identify the person who measured or spoke.
IDENTIFYING_TYPES = frozenset({"testimony", "media"})
IDENTIFYING_CAP = Level.GROUP


def stricter(*levels: Level) -> Level:
    return min(levels)


def evidence_cap(kind: str, identifies_volunteer: bool) -> Level:
    """The highest level a piece of evidence may ever have."""
    if identifies_volunteer or kind in IDENTIFYING_TYPES:
        return IDENTIFYING_CAP
    return Level.PUBLIC
