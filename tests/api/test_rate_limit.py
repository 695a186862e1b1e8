"""TICKET_STAGES_RATE_LIMIT: requests per minute per API key, then 429 with Retry-After."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
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
