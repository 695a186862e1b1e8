"""Who may open a socket, and what is left after clients vanish."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis
from websockets.exceptions import InvalidStatus

from desk.events import TOPIC_CHANGES, TOPIC_COUNTS, channel_name
from tests.live.conftest import SHARED_REDIS_URL, Served, served
from tests.live.test_stage_changes import CHANGES
from tests.live.test_stage_counts import SUBSCRIBE, create_ticket
from tests.live.wsclient import LiveSocket, counts_of
from ticket_stages.settings import Settings

DASHBOARD = "https://dashboard.example"


@pytest.fixture
async def guarded(settings: Settings) -> Served:  # type: ignore[misc]
    async with served(settings.with_(allowed_origins=(DASHBOARD,))) as instance:
        yield instance


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_foreign_origin_is_refused(guarded: Served) -> None:
    acme = await guarded.workspace()
    with pytest.raises(InvalidStatus) as refused:
        async with LiveSocket.open(guarded.url, acme.key, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("origin", [DASHBOARD, None])
async def test_an_allowed_origin_or_none_is_served(guarded: Served, origin: str | None) -> None:
    acme = await guarded.workspace()
    async with LiveSocket.open(guarded.url, acme.key, origin=origin) as live:
        op = await live.subscribe(SUBSCRIBE)
        assert (await counts_of(live, op))["total"] == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_no_origin_is_allowed_by_default(server: Served) -> None:
    acme = await server.workspace()
    with pytest.raises(InvalidStatus):
        async with LiveSocket.open(server.url, acme.key, origin=DASHBOARD):
            pass


async def _vanish(server: Served, key: str) -> None:
    """Connect, subscribe twice, get the first snapshot, then drop the TCP connection."""
    async with LiveSocket.open(server.url, key) as live:
        counts = await live.subscribe(SUBSCRIBE)
        await live.subscribe(CHANGES)
        await counts_of(live, counts)
        transport = live.connection.transport
        transport.abort()


def _live_tasks() -> list[asyncio.Task[object]]:
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and t.get_name().startswith(("counts-", "api-key-watch"))
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_abrupt_disconnects_leave_nothing_behind(
    server: Served, bus_kind: str, tmp_path: Path
) -> None:
    acme = await server.workspace()
    services = server.app.state.services
    hub = services.bus.hub
    rounds = 20 if bus_kind == "redis" else 4  # 1,000 clients on Redis, 200 in-process
    for _ in range(rounds):
        await asyncio.gather(*(_vanish(server, acme.key) for _ in range(50)))

    async def settled() -> bool:
        # what stays: the key cache's one subscription per workspace (to hear revocations)
        following = services.keys.following
        return (
            hub.subscriber_count == following
            and following <= 1
            and not services.live.feeds()
            and not _live_tasks()
        )

    async with asyncio.timeout(10):
        while not await settled():
            await asyncio.sleep(0.05)
    gauge = services.metrics.live_subscriptions
    assert gauge.labels(field="stageCounts")._value.get() == 0
    assert gauge.labels(field="stageChanges")._value.get() == 0
    if bus_kind == "redis":
        client = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
        try:
            channels = [channel_name(uuid.UUID(acme.id), t) for t in (TOPIC_COUNTS, TOPIC_CHANGES)]
            async with asyncio.timeout(5):
                while any(n for _, n in await client.pubsub_numsub(*channels)):
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    # and the process still serves
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(SUBSCRIBE)
        await counts_of(live, op)
        await create_ticket(acme)
        assert (await counts_of(live, op))["total"] == 1
