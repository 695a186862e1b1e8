"""Channel names. Every channel of a workspace is ``ts:ws:{workspace_id}:{topic}``."""

from __future__ import annotations

import re

PREFIX = "ts"

TOPIC_COUNTS = "counts"
TOPIC_CHANGES = "changes"
TOPIC_REPORTS = "reports"
TOPIC_KEYS = "keys"
TOPIC_STAGES = "stages"

_PART = re.compile(r"[A-Za-z0-9_.\-]+")


def workspace_channel(workspace_id: object, topic: str) -> str:
    """The channel of one topic of one workspace, e.g. ``ts:ws:42:counts``."""
    workspace = str(workspace_id)
    _check_part("workspace_id", workspace)
    _check_part("topic", topic)
    return f"{PREFIX}:ws:{workspace}:{topic}"


def workspace_prefix(workspace_id: object) -> str:
    """The common prefix of every channel of a workspace (for PUBSUB CHANNELS patterns)."""
    workspace = str(workspace_id)
    _check_part("workspace_id", workspace)
    return f"{PREFIX}:ws:{workspace}:"


def _check_part(name: str, value: str) -> None:
    if not _PART.fullmatch(value):
        raise ValueError(f"{name} must be letters, digits, '_', '.' or '-', got {value!r}")
