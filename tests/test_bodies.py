"""Client bodies: every way bytes fail to be JSON is one BadBody, never another exception."""

from __future__ import annotations

import msgspec
import pytest

from netvigil.bodies import BadBody, decode, decode_object


class Point(msgspec.Struct):
    x: int


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"a": "\xff\xfe"}', "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        (b"{not json", "not JSON"),
        (b"[]", "expected a JSON object"),
        (b"null", "expected a JSON object"),
    ],
)
def test_bad_bodies_are_one_line(data: bytes, fragment: str) -> None:
    with pytest.raises(BadBody) as caught:
        decode_object(data)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_typed_bodies() -> None:
    assert decode(b'{"x": 1}', Point) == Point(x=1)
    with pytest.raises(BadBody, match=r"Expected `int`, got `str` - at `\$.x`"):
        decode(b'{"x": "1"}', Point)
    with pytest.raises(BadBody, match="UTF-8"):
        decode(b'"\xff"', str)


def test_empty_body_is_an_empty_object() -> None:
    assert decode_object(b"") == {} and decode_object(b" \n") == {}
