"""Atom 1.0 feeds of incidents (RFC 4287), built with feedgen.

One entry per incident, its `updated` the revision's time, so a reader sees every revision;
a retracted incident stays in the feed with "[Retracted]" in its title and the reason in its
content, so the retraction reaches everyone who had it. The public feed is anonymous; a
saved filter's feed is read with the clearance of the member who saved it, through a
per-subscriber token URL (feed readers cannot log in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from feedgen.feed import FeedGenerator

from netvigil.incidents.exports import text_of
from netvigil.incidents.model import Incident


def atom(
    incidents: Iterable[Incident],
    *,
    instance: str,
    path: str,
    title: str,
    now: dt.datetime,
) -> bytes:
    feed = FeedGenerator()
    feed.id(f"{instance}{path}")
    feed.title(title)
    feed.link(href=f"{instance}{path}", rel="self")
    feed.link(href=f"{instance}/incidents", rel="alternate")
    feed.author({"name": "netvigil"})
    feed.generator("netvigil")
    listed = list(incidents)
    feed.updated(max((i.updated_at for i in listed), default=now))
    for incident in listed:
        entry = feed.add_entry(order="append")
        entry.id(f"urn:uuid:{incident.id}")
        name = text_of(incident.title)
        retracted = incident.status == "retracted"
        entry.title(f"[Retracted] {name}" if retracted else name)
        entry.updated(incident.updated_at)
        entry.published(incident.created_at)
        entry.link(href=f"{instance}/incidents/{incident.id}", rel="alternate")
        summary = text_of(incident.summary) or name
        if retracted:
            summary = f"Retracted: {incident.retraction_reason}. {summary}"
        entry.summary(summary)
        entry.category(term=incident.kind)
        entry.category(term=f"status:{incident.status}")
        for country in incident.countries:
            entry.category(term=f"country:{country}")
    return bytes(feed.atom_str(pretty=True))
