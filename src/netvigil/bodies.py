"""Decoding a client's JSON body: one failure for every way bytes can fail to be what we want.

Bytes from a client are hostile input. Besides malformed JSON they can be invalid UTF-8 (which
msgspec reports as `UnicodeDecodeError`, not as a `DecodeError`) or nest arrays thousands of
levels deep (which every decoder reports as `RecursionError`). Each server route decodes
through :func:`decode`, so each of these is a `BadBody` whose message is one line for the
400 answer, never an exception that escapes the handler as a 500 with a traceback.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import msgspec

T = TypeVar("T")
MAX_DEPTH_MESSAGE = "JSON nested too deeply"


class BadBody(ValueError):
    """The body is not (valid) JSON of the expected shape; the message is one line."""


def decode(data: bytes, kind: type[T]) -> T:
    """`data` decoded as `kind`. Raises BadBody."""
    return cast(T, _decode(data, kind))


def decode_object(data: bytes) -> dict[str, Any]:
    """A JSON object (an empty body is `{}`). Raises BadBody."""
    value = _decode(data, Any) if data.strip() else {}
    if not isinstance(value, dict):
        raise BadBody("expected a JSON object")
    return value


def _decode(data: bytes, kind: Any) -> Any:
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as exc:
        raise BadBody(str(exc).splitlines()[0]) from None
    except msgspec.DecodeError as exc:
        raise BadBody(f"not JSON: {exc}".splitlines()[0]) from None
    except UnicodeDecodeError:
        raise BadBody("not JSON: the body is not valid UTF-8") from None
    except RecursionError:
        raise BadBody(f"not JSON: {MAX_DEPTH_MESSAGE}") from None
