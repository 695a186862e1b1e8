"""Rate-limit counters shared by every process through Redis (INCR with expiry)."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from subscriptions.connections import publisher_client
from subscriptions.tuning import RedisTuning

logger = logging.getLogger(__name__)


class RedisCounterStore:
    def __init__(self, url: str, prefix: str = "ts:rate") -> None:
        self._client: Redis = publisher_client(
            url, RedisTuning(socket_timeout=0.25, connect_timeout=0.25)
        )
        self._prefix = prefix
        self._warned = False

    async def hit(self, key: str, window: int) -> tuple[int, int] | None:
        current_key = f"{self._prefix}:{key}:{window}"
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.incr(current_key)
                pipe.expire(current_key, 180)
                pipe.get(f"{self._prefix}:{key}:{window - 1}")
                current, _, previous = await pipe.execute()
        except (RedisError, OSError) as error:
            # Redis away: let requests through rather than refuse everyone
            if not self._warned:
                logger.warning("rate limiting paused, Redis unreachable: %s", type(error).__name__)
                self._warned = True
            return None
        self._warned = False
        return int(current), int(previous or 0)

    async def close(self) -> None:
        await self._client.aclose()
