"""Fixtures for fault tests: a private PostgreSQL server that the tests may stop and kill."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from models.database import migrate, open_database
from tests.support.postgres_server import PostgresServer, private_postgres_server


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    with private_postgres_server() as server:
        yield server


@pytest.fixture
async def private_database_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A migrated database of its own on the private server (running again at the end)."""
    name = f"faults_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_dsn(postgres_server.url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = postgres_server.url_for(name)
    async with open_database(url, pool_size=2) as ctx:
        await migrate(ctx)
    yield url
    if not postgres_server.running:
        postgres_server.start()


def _dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def sql_rows(url: str, query: str) -> list[asyncpg.Record]:
    """Read with a connection of its own, outside the app (for checking what was written)."""
    connection = await asyncpg.connect(_dsn(url))
    try:
        return list(await connection.fetch(query))
    finally:
        await connection.close()


async def assert_pool_whole(size: int, within: float = 5.0) -> None:
    """`size` transactions can hold a connection each at the same time: none was lost.

    Each waits at a barrier while holding its connection, so a pool that lost even one
    connection cannot let the last one in, and the barrier times out.
    """
    barrier = asyncio.Barrier(size)

    async def hold() -> None:
        async with in_transaction() as connection:
            await connection.execute_query("SELECT 1")
            await barrier.wait()

    try:
        async with asyncio.timeout(within):
            await asyncio.gather(*(hold() for _ in range(size)))
    except TimeoutError:
        raise AssertionError(
            f"{size} transactions could not hold a connection each: the pool lost some"
        ) from None
