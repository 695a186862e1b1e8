"""Helpers for the auto-close and snooze-wake tests: a recording publisher and table checks."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from desk.counters import read_counts
from desk.events import TOPIC_CHANGES
from models import StageTransition, Ticket, TransitionSource


class RecordingPublisher:
    """The publisher port, keeping what it was handed (after commit) in order."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        self.published.append((channel, payload))

    def changes(self, source: TransitionSource | None = None) -> list[dict[str, Any]]:
        return [
            payload
            for channel, payload in self.published
            if channel.endswith(TOPIC_CHANGES)
            and (source is None or payload["source"] == source.value)
        ]


async def sources_of(ticket_id: uuid.UUID) -> list[str]:
    """The ticket's transition sources, oldest first."""
    rows = (
        await StageTransition.filter(ticket_id=ticket_id)
        .order_by("id")
        .values_list("source", flat=True)
    )
    return [str(source) for source in rows]


async def assert_counts_match_tickets(workspace_id: uuid.UUID) -> None:
    """The maintained counters equal COUNT(*) of the tickets table, stage by stage."""
    counted = Counter(
        await Ticket.filter(workspace_id=workspace_id).values_list("stage_id", flat=True)
    )
    snapshot = await read_counts(workspace_id)
    maintained = {stage_id: n for stage_id, n in snapshot.by_stage.items() if n}
    assert maintained == dict(counted)
