"""Opaque IDs: UUID strings. Anything that does not parse names nothing."""

from __future__ import annotations

import uuid


def parse_id(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
