"""Rate-limit counters shared by every process through Redis (INCRBY with expiry).

A request is counted in this process at once and sent to Redis with the others in one
pipeline per flush interval, so a busy key far from its limit costs no round trip per
request: the answer is then the shared total of the last flush plus what is pending here.
Near the limit (above `exact_above`), or once a tenth of that is pending here, a request is
sent at once and answered with the exact shared total.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from subscriptions.connections import publisher_client
from subscriptions.tuning import RedisTuning

logger = logging.getLogger(__name__)

Slot = tuple[str, int]  # (key, window)
EXPIRY_SECONDS = 180  # a window is read for two minutes: while current, then as the previous


class RedisCounterStore:
    def __init__(self, url: str, prefix: str = "ts:rate", flush_interval: float = 0.05) -> None:
        self._client: Redis = publisher_client(
            url, RedisTuning(socket_timeout=0.25, connect_timeout=0.25)
        )
        self._prefix = prefix
        self._flush_interval = flush_interval
        self._pending: dict[Slot, int] = {}  # counted here, not yet sent
        self._shared: dict[Slot, int] = {}  # the total Redis last answered
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self._warned = False

    async def hit(self, key: str, window: int, exact_above: int) -> tuple[int, int] | None:
        """Count one request; return (this window's count, the previous window's)."""
        slot, previous = (key, window), (key, window - 1)
        pending = self._pending[slot] = self._pending.get(slot, 0) + 1
        near_limit = self._known(slot) + self._known(previous) > exact_above
        if near_limit or pending > max(1, exact_above // 5) or self._closed:
            return await self._sync(slot)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon(), name="rate-limit-flush")
        return self._known(slot), self._known(previous)

    async def _sync(self, slot: Slot) -> tuple[int, int] | None:
        """Send what is pending for `slot` and return the exact totals; None if Redis is away."""
        key, window = slot
        pending = self._pending.pop(slot, 0)
        current_key = self._redis_key(slot)
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.incrby(current_key, pending)
                pipe.expire(current_key, EXPIRY_SECONDS)
                pipe.get(self._redis_key((key, window - 1)))
                current, _, previous = await pipe.execute()
        except (RedisError, OSError) as error:
            self._put_back({slot: pending})
            self._unreachable(error)
            return None  # Redis away: let requests through rather than refuse everyone
        self._reachable()
        self._remember(slot, int(current))
        self._remember((key, window - 1), int(previous or 0))
        return self._known(slot), self._known((key, window - 1))

    async def close(self) -> None:
        self._closed = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await self._flush()
        await self._client.aclose()

    def _known(self, slot: Slot) -> int:
        return self._shared.get(slot, 0) + self._pending.get(slot, 0)

    def _redis_key(self, slot: Slot) -> str:
        return f"{self._prefix}:{slot[0]}:{slot[1]}"

    def _remember(self, slot: Slot, total: int) -> None:
        # totals only grow within a window: an older answer arriving late must not win
        self._shared[slot] = max(self._shared.get(slot, 0), total)

    def _put_back(self, unsent: dict[Slot, int]) -> None:
        for slot, amount in unsent.items():
            if amount:
                self._pending[slot] = self._pending.get(slot, 0) + amount

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._flush_interval)
        await self._flush()

    async def _flush(self) -> None:
        """Send every pending count in one pipeline and learn the shared totals back."""
        if not self._pending:
            return
        sending, self._pending = self._pending, {}
        newest = max(window for _, window in sending)
        previous = sorted({(key, window - 1) for key, window in sending})
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for slot, amount in sending.items():
                    pipe.incrby(self._redis_key(slot), amount)
                    pipe.expire(self._redis_key(slot), EXPIRY_SECONDS)
                for slot in previous:
                    pipe.get(self._redis_key(slot))
                answers = await pipe.execute()
        except (RedisError, OSError) as error:
            self._put_back({slot: n for slot, n in sending.items() if slot[1] >= newest - 1})
            self._unreachable(error)
            return
        self._reachable()
        for index, slot in enumerate(sending):
            self._remember(slot, int(answers[2 * index]))
        for offset, slot in enumerate(previous):
            self._remember(slot, int(answers[2 * len(sending) + offset] or 0))
        self._shared = {slot: n for slot, n in self._shared.items() if slot[1] >= newest - 1}

    def _unreachable(self, error: BaseException) -> None:
        if not self._warned:
            logger.warning("rate limiting paused, Redis unreachable: %s", type(error).__name__)
            self._warned = True

    def _reachable(self) -> None:
        self._warned = False
