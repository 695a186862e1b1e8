"""The bus over Redis pub/sub: one listening connection and one publishing client per
process, whatever the number of subscribers and channels."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from subscriptions.bus import StartedInContext, Subscription
from subscriptions.connections import listener_connection_factory, publisher_client, redact
from subscriptions.encoding import PayloadError, check_channel, encode
from subscriptions.hub import Hub
from subscriptions.listener import Listener
from subscriptions.metrics import DROP_UNENCODABLE, BusMetrics, MetricsEmitter
from subscriptions.outbox import Outbox
from subscriptions.publisher import Publisher
from subscriptions.tasks import cancel_and_wait
from subscriptions.tuning import RedisTuning

logger = logging.getLogger(__name__)


class RedisBus(StartedInContext):
    """Redis implementation of ``Bus``.

    ``publish`` only appends to a bounded outbox; a publisher task sends it (see Outbox for
    what is kept while Redis is away). A supervised listener task owns the one pub/sub
    connection (see Listener). Nothing connects before ``start()``.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        metrics: BusMetrics | None = None,
        tuning: RedisTuning | None = None,
    ) -> None:
        self._tuning = tuning or RedisTuning()
        self._where = redact(redis_url)
        self._metrics = MetricsEmitter(metrics)
        self._client = publisher_client(redis_url, self._tuning)
        self._outbox = Outbox(self._tuning.outbox_size, self._metrics)
        self._publisher = Publisher(
            self._client, self._outbox, self._metrics, self._tuning, where=self._where
        )
        self.hub = Hub(
            metrics=self._metrics,
            always_ready=False,
            ready_timeout=self._tuning.subscribe_timeout,
            on_channel_change=self._channel_changed,
        )
        self._listener = Listener(
            self.hub,
            listener_connection_factory(redis_url, self._tuning),
            self._metrics,
            self._tuning,
            where=self._where,
        )
        self._listener_task: asyncio.Task[None] | None = None
        self._publisher_task: asyncio.Task[None] | None = None
        self._state = "new"

    @property
    def connected(self) -> bool:
        return self._listener.connected

    @property
    def pending_publishes(self) -> int:
        return len(self._outbox)

    async def start(self) -> None:
        if self._state == "running":
            return
        if self._state == "stopped":
            raise RuntimeError("this bus was stopped; create a new one")
        self._state = "running"
        self._listener_task = self._spawn(self._listener.run(), "bus-listener")
        self._publisher_task = self._spawn(self._publisher.run(), "bus-publisher")

    async def stop(self) -> None:
        if self._state == "stopped":
            return
        self._state = "stopped"
        self._outbox.close()
        tasks = [task for task in (self._listener_task, self._publisher_task) if task]
        try:
            if self._publisher_task and self._publisher.healthy:  # let the queue go out
                await asyncio.wait({self._publisher_task}, timeout=self._tuning.drain_timeout)
        finally:
            unsent = self._outbox.discard()
            if unsent:
                logger.warning("bus stopped with %d unpublished message(s)", unsent)
            await cancel_and_wait(tasks)
            self.hub.close()
            try:
                await self._client.aclose()
            except Exception as exc:
                logger.debug("closing the Redis publisher client failed: %r", exc)

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        try:
            check_channel(channel)
            data = encode(payload)
        except PayloadError as exc:
            logger.error("not publishing to %s: %s", channel, exc)
            self._metrics.dropped(DROP_UNENCODABLE)
            return
        except Exception:  # publish() must never fail the caller's write path
            logger.exception("publish to %r failed", channel)
            return
        self._outbox.put(channel, data)

    def subscribe(self, channel: str, *, maxsize: int = 256) -> Subscription:
        return Subscription(self.hub, channel, maxsize)

    async def ping(self) -> bool:
        if self._state == "stopped":
            return False
        try:
            async with asyncio.timeout(self._tuning.socket_timeout):
                return bool(await self._client.ping())
        except Exception:
            return False

    def _channel_changed(self, channel: str) -> None:
        self._listener.channel_changed(channel)

    def _spawn(self, work: Any, name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.critical("%s died: %r", task.get_name(), error, exc_info=error)
        elif self._state == "running":
            logger.critical("%s ended while the bus is running", task.get_name())
