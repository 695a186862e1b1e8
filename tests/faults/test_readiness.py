"""/readyz follows the configured Redis: 503 while it is dead or frozen, 200 again by itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from tests.support.databases import SqliteTemplate
from tests.support.redis_server import RedisServer, private_redis_server
from ticket_stages.settings import Settings

ANSWER_WITHIN = 5.0  # a readiness probe must answer this fast, whatever Redis does


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with private_redis_server() as server:
        yield server


async def readiness(http: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    started = time.monotonic()
    response = await asyncio.wait_for(http.get("/readyz"), ANSWER_WITHIN)
    assert time.monotonic() - started < ANSWER_WITHIN
    return response.status_code, response.json()


async def wait_for_status(
    http: httpx.AsyncClient, status: int, within: float = 10.0
) -> dict[str, object]:
    deadline = time.monotonic() + within
    while True:
        got, body = await readiness(http)
        if got == status:
            return body
        assert time.monotonic() < deadline, f"/readyz stayed {got} ({body}) for {within} s"
        await asyncio.sleep(0.05)


async def test_readiness_follows_redis_and_recovers_by_itself(
    redis_server: RedisServer, sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=sqlite_template.fresh(tmp_path),
        redis_url=redis_server.url,
        reports_dir=tmp_path / "reports",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await readiness(http))[1]["checks"] == {"database": True, "redis": True}

            await asyncio.to_thread(redis_server.kill)
            body = await wait_for_status(http, 503)
            assert body["checks"] == {"database": True, "redis": False}
            await asyncio.to_thread(redis_server.restart)
            await wait_for_status(http, 200)

            redis_server.freeze()  # the port accepts, nothing answers
            try:
                body = await wait_for_status(http, 503)
                assert body["checks"] == {"database": True, "redis": False}
            finally:
                redis_server.thaw()
            await wait_for_status(http, 200)
            assert (await http.get("/healthz")).status_code == 200  # alive all along
