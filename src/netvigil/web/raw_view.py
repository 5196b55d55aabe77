"""What of a raw measurement a page may show: all of it but the probe's own address.

OONI's probes have written `probe_ip` as 127.0.0.1 for years, but older measurements, and
files imported as published, may still carry the volunteer's public address (the corpus's
2017 CN measurement does). The page drops the key and scrubs every other spelling of that
address (scrub.py, the probe's own scrubber: decimal, hex, escaped, in host names), keeping
every other address, loopback included, since those are evidence (DNS answers, blockpage
addresses). Text that is not a JSON object is not shown at all: the address could not be
found in it with certainty. Pages show at most `SHOWN` characters; the download has it all.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from netvigil.scrub import Scrubber

SHOWN = 64 * 1024


def shown_json(raw: bytes) -> tuple[str, bool]:
    """The measurement as pretty JSON without the probe's address, and whether it was cut;
    empty when it is not a JSON object."""
    try:
        value: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return "", False
    if not isinstance(value, dict):
        return "", False
    address = value.pop("probe_ip", None)
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(address, str) and address:
        with contextlib.suppress(ValueError):  # not an address: nothing to find elsewhere
            text = Scrubber([address]).text(text)
    return (text[:SHOWN], True) if len(text) > SHOWN else (text, False)
