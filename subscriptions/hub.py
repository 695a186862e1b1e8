"""The per-process fan-out: channel -> bounded subscriber queues, shared by both buses."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from subscriptions.bus import Item, Resync
from subscriptions.metrics import DROP_OVERFLOW, MetricsEmitter

logger = logging.getLogger(__name__)


class SubscriberQueue:
    """One subscriber's inbox. Never blocks the producer and never grows past ``maxsize``:
    when full it is cleared and holds a single ``Resync("overflow")`` instead."""

    __slots__ = ("_closed", "_items", "_waiter", "channel", "entered", "maxsize", "stale")

    def __init__(self, channel: str, maxsize: int, *, stale: bool) -> None:
        self.channel = channel
        self.maxsize = maxsize
        # stale: the backend has not (re)confirmed this channel since the queue joined or the
        # link broke; entered: the consumer is past ``__aenter__`` and may have read state.
        self.stale = stale
        self.entered = False
        self._items: deque[Item] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, payload: dict[str, Any]) -> int:
        """Append a payload; returns how many payloads were discarded by an overflow."""
        if self._closed:
            return 0
        if len(self._items) >= self.maxsize:
            discarded = 1 + sum(1 for item in self._items if not isinstance(item, Resync))
            self._items.clear()
            self._items.append(Resync("overflow"))
            self._wake()
            return discarded
        self._items.append(payload)
        self._wake()
        return 0

    def put_resync(self, reason: str) -> int:
        if self._closed or (self._items and isinstance(self._items[-1], Resync)):
            return 0
        discarded = 0
        if len(self._items) >= self.maxsize:
            discarded = sum(1 for item in self._items if not isinstance(item, Resync))
            self._items.clear()
        self._items.append(Resync(reason))
        self._wake()
        return discarded

    async def get(self) -> Item:
        """The next item; raises StopAsyncIteration once closed and drained."""
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            if self._waiter is not None:
                raise RuntimeError("a Subscription must be iterated by one task at a time")
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def close(self) -> None:
        self._closed = True
        self._items.clear()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Channel:
    __slots__ = ("queues", "ready", "ready_event")

    def __init__(self, ready: bool) -> None:
        self.queues: set[SubscriberQueue] = set()
        self.ready = ready
        self.ready_event = asyncio.Event()
        if ready:
            self.ready_event.set()


class Hub:
    """Local subscribers by channel, and whether the backend currently delivers each channel.

    ``always_ready`` (in-process bus): every channel is delivered from the moment it exists.
    Otherwise the backend listener calls ``mark_ready`` when it has the channel subscribed and
    ``mark_all_unready`` when its link breaks; subscribers that may have missed messages
    meanwhile get a Resync when their channel is ready again.
    ``on_channel_change(name)`` is called when a channel gains its first subscriber or loses
    its last one.
    """

    def __init__(
        self,
        *,
        metrics: MetricsEmitter,
        always_ready: bool,
        ready_timeout: float = 1.0,
        on_channel_change: Callable[[str], None] | None = None,
    ) -> None:
        self._metrics = metrics
        self._always_ready = always_ready
        self._ready_timeout = ready_timeout
        self._on_channel_change = on_channel_change
        self._channels: dict[str, _Channel] = {}
        self._subscriber_count = 0
        self._closed = False

    @property
    def subscriber_count(self) -> int:
        return self._subscriber_count

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def channel_count(self) -> int:
        return len(self._channels)

    def channel_names(self) -> list[str]:
        return list(self._channels)

    def has_channel(self, channel: str) -> bool:
        return channel in self._channels

    def is_ready(self, channel: str) -> bool:
        state = self._channels.get(channel)
        return state is not None and state.ready

    def add(self, channel: str, maxsize: int) -> SubscriberQueue:
        if self._closed:
            queue = SubscriberQueue(channel, maxsize, stale=False)
            queue.close()
            return queue
        state = self._channels.get(channel)
        created = state is None
        if state is None:
            state = _Channel(ready=self._always_ready)
            self._channels[channel] = state
        queue = SubscriberQueue(channel, maxsize, stale=not state.ready)
        state.queues.add(queue)
        self._subscriber_count += 1
        self._metrics.subscribers(self._subscriber_count)
        if created:
            self._notify(channel)
        return queue

    def remove(self, queue: SubscriberQueue) -> None:
        """Forget a queue and close it. Idempotent; never awaits, so safe under cancellation."""
        queue.close()
        state = self._channels.get(queue.channel)
        if state is None or queue not in state.queues:
            return
        state.queues.discard(queue)
        self._subscriber_count -= 1
        self._metrics.subscribers(self._subscriber_count)
        if not state.queues:
            del self._channels[queue.channel]
            self._notify(queue.channel)

    async def wait_ready(self, queue: SubscriberQueue) -> bool:
        """Wait (bounded) until the queue's channel is delivered; False if that timed out."""
        state = self._channels.get(queue.channel)
        if state is None or state.ready or self._closed:
            return True
        try:
            async with asyncio.timeout(self._ready_timeout):
                await state.ready_event.wait()
        except TimeoutError:
            logger.info(
                "channel %s not confirmed by the backend within %.1fs; "
                "the subscriber will get a Resync when it is",
                queue.channel,
                self._ready_timeout,
            )
            return False
        return True

    def deliver(self, channel: str, payload: dict[str, Any]) -> int:
        """Fan a payload out to the channel's queues; returns how many received it."""
        state = self._channels.get(channel)
        if state is None:
            return 0
        discarded = 0
        for queue in state.queues:
            discarded += queue.put(payload)
        if discarded:
            self._metrics.dropped(DROP_OVERFLOW, discarded)
        return len(state.queues)

    def mark_ready(self, channel: str, reason: str = "reconnect") -> None:
        state = self._channels.get(channel)
        if state is None or state.ready:
            return
        state.ready = True
        state.ready_event.set()
        discarded = 0
        for queue in state.queues:
            if queue.stale:
                queue.stale = False
                if queue.entered:
                    discarded += queue.put_resync(reason)
        if discarded:
            self._metrics.dropped(DROP_OVERFLOW, discarded)

    def mark_all_unready(self) -> None:
        if self._always_ready:
            return
        for state in self._channels.values():
            if state.ready:
                state.ready = False
                state.ready_event.clear()
            for queue in state.queues:
                queue.stale = True

    def close(self) -> None:
        """End every subscription (their iteration stops) and refuse new ones."""
        self._closed = True
        for state in self._channels.values():
            state.ready_event.set()
            for queue in state.queues:
                queue.close()

    def _notify(self, channel: str) -> None:
        if self._on_channel_change is not None:
            self._on_channel_change(channel)
