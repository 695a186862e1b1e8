"""Payloads travel as compact UTF-8 JSON objects, on Redis and in-process alike."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class PayloadError(ValueError):
    """A payload that is not a JSON object (or bytes that do not decode to one)."""


def check_channel(channel: object) -> None:
    if not isinstance(channel, str) or not channel:
        raise PayloadError(f"channel must be a non-empty string, got {channel!r}")


def encode(payload: Mapping[str, Any]) -> bytes:
    if not isinstance(payload, Mapping):
        raise PayloadError(f"payload must be a mapping, got {type(payload).__name__}")
    try:
        text = json.dumps(
            payload if isinstance(payload, dict) else dict(payload),
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"payload is not JSON-serialisable: {exc}") from exc
    return text.encode("utf-8")


def decode(data: bytes | str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"not a JSON document: {exc}") from exc
    if not isinstance(value, dict):
        raise PayloadError(f"payload must be a JSON object, got {type(value).__name__}")
    return value
