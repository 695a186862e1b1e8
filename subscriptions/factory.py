"""Picks the bus implementation from the configuration."""

from __future__ import annotations

from typing import Any

from subscriptions.bus import Bus
from subscriptions.inprocess import InProcessBus
from subscriptions.metrics import BusMetrics
from subscriptions.redis_bus import RedisBus
from subscriptions.tuning import RedisTuning


def create_bus(redis_url: str | None, *, metrics: BusMetrics | None = None, **tuning: Any) -> Bus:
    """``None`` (or ""): the in-process bus; a Redis URL: the Redis bus.

    ``tuning`` are RedisTuning fields; they are checked in both cases (a typo fails at start)
    and ignored by the in-process bus.
    """
    settings = RedisTuning(**tuning)
    if not redis_url:
        return InProcessBus(metrics=metrics)
    return RedisBus(redis_url, metrics=metrics, tuning=settings)
