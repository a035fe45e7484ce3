"""The service's fast JSON writer gives json's bytes exactly, or json's error."""

from __future__ import annotations

import json
import random
import struct
from typing import Any

import pytest

from clinguide.service.errors import dumps, json_bytes


def _reference(data: Any, errors: str = "strict") -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8", errors)


def test_floats_of_every_magnitude_are_written_as_json_writes_them() -> None:
    rng = random.Random(7)
    values: list[Any] = [0.0, -0.0, 5.0, 1e-4, 1e-5, 1e-7, 1e15, 1e16, 1.5e300, 5e-324, 123456789.123]
    values += [rng.uniform(1, 10) * 10.0 ** e for e in range(-320, 300) for _ in range(5)]
    values += [struct.unpack("d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(5000)]
    for value in values:
        if value != value or value in (float("inf"), float("-inf")):
            continue
        data = {"dose": value, "list": [value, -value]}
        assert json_bytes(data) == _reference(data), value


def test_strings_and_structures() -> None:
    data = {"a": "\x00\x1f\x7f\u2028é/\\\"<>&\b\f\n\t", "n": [1, 10**40, True, False, None, {"k": []}],
            "e": "text with 1e5 and 0.00001 in it", "emoji": "\U0001f600"}
    assert json_bytes(data) == _reference(data)
    assert dumps(data) == _reference(data).decode().replace("<", "\\u003c").replace(">", "\\u003e").replace(
        "&", "\\u0026").encode()


def test_what_json_refuses_or_cannot_encode_still_fails_or_passes_as_before() -> None:
    with pytest.raises(ValueError):
        json_bytes({"x": float("inf")})
    with pytest.raises(ValueError):
        json_bytes([float("nan")])
    with pytest.raises(UnicodeEncodeError):
        json_bytes({"x": "\ud800"})
    assert json_bytes({"x": "\ud800"}, "surrogatepass") == _reference({"x": "\ud800"}, "surrogatepass")
