"""TICKET_STAGES_RATE_LIMIT: requests per minute per API key, then 429 with Retry-After."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from api.app import create_app
from api.rate_limit import LocalCounterStore, RateLimiter
from desk.clock import ManualClock
from subscriptions.inprocess import InProcessBus
from subscriptions.rate_store import RedisCounterStore
from tests.conftest import new_workspace
from ticket_stages.settings import Settings

QUERY = {"query": "{ viewer { role } }"}


@pytest.fixture(params=["in-process", "redis"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "in-process" else "redis://127.0.0.1:6379/0"


@pytest.fixture
async def limited_app(
    settings: Settings, clock: ManualClock, redis_url: str | None
) -> AsyncIterator[Starlette]:
    application = create_app(
        settings.with_(rate_limit_per_minute=5, redis_url=redis_url),
        clock=clock,
        bus=InProcessBus(),
    )
    async with application.router.lifespan_context(application):
        yield application


async def test_over_the_limit_gets_429_with_retry_after(limited_app: Starlette) -> None:
    _, first_key = await new_workspace(limited_app, "A")
    _, second_key = await new_workspace(limited_app, "B")
    transport = httpx.ASGITransport(app=limited_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        statuses = [
            (
                await http.post(
                    "/graphql", json=QUERY, headers={"authorization": f"Bearer {first_key}"}
                )
            ).status_code
            for _ in range(7)
        ]
        assert statuses[:5] == [200] * 5
        assert statuses[5:] == [429, 429]
        refused = await http.post(
            "/graphql", json=QUERY, headers={"authorization": f"Bearer {first_key}"}
        )
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        other = await http.post(
            "/graphql", json=QUERY, headers={"authorization": f"Bearer {second_key}"}
        )
        assert other.status_code == 200


@pytest.mark.parametrize("store_kind", ["local", "redis"])
async def test_sliding_window_lets_requests_through_again(store_kind: str) -> None:
    moment = [1_000_020.0]
    store = (
        LocalCounterStore()
        if store_kind == "local"
        else RedisCounterStore("redis://127.0.0.1:6379/0")
    )
    limiter = RateLimiter(3, store, now=lambda: moment[0])
    key = uuid.uuid4().hex
    try:
        assert [await limiter.retry_after(key) for _ in range(3)] == [None, None, None]
        wait = await limiter.retry_after(key)
        assert wait is not None and 0 < wait <= 60
        moment[0] += 120  # two windows later nothing of the burst is left
        assert await limiter.retry_after(key) is None
    finally:
        if isinstance(store, RedisCounterStore):
            await store.close()


async def test_redis_unreachable_lets_requests_through() -> None:
    store = RedisCounterStore("redis://127.0.0.1:1/0")
    limiter = RateLimiter(1, store)
    try:
        assert [await limiter.retry_after("k") for _ in range(3)] == [None, None, None]
    finally:
        await store.close()


async def test_redis_counts_of_a_busy_key_far_from_its_limit_are_sent_in_batches() -> None:
    store = RedisCounterStore("redis://127.0.0.1:6379/0", flush_interval=0.02)
    limiter = RateLimiter(1_000, store, now=lambda: 1_000_020.0)
    key = uuid.uuid4().hex
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        assert [await limiter.retry_after(key) for _ in range(50)] == [None] * 50
        shared = f"ts:rate:{key}:{1_000_020 // 60}"
        assert int(await redis.get(shared) or 0) < 50  # not one round trip per request
        async with asyncio.timeout(5):
            while int(await redis.get(shared) or 0) < 50:
                await asyncio.sleep(0.01)
        assert int(await redis.get(shared)) == 50
    finally:
        await store.close()
        await redis.aclose()


async def test_processes_sharing_redis_share_one_exact_limit() -> None:
    stores = [RedisCounterStore("redis://127.0.0.1:6379/0", flush_interval=60) for _ in range(2)]
    first, second = (RateLimiter(100, store, now=lambda: 1_000_020.0) for store in stores)
    key = uuid.uuid4().hex
    try:
        allowed = sum([await first.retry_after(key) is None for _ in range(60)])
        allowed += sum([await second.retry_after(key) is None for _ in range(80)])
        allowed += sum([await first.retry_after(key) is None for _ in range(10)])
        assert allowed == 100
    finally:
        for store in stores:
            await store.close()
