"""A pooled connection that dies under a transaction's BEGIN goes back to the pool."""

from __future__ import annotations

import asyncpg
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from models.database import activate, connection_name, open_database
from tests.faults.conftest import assert_pool_whole
from tests.support.postgres_server import PostgresServer


async def test_a_failed_begin_gives_its_connection_back(postgres_server: PostgresServer) -> None:
    url = postgres_server.url
    admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        async with open_database(url, pool_size=2) as ctx:
            with activate(ctx):
                begin_failures = 0
                for _ in range(20):
                    # the pool's connection is terminated by the server: the client learns it
                    # only when it next speaks, which is the transaction's BEGIN
                    rows = await get_connection(connection_name(url)).execute_query_dict(
                        "SELECT pg_backend_pid() AS pid"
                    )
                    await admin.execute("SELECT pg_terminate_backend($1)", rows[0]["pid"])
                    entered = False
                    try:
                        async with in_transaction() as connection:
                            entered = True
                            await connection.execute_query("SELECT 1")
                    except Exception:
                        begin_failures += 0 if entered else 1
                    if begin_failures >= 2:
                        break
                assert begin_failures >= 2, "BEGIN never met a terminated connection"
                await assert_pool_whole(2)
    finally:
        await admin.close()
