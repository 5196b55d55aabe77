"""The base of every record, and OONI's maybe-binary values (df-000 MaybeBinaryData)."""

from __future__ import annotations

import base64
import binascii

import msgspec


class Record(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of every record: immutable, keyword-only, no GC tracking (no cycles)."""


class BinaryData(Record, frozen=True):
    """df-000 MaybeBinaryData: a value that was not valid UTF-8."""

    format: str = "base64"
    data: str = ""

    @classmethod
    def of(cls, data: bytes) -> BinaryData:
        return cls(format="base64", data=base64.b64encode(data).decode("ascii"))

    def to_bytes(self) -> bytes:
        try:
            return base64.b64decode(self.data, validate=False)
        except (binascii.Error, ValueError):
            return b""


MaybeBinary = str | BinaryData
HeaderValue = str | BinaryData | list[MaybeBinary]


def text_of(value: MaybeBinary | list[MaybeBinary] | None) -> str:
    """The text of a maybe-binary value (bytes decoded as UTF-8, errors replaced)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, BinaryData):
        return value.to_bytes().decode("utf-8", errors="replace")
    return text_of(value[0]) if value else ""


def maybe_binary(data: bytes) -> MaybeBinary:
    """How df-000 stores bytes: as a string when they are UTF-8, else base64."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return BinaryData.of(data)


def bytes_of(value: MaybeBinary | None) -> bytes:
    """The bytes of a maybe-binary value as the probe received them."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8", errors="surrogatepass")
    return value.to_bytes()
