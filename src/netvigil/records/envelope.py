"""The df-000 envelope, and decoding measurements from JSON."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from netvigil.records.base import Record
from netvigil.records.web import WebConnectivityKeys

Keys = TypeVar("Keys", bound=Record)

# --- df-000 envelope ----------------------------------------------------------------------


class Envelope(Record, frozen=True):
    """The df-000 keys every measurement has, whatever its nettest."""

    test_name: str = ""
    test_version: str = ""
    input: str | list[str] | None = None
    measurement_start_time: str | None = None
    test_start_time: str | None = None
    test_runtime: float | None = None
    probe_asn: str | None = None
    probe_cc: str | None = None
    probe_network_name: str | None = None
    probe_ip: str | None = None
    resolver_asn: str | None = None
    resolver_ip: str | None = None
    resolver_network_name: str | None = None
    report_id: str | None = None
    software_name: str | None = None
    software_version: str | None = None
    data_format_version: str | None = None
    annotations: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None
    test_helpers: dict[str, Any] | None = None
    measurement_uid: str | None = None

    @property
    def url(self) -> str:
        return self.input if isinstance(self.input, str) else ""


class Measurement(Envelope, frozen=True):
    """Any measurement; its test keys stay raw JSON until a nettest's reader decodes them."""

    test_keys: msgspec.Raw = msgspec.Raw(b"null")

    def test_keys_object(self) -> Any:
        """The test keys as plain JSON values, whatever the nettest (nothing is lost)."""
        return msgspec.json.decode(self.test_keys)


class WebMeasurement(Envelope, frozen=True):
    """A web_connectivity measurement decoded in one pass, test keys typed.

    Decoding the envelope with raw test keys and then the keys costs a second scan of the
    largest part of the line; the readers use this type when a line names the nettest.
    """

    test_keys: WebConnectivityKeys | None = None

    def test_keys_object(self) -> Any:
        """The typed test keys as plain JSON values (keys the records do not model are gone)."""
        return msgspec.to_builtins(self.test_keys)


AnyMeasurement = Measurement | WebMeasurement

_MEASUREMENT = msgspec.json.Decoder(Measurement)
_WEB_MEASUREMENT = msgspec.json.Decoder(WebMeasurement)
_WEB_KEYS = msgspec.json.Decoder(WebConnectivityKeys | None)


class MeasurementFormatError(ValueError):
    """The bytes are not a measurement in OONI's data format."""


def decode_measurement(data: bytes | str) -> Measurement:
    """Decode one JSON measurement; raises :class:`MeasurementFormatError`."""
    try:
        return _MEASUREMENT.decode(data)
    except msgspec.DecodeError as exc:
        raise MeasurementFormatError(str(exc)) from None


def decode_any(data: bytes) -> AnyMeasurement:
    """Decode one measurement, in one typed pass when it is a web_connectivity one."""
    if b'"web_connectivity"' in data:
        try:
            measurement = _WEB_MEASUREMENT.decode(data)
        except msgspec.DecodeError:
            pass  # the generic path below reports the problem, and keeps the raw keys
        else:
            if measurement.test_name == "web_connectivity":
                return measurement
    return decode_measurement(data)


def decode_keys(measurement: AnyMeasurement, keys_type: type[Keys]) -> Keys | None:
    """A nettest's typed test keys (``None`` when the probe wrote none); a shape that does
    not fit the type raises :class:`MeasurementFormatError` naming the path."""
    raw = (
        bytes(measurement.test_keys)
        if isinstance(measurement, Measurement)
        else msgspec.json.encode(measurement.test_keys)
    )
    try:
        return msgspec.json.decode(raw, type=keys_type | None)
    except msgspec.DecodeError as exc:
        message = str(exc).replace("- at `$", "- at `$.test_keys", 1)
        raise MeasurementFormatError(
            message if "`$.test_keys" in message else f"test_keys: {message}"
        ) from None


def web_connectivity_keys(measurement: AnyMeasurement) -> WebConnectivityKeys | None:
    """The typed web_connectivity test keys (``None`` when the probe wrote none)."""
    if isinstance(measurement, WebMeasurement):
        return measurement.test_keys
    try:
        keys: WebConnectivityKeys | None = _WEB_KEYS.decode(measurement.test_keys)
    except msgspec.DecodeError as exc:
        message = str(exc).replace("- at `$", "- at `$.test_keys", 1)  # the path from the top
        raise MeasurementFormatError(
            message if "`$.test_keys" in message else f"test_keys: {message}"
        ) from None
    return keys
