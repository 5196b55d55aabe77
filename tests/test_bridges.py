"""A private Tor bridge's address is never kept: not by the reader, not by the collector.

ts-023 privacy considerations: a target with a non-empty `source` is private and its address
MUST be scrubbed ("[scrubbed]", the port may stay). The input is OONI's real tor.json with its
obfs4 bridge made private, and that bridge's address planted elsewhere in other spellings.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from netvigil.bridges import scrub_private_bridges, scrub_tor_keys
from netvigil.observatory.collector import _validated
from netvigil.readers import Item, parse_line
from tests.corpus import CORPUS

TOR = CORPUS / "ooni-measurements" / "ooni-backend-fastpath-other" / "tor.json"
BRIDGE_ID = "f372c264e9a470335d9ac79fe780847bda052aa3b6a9ee5ff497cb6501634f9f"
BRIDGE = "38.229.1.78"  # tor.json's obfs4 target_address host
SPELLINGS = (BRIDGE, "38%2E229%2E1%2E78", "038.229.001.078")


def private_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(TOR.read_bytes())
    targets = doc["test_keys"]["targets"]
    targets[BRIDGE_ID]["target_source"] = "bridgedb"
    # the same address, spelled otherwise, in a public target's trace
    events = targets["66.111.2.131:9001"]["network_events"]
    events[0]["address"] = "038.229.001.078:80"
    targets["66.111.2.131:9030"]["requests"][0]["request"]["url"] += "?via=38%2E229%2E1%2E78"
    return doc


def leaks(data: bytes) -> list[str]:
    text = data.decode()
    return [spelling for spelling in SPELLINGS if spelling in text]


def test_reader_scrubs_a_private_bridge_everywhere_and_keeps_public_targets() -> None:
    item = parse_line(json.dumps(private_doc()).encode(), "tor.json", None)
    assert isinstance(item, Item), item
    assert leaks(item.raw) == []
    keys = json.loads(item.raw)["test_keys"]["targets"]
    assert keys[BRIDGE_ID]["target_address"] == "[scrubbed]"
    assert keys[BRIDGE_ID]["tcp_connect"][0]["ip"] == "[scrubbed]"
    assert keys[BRIDGE_ID]["network_events"][0]["address"] == "[scrubbed]:80"
    # public directory authority 66.111.2.131 keeps its address (ts-023: scrub only private ones)
    assert keys["66.111.2.131:9001"]["target_address"] == "66.111.2.131:9001"
    assert item.measurement.test_name == "tor"


def test_collector_scrubs_a_submitted_private_bridge() -> None:
    stored = _validated(json.dumps(private_doc()).encode(), web=False)
    assert leaks(stored) == []
    assert b"66.111.2.131:9030" in stored


def test_an_id_that_spells_the_address_is_replaced_by_its_hash() -> None:
    doc = private_doc()
    targets = doc["test_keys"]["targets"]
    targets["38.229.1.78:80"] = targets.pop(BRIDGE_ID)
    scrubbed = json.loads(scrub_private_bridges(json.dumps(doc).encode()))
    ids = set(scrubbed["test_keys"]["targets"])
    new = ids - {"66.111.2.131:9001", "66.111.2.131:9030"}
    assert len(ids) == 3 and len(new) == 1
    # a salted hash: not the plain SHA-256 of "ip:port", which trying all 2^48 would undo
    (ident,) = new
    assert re.fullmatch("[0-9a-f]{64}", ident)
    assert ident != hashlib.sha256(b"38.229.1.78:80").hexdigest()


def test_public_only_and_other_nettests_are_left_byte_for_byte() -> None:
    raw = TOR.read_bytes()
    assert scrub_private_bridges(raw) is raw
    doc = private_doc()
    doc["test_name"] = "urlgetter"
    raw = json.dumps(doc).encode()
    assert scrub_private_bridges(raw) is raw


def test_a_bridge_given_by_name_and_a_loopback_bridge() -> None:
    keys = {
        "targets": {
            "a": {"target_address": "bridge.example.org:443", "target_source": "user"},
            "b": {"target_address": "127.0.0.1:9999", "target_source": "user"},
            "c": {"target_address": "127.0.0.1:9030", "target_source": ""},
        },
        "note": "bridge.example.org 127.0.0.1:9999",
    }
    out = scrub_tor_keys(keys)
    assert out["note"] == "[scrubbed] [scrubbed]:9999"
    assert [t["target_address"] for t in out["targets"].values()] == [
        "[scrubbed]",
        "[scrubbed]",
        "[scrubbed]:9030",  # the private bridge's IP is scrubbed wherever it appears
    ]
