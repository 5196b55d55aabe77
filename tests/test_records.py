"""Records read every measurement in the corpus, typed for web_connectivity, lossless for others."""

from __future__ import annotations

import json

import msgspec
import pytest

from netvigil.records import (
    BinaryData,
    MeasurementFormatError,
    decode_measurement,
    text_of,
    web_connectivity_keys,
)
from tests.corpus import FASTPATH, JSONL, MEASUREMENTS, qa_files


def all_measurement_blobs() -> list[tuple[str, bytes]]:
    blobs = [(p.name, p.read_bytes()) for p in [*FASTPATH, *qa_files()]]
    blobs += [
        (f"{JSONL.name}:{n}", line) for n, line in enumerate(JSONL.read_bytes().splitlines(), 1)
    ]
    blobs.append(
        (
            "ts-017",
            (MEASUREMENTS / "ooni-spec" / "ts-017-example-www.example.com.json").read_bytes(),
        )
    )
    return [(name, blob) for name, blob in blobs if "detector_query" not in name]


def test_every_web_connectivity_measurement_decodes_typed() -> None:
    versions = set()
    for _, blob in all_measurement_blobs():
        measurement = decode_measurement(blob)
        if measurement.test_name == "web_connectivity":
            web_connectivity_keys(measurement)  # raises on any shape we do not model
            versions.add(measurement.test_version)
    assert {"0.0.1", "0.4.3", "0.5.28"} <= versions


def test_other_nettests_keep_their_test_keys_unchanged() -> None:
    kept = 0
    for name, blob in all_measurement_blobs():
        measurement = decode_measurement(blob)
        if measurement.test_name == "web_connectivity":
            continue
        assert measurement.test_keys_object() == json.loads(blob).get("test_keys"), name
        kept += 1
    assert kept >= 25


def test_binary_values_decode() -> None:
    path = MEASUREMENTS / "ooni-backend-fastpath" / "web_connectivity_b64_hdr.json"
    keys = web_connectivity_keys(decode_measurement(path.read_bytes()))
    assert keys is not None and keys.requests
    response = keys.requests[0].response
    assert response is not None and response.headers is not None
    location = response.headers["Location"]
    assert isinstance(location, BinaryData)
    assert text_of(location).startswith("http://192.168.22.1/UserCheck")


def test_records_are_frozen() -> None:
    measurement = decode_measurement(b'{"test_name": "web_connectivity", "test_keys": null}')
    with pytest.raises(AttributeError):
        measurement.test_name = "x"  # type: ignore[misc]


def test_malformed_json_is_a_format_error() -> None:
    with pytest.raises(MeasurementFormatError):
        decode_measurement(b'{"test_name": "web_connectivity",')
    with pytest.raises(MeasurementFormatError):
        decode_measurement(b'{"test_name": 3}')


def test_records_encode_back_to_json() -> None:
    measurement = decode_measurement((qa_files()[0]).read_bytes())
    keys = web_connectivity_keys(measurement)
    again = msgspec.json.decode(msgspec.json.encode(keys))
    assert again["queries"][0]["hostname"]
