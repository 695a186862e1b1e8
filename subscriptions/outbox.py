"""Messages waiting for the publisher task: bounded, and never blocking ``publish()``."""

from __future__ import annotations

import asyncio
from collections import deque

from subscriptions.metrics import (
    DROP_OUTBOX_FULL,
    DROP_STOPPED,
    DROP_SUPERSEDED,
    MetricsEmitter,
)

Message = tuple[str, bytes]


class Outbox:
    """In publish order while Redis takes everything.

    Once a send fails, or the outbox fills up, it switches to keeping only the latest payload
    per channel (payloads are absolute state with versions, so the newest supersedes the
    others) until it has drained again. It never holds more than ``maxsize`` messages.
    """

    def __init__(self, maxsize: int, metrics: MetricsEmitter) -> None:
        if maxsize < 1:
            raise ValueError(f"outbox maxsize must be at least 1, got {maxsize}")
        self._maxsize = maxsize
        self._metrics = metrics
        self._fifo: deque[Message] = deque()
        self._latest: dict[str, bytes] = {}
        self._coalescing = False
        self._closed = False
        self._has_items = asyncio.Event()

    def __len__(self) -> int:
        return len(self._fifo) + len(self._latest)

    @property
    def coalescing(self) -> bool:
        return self._coalescing

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, channel: str, data: bytes) -> None:
        if self._closed:
            self._metrics.dropped(DROP_STOPPED)
            return
        if not self._coalescing and len(self._fifo) >= self._maxsize:
            self.start_coalescing()
        if self._coalescing:
            if channel in self._latest:
                self._metrics.dropped(DROP_SUPERSEDED)
            self._latest[channel] = data  # a known channel keeps its place in the line
            self._trim()
        else:
            self._fifo.append((channel, data))
        self._has_items.set()

    def take(self, limit: int) -> list[Message]:
        """Remove and return up to ``limit`` messages, oldest first."""
        batch: list[Message] = []
        if self._coalescing:
            while self._latest and len(batch) < limit:
                channel = next(iter(self._latest))
                batch.append((channel, self._latest.pop(channel)))
        else:
            while self._fifo and len(batch) < limit:
                batch.append(self._fifo.popleft())
        if not self._fifo and not self._latest and not self._closed:
            self._has_items.clear()
        return batch

    def sent(self) -> None:
        """The last batch reached Redis: back to publish order once drained."""
        if self._coalescing and not self._latest:
            self._coalescing = False

    def requeue(self, batch: list[Message]) -> None:
        """Redis did not take ``batch``: keep it (latest per channel) ahead of newer messages."""
        if self._closed:
            self._metrics.dropped(DROP_STOPPED, len(batch))
            return
        self.start_coalescing()
        merged: dict[str, bytes] = {}
        superseded = 0
        for channel, data in batch:
            if channel in merged:
                superseded += 1
            merged[channel] = data
        for channel, data in self._latest.items():
            if channel in merged:
                superseded += 1
            merged[channel] = data  # the newer payload, at the older position
        self._metrics.dropped(DROP_SUPERSEDED, superseded)
        self._latest = merged
        self._trim()
        if self._latest:
            self._has_items.set()

    def start_coalescing(self) -> None:
        if self._coalescing:
            return
        self._coalescing = True
        superseded = 0
        for channel, data in self._fifo:
            if channel in self._latest:
                superseded += 1
            self._latest[channel] = data
        self._fifo.clear()
        self._metrics.dropped(DROP_SUPERSEDED, superseded)
        self._trim()

    async def wait(self) -> None:
        """Return when there is something to take, or the outbox is closed."""
        await self._has_items.wait()

    def close(self) -> None:
        """Refuse new messages (and failed batches); what is queued can still be taken."""
        self._closed = True
        self._has_items.set()

    def discard(self) -> int:
        count = len(self)
        self._fifo.clear()
        self._latest.clear()
        self._metrics.dropped(DROP_STOPPED, count)
        return count

    def _trim(self) -> None:
        excess = len(self._latest) - self._maxsize
        for _ in range(max(0, excess)):
            del self._latest[next(iter(self._latest))]
        self._metrics.dropped(DROP_OUTBOX_FULL, max(0, excess))
