"""Identifiers in OONI's formats: report ids, measurement uids, and the deduplication key.

- report_id (ooni/backend utils.py `generate_report_id`; ooni.md §5.1):
  `{YYYYmmddTHHMMSSZ}_{testname}_{CC}_{ASN}_n{collector}_{12 bytes, base64, altchars "oo"}`.
  Our 16 characters are 8 random ones and 8 derived from an HMAC of the rest of the id under
  the collector's secret (OONI's "oo" base64 alphabet cannot be decoded, so we do not
  encode bytes): a report id proves it was opened here, with no per-report state to lose
  in a crash, and its shape stays OONI's.
- measurement_uid (`YYYYmmddHHMMSS.ffffff_CC_testname_<16 hex>`): time of first receipt, and
  16 hex digits of the deduplication key, so a resubmitted measurement gets the same uid.
- The deduplication key is the sha256 of the measurement's canonical JSON (sorted keys, no
  spaces) without `report_id` and the keys a backend adds, so the same measurement sent in a
  retry, or through a new report, is stored once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import string
from typing import Any

import msgspec

BACKEND_KEYS = frozenset(
    ("report_id", "measurement_uid", "bucket_date", "report_filename", "backend_version", "id")
)
_REPORT = re.compile(
    r"^(?P<time>\d{8}T\d{6}Z)_(?P<test>[a-z0-9]+)_(?P<cc>[A-Z]{2})_(?P<asn>\d{1,10})"
    r"_n(?P<collector>\d+)_(?P<tail>[A-Za-z0-9o]{16})$"
)


class ReportId(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    test_name: str  # as in the id: underscores removed
    probe_cc: str
    probe_asn: str  # "AS<n>"


class ReportIdError(ValueError):
    """Not a report id this collector opened; the message names it."""


_ALPHABET = string.ascii_letters + string.digits


def _tag(secret: bytes, head: str, nonce: str) -> str:
    digest = hmac.new(secret, f"{head}_{nonce}".encode(), hashlib.sha256).digest()
    return "".join(_ALPHABET[byte % len(_ALPHABET)] for byte in digest[:8])


def new_report_id(
    secret: bytes,
    *,
    now: dt.datetime,
    test_name: str,
    probe_cc: str,
    probe_asn: str,
    collector: int = 1,
) -> str:
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    test, asn = test_name.replace("_", ""), probe_asn.removeprefix("AS")
    head = f"{stamp}_{test}_{probe_cc}_{asn}_n{collector}"
    nonce = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{head}_{nonce}{_tag(secret, head, nonce)}"


def parse_report_id(secret: bytes, value: str) -> ReportId:
    """The parts of a report id this collector opened; ReportIdError otherwise."""
    match = _REPORT.match(value)
    if match is None:
        raise ReportIdError(f"malformed report_id {value!r}")
    head, _, tail = value.rpartition("_")
    if not hmac.compare_digest(tail[8:], _tag(secret, head, tail[:8])):
        raise ReportIdError(f"report_id {value!r} was not opened by this collector")
    return ReportId(
        value=value,
        test_name=match["test"],
        probe_cc=match["cc"],
        probe_asn=f"AS{match['asn']}",
    )


def dedup_key(measurement: dict[str, Any]) -> str:
    content = {k: v for k, v in measurement.items() if k not in BACKEND_KEYS}
    # Sorted keys at every level, no spaces, UTF-8: msgspec's `order="sorted"` is the same
    # canonical form as json.dumps(sort_keys=True, separators=(",", ":"),
    # ensure_ascii=False), an order of magnitude faster.
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()


def measurement_uid(key: str, *, received: dt.datetime, probe_cc: str, test_name: str) -> str:
    stamp = received.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S.%f")
    return f"{stamp}_{probe_cc}_{test_name}_{key[:16]}"


def load_secret(path: os.PathLike[str]) -> bytes:
    """The collector's secret, created once (0600, fsynced) and kept across restarts."""
    from pathlib import Path

    file = Path(path)
    if file.exists():
        return bytes.fromhex(file.read_text().strip())
    secret = os.urandom(32)
    temporary = file.with_suffix(".tmp")
    with open(temporary, "w") as handle:
        os.chmod(temporary, 0o600)
        handle.write(secret.hex())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, file)
    directory = os.open(file.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return secret
