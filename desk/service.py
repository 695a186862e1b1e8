"""The domain's dependencies, and its unit of work: one transaction, events after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from desk.clock import Clock, SystemClock
from desk.events import EventBatch, NullPublisher, Publisher


@dataclass
class Desk:
    """What every domain operation needs from outside: a clock and a publisher."""

    clock: Clock = field(default_factory=SystemClock)
    publisher: Publisher = field(default_factory=NullPublisher)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[EventBatch]:
        """Everything inside commits together or not at all; its events go out after commit."""
        batch = EventBatch()
        async with in_transaction():
            yield batch
        batch.publish_to(self.publisher)

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[EventBatch]:
        """For work whose only write is one statement, atomic without a transaction: its
        events go out after the block (a block that raises publishes nothing)."""
        batch = EventBatch()
        yield batch
        batch.publish_to(self.publisher)
