"""Fixtures of the live tests: the real app (on either bus) served over real websockets."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from desk.clock import ManualClock
from tests.conftest import new_workspace
from tests.support.graphql import GraphQLClient
from tests.support.redis_server import RedisServer, answers_ping
from tests.support.ws import serve
from ticket_stages.settings import Settings

SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


def require_shared_redis() -> None:
    if not answers_ping(6379, timeout=1.0):
        pytest.fail(f"no Redis at {SHARED_REDIS_URL}: scripts/test starts it")


@dataclass
class Workspace:
    id: str
    key: str
    gql: GraphQLClient


@dataclass
class Served:
    """One app instance: its lifespan open, served on a port, with an HTTP client."""

    app: Starlette
    url: str
    http: httpx.AsyncClient

    async def workspace(self, name: str = "Acme") -> Workspace:
        workspace_id, key = await new_workspace(self.app, name)
        return Workspace(workspace_id, key, GraphQLClient(self.http, key))

    def client(self, key: str) -> GraphQLClient:
        return GraphQLClient(self.http, key)


@contextlib.asynccontextmanager
async def served(settings: Settings, clock: ManualClock | None = None) -> AsyncIterator[Served]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        async with serve(app) as url:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield Served(app, url, http)


@pytest.fixture(params=["inprocess", "redis"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        require_shared_redis()
    kind: str = request.param
    return kind


@pytest.fixture
def live_settings(settings: Settings, bus_kind: str) -> Settings:
    return settings.with_(redis_url=SHARED_REDIS_URL if bus_kind == "redis" else None)


@pytest.fixture
async def server(live_settings: Settings, clock: ManualClock) -> AsyncIterator[Served]:
    async with served(live_settings, clock) as instance:
        yield instance


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of this test alone, to kill, restart and freeze."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: scripts/ensure-services installs it")
    with RedisServer() as redis_server:
        yield redis_server
