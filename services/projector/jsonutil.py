"""Canonical JSON for the JSON-valued columns (sorted keys: the same value gives the same text,
whichever batch wrote it) and for replies."""

from __future__ import annotations

from typing import Any

import msgspec

_canonical = msgspec.json.Encoder(order="sorted")
_plain = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def dumps(value: Any) -> str:
    return _canonical.encode(value).decode()


def loads(text: str | None, default: Any = None) -> Any:
    if text is None:
        return default
    return _decoder.decode(text)


def encode(value: Any) -> bytes:
    return _plain.encode(value)


def decode(data: bytes) -> Any:
    return _decoder.decode(data)
