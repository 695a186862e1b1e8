"""The event bus interface that the rest of the service codes against."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeAlias

if TYPE_CHECKING:
    from subscriptions.hub import Hub, SubscriberQueue


@dataclass(frozen=True, slots=True)
class Resync:
    """Messages may have been lost: re-read the state from the database.

    ``reason`` is ``"reconnect"`` (the link to the backend broke and is back) or
    ``"overflow"`` (this subscriber fell behind and its queue was cleared).
    """

    reason: str


Item: TypeAlias = dict[str, Any] | Resync
"""What a Subscription yields: a payload as published, or a Resync."""


class Bus(Protocol):
    async def start(self) -> None:
        """Start the background tasks. Does not wait for the backend to be reachable."""

    async def stop(self) -> None:
        """Flush briefly, stop the tasks, close the connections, end every Subscription.

        Idempotent. A stopped bus cannot be started again.
        """

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        """Queue a JSON-object payload. Never blocks, never raises; call from the loop thread."""

    def subscribe(self, channel: str, *, maxsize: int = 256) -> Subscription:
        """A Subscription to enter with ``async with``; see Subscription."""

    async def ping(self) -> bool:
        """True when the backend answers within a short timeout (always True in-process)."""

    @property
    def connected(self) -> bool:
        """True while the listener holds a working link to the backend."""


class StartedInContext:
    """``async with bus:`` starts the bus and stops it on the way out."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class Subscription:
    """One subscriber of one channel: an async context manager and async iterator.

    ::

        async with bus.subscribe(channel) as sub:
            snapshot = await read_state()      # safe: nothing published from now on is missed
            async for item in sub:
                if isinstance(item, Resync):
                    snapshot = await read_state()
                else:
                    ...                        # item is the payload dict (shared: do not mutate)

    Entering waits (a short, bounded time) until the backend has confirmed the channel
    subscription, so every message published after ``__aenter__`` returns is delivered, or
    else a Resync follows. Leaving, however it happens, removes the queue at once. Iteration
    ends when the bus stops.
    """

    __slots__ = ("_channel", "_hub", "_maxsize", "_queue")

    def __init__(self, hub: Hub, channel: str, maxsize: int) -> None:
        if not isinstance(channel, str) or not channel:
            raise ValueError(f"channel must be a non-empty string, got {channel!r}")
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self._hub = hub
        self._channel = channel
        self._maxsize = maxsize
        self._queue: SubscriberQueue | None = None

    @property
    def channel(self) -> str:
        return self._channel

    @property
    def pending(self) -> int:
        """Items waiting in this subscriber's queue."""
        return len(self._queue) if self._queue is not None else 0

    async def __aenter__(self) -> Subscription:
        if self._queue is not None:
            raise RuntimeError("a Subscription can be entered only once")
        queue = self._hub.add(self._channel, self._maxsize)
        self._queue = queue
        try:
            await self._hub.wait_ready(queue)
        except BaseException:
            self._hub.remove(queue)
            raise
        queue.entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._queue is not None:
            self._hub.remove(self._queue)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Item:
        queue = self._queue
        if queue is None or not queue.entered:
            raise RuntimeError("iterate a Subscription inside `async with`")
        return await queue.get()
