"""Redis is not a single point of failure: killed, frozen, or shared by several processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from desk import tickets
from desk.access import Actor
from desk.clock import ManualClock
from desk.events import NullPublisher
from desk.service import Desk
from models import Channel, Role
from models.database import activate
from tests.live.conftest import SHARED_REDIS_URL, Served, Workspace, require_shared_redis, served
from tests.live.test_stage_changes import CHANGES
from tests.live.test_stage_counts import SUBSCRIBE, create_ticket, database_counts
from tests.live.wsclient import LiveSocket, counts_of
from tests.support.redis_server import RedisServer
from ticket_stages.settings import Settings

ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
RECOVERY = 5.0  # seconds after Redis is back within which every subscriber is right again
OUTAGE = 10.0  # seconds Redis stays killed


def _same(shown: dict[str, Any], truth: dict[str, Any]) -> bool:
    return shown["total"] == truth["total"] and shown["counts"] == truth["counts"]


async def _converges(live: LiveSocket, op: str, truth: dict[str, Any], deadline: float) -> None:
    """Read the subscriber's messages until they show the truth; fail after the deadline."""
    loop = asyncio.get_running_loop()
    shown: dict[str, Any] | None = None
    while shown is None or not _same(shown, truth):
        left = deadline - loop.time()
        assert left > 0, f"the subscriber still shows {shown}, the database {truth}"
        shown = await counts_of(live, op, timeout=left)


async def _quick_mutations(workspace: Workspace, count: int) -> None:
    for index in range(count):
        began = time.perf_counter()
        await create_ticket(workspace, customer=f"while-away-{index}")
        assert time.perf_counter() - began < 1.0, "a mutation waited on Redis"


async def _created_elsewhere(server: Served, workspace: Workspace, channel: Channel) -> None:
    """A ticket created by another process, whose event is lost while Redis is away."""
    elsewhere = Desk(clock=server.app.state.services.desk.clock, publisher=NullPublisher())
    actor = Actor(uuid.UUID(workspace.id), None, "another process", Role.AGENT)
    with activate(server.app.state.database):
        await tickets.create_ticket(elsewhere, actor, "elsewhere", channel)


async def _link_back(served_: Served) -> None:
    async with asyncio.timeout(RECOVERY):
        while not served_.app.state.services.bus.connected:
            await asyncio.sleep(0.02)


async def _delivered_through_redis(served_: Served, workspace: Workspace) -> None:
    """With the link back, changes arrive at once again (not by the offline poll)."""
    async with LiveSocket.open(served_.url, workspace.key) as live:
        op = await live.subscribe(SUBSCRIBE)
        await counts_of(live, op)
        for _ in range(3):
            began = time.perf_counter()
            await create_ticket(workspace)
            await counts_of(live, op, timeout=2)
            assert time.perf_counter() - began < 1.0


@ON_POSTGRES
async def test_redis_killed_and_restarted(
    private_redis: RedisServer, settings: Settings, clock: ManualClock
) -> None:
    config = settings.with_(redis_url=private_redis.url)
    async with served(config, clock) as server:
        # only the resync after the reconnect may heal the subscribers, not the offline poll
        server.app.state.services.live.polling.offline = 60.0
        acme = await server.workspace()
        await create_ticket(acme, "EMAIL")
        async with LiveSocket.open(server.url, acme.key) as live:
            every = await live.subscribe(SUBSCRIBE)
            email = await live.subscribe(SUBSCRIBE, {"channel": "EMAIL"})
            await counts_of(live, every)
            await counts_of(live, email)

            await asyncio.to_thread(private_redis.kill)
            loop = asyncio.get_running_loop()
            outage_ends = loop.time() + OUTAGE
            while loop.time() < outage_ends:  # the service keeps committing all along
                await _quick_mutations(acme, 2)
                await create_ticket(acme, "EMAIL")
                await asyncio.sleep(1.0)
            # what this process commits reaches its own subscribers without Redis
            deadline = loop.time() + RECOVERY
            await _converges(live, every, await database_counts(acme), deadline)
            await _converges(live, email, await database_counts(acme, "EMAIL"), deadline)
            await _created_elsewhere(server, acme, Channel.EMAIL)
            await asyncio.sleep(0.3)
            assert live.pending(every) == 0 and live.pending(email) == 0
            await asyncio.to_thread(private_redis.restart)
            deadline = asyncio.get_running_loop().time() + RECOVERY
            await _converges(live, every, await database_counts(acme), deadline)
            await _converges(live, email, await database_counts(acme, "EMAIL"), deadline)
        await _link_back(server)
        await _delivered_through_redis(server, acme)


