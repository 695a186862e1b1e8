"""The bus for a single process (REDIS_URL unset): same semantics as Redis, no network."""

from __future__ import annotations

import logging
from typing import Any

from subscriptions.bus import StartedInContext, Subscription
from subscriptions.encoding import PayloadError, check_channel, decode, encode
from subscriptions.hub import Hub
from subscriptions.metrics import DROP_STOPPED, DROP_UNENCODABLE, BusMetrics, MetricsEmitter

logger = logging.getLogger(__name__)


class InProcessBus(StartedInContext):
    """Delivers each publish to the local subscribers of its channel, in publish order.

    Payloads go through the same JSON encoding as on Redis, so a payload that Redis would
    refuse is refused here too, and subscribers never share the publisher's dict.
    """

    def __init__(self, *, metrics: BusMetrics | None = None) -> None:
        self._metrics = MetricsEmitter(metrics)
        self.hub = Hub(metrics=self._metrics, always_ready=True)
        self._stopped = False

    async def start(self) -> None:
        if self._stopped:
            raise RuntimeError("this bus was stopped; create a new one")

    async def stop(self) -> None:
        self._stopped = True
        self.hub.close()

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        try:
            if self._stopped:
                self._metrics.dropped(DROP_STOPPED)
                return
            try:
                check_channel(channel)
                message = decode(encode(payload))
            except PayloadError as exc:
                logger.error("not publishing to %s: %s", channel, exc)
                self._metrics.dropped(DROP_UNENCODABLE)
                return
            self.hub.deliver(channel, message)
            self._metrics.published(1)
        except Exception:  # publish() must never fail the caller's write path
            logger.exception("publish to %r failed", channel)

    def subscribe(self, channel: str, *, maxsize: int = 256) -> Subscription:
        return Subscription(self.hub, channel, maxsize)

    async def ping(self) -> bool:
        return True

    @property
    def connected(self) -> bool:
        return not self._stopped
