"""Uploading measurements through OONI's collector protocol, now or later (ooni.md §5.1).

Client duties (bk-003 §4): open a report for each (test, country, network), submit each
measurement, retry three times on network errors, then leave the rest for a later run.
Measurements made offline stay in the data folder and keep their own
`measurement_start_time`: a shutdown must not vanish from the record because the probe
could only upload after it (issue 5). What was uploaded is remembered in
`uploaded.jsonl` (the measurement's content key and the uid the collector returned), so a
later run submits only what is missing; the collector would store a duplicate once anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec

from netvigil.net.backend import Backend
from netvigil.net.connect import tls_context
from netvigil.net.posting import post_json
from netvigil.readers import Item, read_path

RETRIES = 3
DEADLINE = 30.0


class UploadSummary(msgspec.Struct, kw_only=True):
    uploaded: int = 0
    already: int = 0
    failed: int = 0
    last_error: str | None = None
    uids: list[str] = msgspec.field(default_factory=list)  # the collector's, as it answered


def _key(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _done(ledger: Path) -> set[str]:
    if not ledger.exists():
        return set()
    keys = set()
    for line in ledger.read_text().splitlines():
        try:
            keys.add(json.loads(line)["key"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a crash: that measurement is submitted again
    return keys


def uploaded_uids(ledger: Path) -> list[str]:
    """The collector's uid of each measurement the ledger says was submitted, in order."""
    if not ledger.exists():
        return []
    uids = []
    for line in ledger.read_text().splitlines():
        try:
            uid = json.loads(line)["uid"]
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a crash (see _done)
        if isinstance(uid, str):
            uids.append(uid)
    return uids


async def upload(
    files: Iterable[Path],
    collector: str,
    backend: Backend,
    ledger: Path,
    *,
    ca_file: str | None = None,
    progress: Callable[[], None] = lambda: None,
) -> UploadSummary:
    """Submit every measurement of `files` not yet in `ledger`; never raises for the network."""
    summary = UploadSummary()
    done = _done(ledger)
    reports: dict[tuple[str, str, str], str] = {}
    context = tls_context(ca_file)
    base = collector.rstrip("/")

    async def call(path: str, body: dict[str, object]) -> dict[str, object] | str:
        for attempt in range(RETRIES):
            exchange = await post_json(
                backend,
                base + path,
                json.dumps(body).encode(),
                deadline=DEADLINE,
                ssl_context=context,
                max_body=1 << 20,
            )
            if exchange.failure is None and exchange.status == 200:
                try:
                    answer = json.loads(exchange.body)
                except ValueError:  # not JSON, or not UTF-8: the collector's failure
                    answer = None
                return answer if isinstance(answer, dict) else "not a JSON object"
            error = exchange.failure or f"HTTP {exchange.status}: {exchange.body[:200]!r}"
            if exchange.failure is None and exchange.status < 500:
                return error  # the collector refused it: retrying would not help
            await asyncio.sleep(0.5 * (attempt + 1))
        return error

    with open(ledger, "a") as record:
        for path in files:
            for item in read_path(path):
                if not isinstance(item, Item):
                    continue
                key = _key(item.raw)
                if key in done:
                    summary.already += 1
                    continue
                m = item.measurement
                which = (m.test_name, m.probe_cc or "ZZ", m.probe_asn or "AS0")
                if which not in reports:
                    opened = await call(
                        "/report",
                        {
                            "test_name": which[0],
                            "probe_cc": which[1],
                            "probe_asn": which[2],
                            "format": "json",
                        },
                    )
                    if isinstance(opened, dict) and "report_id" not in opened:
                        opened = "no report_id in the collector's answer"
                    if isinstance(opened, str):
                        summary.failed += 1
                        summary.last_error = opened
                        continue
                    reports[which] = str(opened["report_id"])
                content = json.loads(item.raw)
                content["report_id"] = reports[which]
                answer = await call(
                    f"/report/{reports[which]}", {"format": "json", "content": content}
                )
                if isinstance(answer, str):
                    summary.failed += 1
                    summary.last_error = answer
                    continue
                record.write(json.dumps({"key": key, "uid": answer.get("measurement_uid")}) + "\n")
                record.flush()
                os.fsync(record.fileno())
                done.add(key)
                summary.uploaded += 1
                summary.uids.append(str(answer.get("measurement_uid")))
                progress()
    return summary