@ON_POSTGRES
async def test_while_redis_is_away_subscribers_still_see_changes(
    private_redis: RedisServer, settings: Settings, clock: ManualClock
) -> None:
    config = settings.with_(redis_url=private_redis.url)
    async with served(config, clock) as server:
        acme = await server.workspace()
        async with LiveSocket.open(server.url, acme.key) as live:
            op = await live.subscribe(SUBSCRIBE)
            await counts_of(live, op)
            await asyncio.to_thread(private_redis.kill)
            await _quick_mutations(acme, 2)
            deadline = asyncio.get_running_loop().time() + 3.0
            await _converges(live, op, await database_counts(acme), deadline)


@ON_POSTGRES
async def test_redis_frozen_is_detected_and_survived(
    private_redis: RedisServer, settings: Settings, clock: ManualClock
) -> None:
    config = settings.with_(redis_url=private_redis.url)
    async with served(config, clock) as server:
        acme = await server.workspace()
        bus = server.app.state.services.bus
        async with LiveSocket.open(server.url, acme.key) as live:
            op = await live.subscribe(SUBSCRIBE)
            await counts_of(live, op)

            await asyncio.to_thread(private_redis.freeze)
            try:
                await _quick_mutations(acme, 3)
                async with asyncio.timeout(4):  # the heartbeat notices the silence
                    while bus.connected:
                        await asyncio.sleep(0.05)
            finally:
                await asyncio.to_thread(private_redis.thaw)
            deadline = asyncio.get_running_loop().time() + RECOVERY
            await _converges(live, op, await database_counts(acme), deadline)
        await _link_back(server)
        await _delivered_through_redis(server, acme)


@ON_POSTGRES
async def test_a_change_made_through_one_process_reaches_subscribers_of_another(
    settings: Settings,
) -> None:
    require_shared_redis()
    config = settings.with_(redis_url=SHARED_REDIS_URL)
    async with served(config) as first, served(config) as second:
        acme = await first.workspace()
        via_second = second.client(acme.key)
        async with (
            LiveSocket.open(first.url, acme.key) as on_first,
            LiveSocket.open(second.url, acme.key) as on_second,
        ):
            counts_first = await on_first.subscribe(SUBSCRIBE)
            counts_second = await on_second.subscribe(SUBSCRIBE)
            changes_second = await on_second.subscribe(CHANGES)
            await counts_of(on_first, counts_first)
            await counts_of(on_second, counts_second)
            await asyncio.sleep(0.1)

            ticket = await create_ticket(acme)  # through the first process
            assert (await counts_of(on_second, counts_second))["total"] == 1
            assert (await counts_of(on_first, counts_first))["total"] == 1
            change = (await on_second.next(changes_second))["stageChanges"]
            assert change["ticket"]["id"] == ticket

            payload = await via_second.mutate(  # and back, through the second
                "mutation($i: CreateTicketInput!) "
                "{ createTicket(input: $i) { userErrors { code } } }",
                {"i": {"customerId": "c2", "channel": "SMS"}},
            )
            assert payload["userErrors"] == []
            shown = await counts_of(on_first, counts_first)
            assert shown["total"] == 2
            assert _same(shown, await database_counts(acme))
