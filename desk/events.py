"""Events the domain hands to the publisher once their transaction has committed."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from subscriptions.channels import workspace_channel


class Publisher(Protocol):
    def publish(self, channel: str, payload: dict[str, Any]) -> None: ...


class NullPublisher:
    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        return None


TOPIC_COUNTS = "counts"
TOPIC_CHANGES = "changes"
TOPIC_REPORTS = "reports"
TOPIC_KEYS = "keys"
TOPIC_STAGES = "stages"


@functools.lru_cache(maxsize=4096)
def channel_name(workspace_id: uuid.UUID | str, topic: str) -> str:
    """The bus channel of a workspace's topic (cached: a sweep publishes thousands at once)."""
    return workspace_channel(str(workspace_id), topic)


@dataclass
class EventBatch:
    """Events collected inside one transaction; published only if it commits."""

    items: list[tuple[uuid.UUID, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, workspace_id: uuid.UUID, topic: str, payload: dict[str, Any]) -> None:
        self.items.append((workspace_id, topic, payload))

    def publish_to(self, publisher: Publisher) -> None:
        # absolute-state events: only the latest counts event of a workspace matters
        latest_counts: dict[uuid.UUID, dict[str, Any]] = {}
        for workspace_id, topic, payload in self.items:
            if topic == TOPIC_COUNTS:
                latest_counts[workspace_id] = payload
                continue
            publisher.publish(channel_name(workspace_id, topic), payload)
        for workspace_id, payload in latest_counts.items():
            publisher.publish(channel_name(workspace_id, TOPIC_COUNTS), payload)
