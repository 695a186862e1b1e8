"""Fixtures for the bus tests: both implementations, the shared Redis and a private one."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from subscriptions import Bus, CountingMetrics, create_bus
from tests.subscriptions.helpers import SHARED_REDIS_HOST, SHARED_REDIS_PORT, SHARED_REDIS_URL
from tests.support.redis_server import RedisServer, answers_ping

BusFactory = Callable[..., Awaitable[Bus]]


def require_shared_redis() -> None:
    if not answers_ping(SHARED_REDIS_PORT, timeout=1.0, host=SHARED_REDIS_HOST):
        pytest.fail(f"no Redis at {SHARED_REDIS_URL}: scripts/test starts it")


@pytest.fixture(params=["inprocess", "redis"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        require_shared_redis()
    kind: str = request.param
    return kind


@pytest.fixture
async def make_bus(bus_kind: str) -> AsyncIterator[BusFactory]:
    """Started buses of the parametrized kind (two Redis buses = two processes)."""
    buses: list[Bus] = []

    async def make(metrics: CountingMetrics | None = None, **tuning: Any) -> Bus:
        url = SHARED_REDIS_URL if bus_kind == "redis" else None
        bus = create_bus(url, metrics=metrics.hooks() if metrics else None, **tuning)
        buses.append(bus)
        await bus.start()
        return bus

    try:
        yield make
    finally:
        for bus in buses:
            await bus.stop()


@pytest.fixture
async def shared_redis() -> AsyncIterator[Redis]:
    """A plain client on the shared Redis, to look at PUBSUB state (never to flush it)."""
    require_shared_redis()
    client = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


class RedisView:
    """What the shared Redis knows about our channels (nothing, for the in-process bus)."""

    def __init__(self, client: Redis | None) -> None:
        self.client = client

    async def channels(self, pattern: str) -> list[str]:
        if self.client is None:
            return []
        channels = await self.client.pubsub_channels(pattern)
        return sorted(c.decode() if isinstance(c, bytes) else c for c in channels)

    async def numsub(self, *channels: str) -> list[int]:
        if self.client is None:
            return [0 for _ in channels]
        return [count for _channel, count in await self.client.pubsub_numsub(*channels)]


@pytest.fixture
async def redis_view(bus_kind: str) -> AsyncIterator[RedisView]:
    if bus_kind != "redis":
        yield RedisView(None)
        return
    client = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    try:
        yield RedisView(client)
    finally:
        await client.aclose()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A private redis-server that a test may kill, restart, freeze and thaw."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: scripts/ensure-services installs it")
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    """A channel prefix no other test (or test run) uses."""
    return f"test:{uuid.uuid4().hex}:"
