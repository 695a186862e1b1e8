"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from desk.access import Actor
from desk.clock import ManualClock
from desk.service import Desk
from desk.workspaces import create_workspace
from models import ApiKey, Role
from models.database import activate, open_database
from subscriptions.inprocess import InProcessBus
from tests.support.databases import PostgresDatabase, SqliteTemplate
from tests.support.graphql import GraphQLClient
from ticket_stages.settings import Settings

DATABASES = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    template = SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))
    asyncio.run(template.build())
    return template


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    database = PostgresDatabase()
    asyncio.run(database.create())
    yield database
    asyncio.run(database.drop())


@pytest.fixture(params=DATABASES)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: SqliteTemplate
) -> str:
    if request.param == "sqlite":
        return sqlite_template.fresh(tmp_path)
    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    asyncio.run(database.truncate())
    return database.url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """An open database for domain-level tests (the Tortoise context is current)."""
    async with open_database(database_url) as ctx:
        with activate(ctx):
            yield database_url


@pytest.fixture
def desk(clock: ManualClock) -> Desk:
    return Desk(clock=clock)


async def admin_actor(desk: Desk, name: str = "Acme") -> Actor:
    workspace, _ = await create_workspace(desk, name)
    key = await ApiKey.get(workspace_id=workspace.id)
    return Actor(workspace_id=workspace.id, api_key_id=key.id, name=key.name, role=Role.ADMIN)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, reports_dir=tmp_path / "reports", sweep_interval=0.05
    )


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock=clock, bus=InProcessBus())
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def new_workspace(app: Starlette, name: str = "Acme") -> tuple[str, str]:
    """A workspace created through the domain; returns (workspace id, ADMIN secret)."""
    desk: Desk = app.state.services.desk
    with activate(app.state.database):
        workspace, secret = await create_workspace(desk, name)
    return str(workspace.id), secret


@pytest.fixture
async def gql(app: Starlette, http: httpx.AsyncClient) -> GraphQLClient:
    _, secret = await new_workspace(app)
    return GraphQLClient(http, secret)


def dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True)
