"""What a given reader is shown of an incident they may read.

Evidence is filtered item by item (each has its own level, never above its incident's). A
copy with evidence left out is signed again, as given: the signature then says "this
instance published this content", so the reader's copy still verifies and cannot be altered.
"""

from __future__ import annotations

import msgspec

from netvigil.incidents import access
from netvigil.incidents.access import Principal, Sharing
from netvigil.incidents.levels import Level
from netvigil.incidents.model import Incident
from netvigil.incidents.signing import Keyring


def visible(who: Principal, incident: Incident, sharing: Sharing, keyring: Keyring) -> Incident:
    kept = [
        item
        for item in incident.evidence
        if access.can_read(
            who, msgspec.structs.replace(sharing, level=Level.parse(item.visibility))
        )
    ]
    if len(kept) == len(incident.evidence):
        return incident
    return keyring.sign(msgspec.structs.replace(incident, evidence=kept, signature=None))
