"""The background task that moves the outbox to Redis."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from subscriptions.backoff import Backoff
from subscriptions.metrics import MetricsEmitter
from subscriptions.outbox import Message, Outbox
from subscriptions.tuning import RedisTuning

logger = logging.getLogger(__name__)

# Failures of the link to Redis; anything else is a bug and is logged with its traceback.
EXPECTED_ERRORS = (RedisError, OSError, TimeoutError)


class Publisher:
    """Sends outbox batches; on failure puts them back and retries with backoff.

    A failed batch may or may not have reached Redis, so a payload can arrive twice; that is
    harmless for absolute-state payloads with versions.
    """

    def __init__(
        self,
        client: Redis,
        outbox: Outbox,
        metrics: MetricsEmitter,
        tuning: RedisTuning,
        *,
        where: str,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._metrics = metrics
        self._tuning = tuning
        self._where = where
        self._backoff = Backoff(tuning.backoff_initial, tuning.backoff_max)
        self._failures = 0

    @property
    def healthy(self) -> bool:
        return self._failures == 0

    async def run(self) -> None:
        """Runs until the outbox is closed and drained (or the task is cancelled)."""
        while True:
            await self._outbox.wait()
            batch = self._outbox.take(self._tuning.publish_batch)
            if not batch:
                if self._outbox.closed:
                    return
                continue
            try:
                await self._send(batch)
            except asyncio.CancelledError:
                self._outbox.requeue(batch)
                raise
            except Exception as exc:
                self._outbox.requeue(batch)
                self._metrics.publish_failures(len(batch))
                await self._pause_after(exc, len(batch))
            else:
                self._outbox.sent()
                self._metrics.published(len(batch))
                if self._failures:
                    logger.info(
                        "publishing to Redis at %s again after %d failed attempts",
                        self._where,
                        self._failures,
                    )
                    self._failures = 0
                    self._backoff.reset()

    async def _send(self, batch: list[Message]) -> None:
        async with asyncio.timeout(self._tuning.publish_timeout):
            if len(batch) == 1:
                channel, data = batch[0]
                await self._client.publish(channel, data)
                return
            async with self._client.pipeline(transaction=False) as pipe:
                for channel, data in batch:
                    pipe.publish(channel, data)
                await pipe.execute()

    async def _pause_after(self, exc: Exception, size: int) -> None:
        self._failures += 1
        delay = self._backoff.next_delay()
        level = logging.WARNING if self._failures % 10 == 1 else logging.DEBUG
        logger.log(
            level,
            "publishing %d message(s) to Redis at %s failed (attempt %d, %d waiting, "
            "latest payload per channel kept): %s: %s; retrying in %.2fs",
            size,
            self._where,
            self._failures,
            len(self._outbox),
            type(exc).__name__,
            exc,
            delay,
            exc_info=not isinstance(exc, EXPECTED_ERRORS),
        )
        await asyncio.sleep(delay)
