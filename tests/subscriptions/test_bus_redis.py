"""Redis-only properties, on the shared server: processes talk to each other, and each
process holds one pub/sub connection whatever its number of subscribers."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from subscriptions import CountingMetrics, RedisBus, RedisTuning, Resync
from tests.subscriptions.helpers import SHARED_REDIS_URL, items, next_item
from tests.support.polling import eventually


def bus(name: str, metrics: CountingMetrics | None = None) -> RedisBus:
    return RedisBus(
        SHARED_REDIS_URL,
        metrics=metrics.hooks() if metrics else None,
        tuning=RedisTuning(client_name=name),
    )


async def clients_named(client: Redis, name: str) -> list[dict[str, str]]:
    listing: list[dict[str, str]] = await client.client_list()
    return [entry for entry in listing if entry.get("name", "").startswith(name)]


async def test_publish_reaches_subscribers_of_another_process(
    shared_redis: Redis, prefix: str
) -> None:
    async with bus("test-a") as process_a, bus("test-b") as process_b:
        async with (
            process_b.subscribe(prefix + "x") as remote,
            process_a.subscribe(prefix + "x") as local,
        ):
            for version in range(100):
                process_a.publish(prefix + "x", {"version": version})
            expected = [{"version": version} for version in range(100)]
            assert await items(remote, 100) == expected
            assert await items(local, 100) == expected
            process_b.publish(prefix + "x", {"from": "b"})
            assert await next_item(local) == {"from": "b"}
            assert await next_item(remote) == {"from": "b"}


async def test_one_pubsub_connection_per_process(shared_redis: Redis, prefix: str) -> None:
    name = f"test-{uuid.uuid4().hex[:12]}"
    async with bus(name) as process:
        subs = [process.subscribe(f"{prefix}{n % 40}") for n in range(200)]
        for sub in subs:
            await sub.__aenter__()
        try:
            for n in range(40):
                process.publish(f"{prefix}{n}", {"n": n})
            for sub in subs:
                assert await next_item(sub) == {"n": int(sub.channel.removeprefix(prefix))}
            connections = await clients_named(shared_redis, name)
            listeners = [c for c in connections if c["name"] == f"{name}:listener"]
            publishers = [c for c in connections if c["name"] == f"{name}:publisher"]
            assert len(listeners) == 1
            assert int(listeners[0]["sub"]) == 40  # each channel once, not once per subscriber
            assert len(publishers) == 1
            counts = [n for _c, n in await shared_redis.pubsub_numsub(f"{prefix}0")]
            assert counts == [1]
        finally:
            for sub in subs:
                await sub.__aexit__(None, None, None)
        await eventually(
            lambda: _listener_channels(shared_redis, name, 0), what="all channels left"
        )
    assert await clients_named(shared_redis, name) == []  # stop() closed every connection


async def _listener_channels(client: Redis, name: str, expected: int) -> bool:
    listeners = [c for c in await clients_named(client, name) if c["name"].endswith("listener")]
    return len(listeners) == 1 and int(listeners[0]["sub"]) == expected


async def test_churn_on_one_channel_ends_subscribed(shared_redis: Redis, prefix: str) -> None:
    """Subscribe/leave faster than Redis confirms: the last subscriber still gets messages."""
    async with bus("test-churn") as process:
        for _ in range(50):
            async with process.subscribe(prefix + "c"):
                pass
            sub = process.subscribe(prefix + "c")
            await sub.__aenter__()
            await sub.__aexit__(None, None, None)
        async with process.subscribe(prefix + "c") as last:
            process.publish(prefix + "c", {"ok": 1})
            assert await next_item(last) == {"ok": 1}
            assert [n for _c, n in await shared_redis.pubsub_numsub(prefix + "c")] == [1]


async def test_killed_connection_is_reopened_with_resync(shared_redis: Redis, prefix: str) -> None:
    """CLIENT KILL of our listener (as a proxy or a failover would): resubscribed + Resync."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    metrics = CountingMetrics()
    async with bus(name, metrics) as process, process.subscribe(prefix + "k") as sub:
        assert await _kill_listener(shared_redis, name) == 1
        assert await next_item(sub, within=5) == Resync("reconnect")
        process.publish(prefix + "k", {"after": "kill"})
        assert await next_item(sub) == {"after": "kill"}
        assert metrics.reconnects == 1


async def _kill_listener(client: Redis, name: str) -> int:
    killed = 0
    for entry in await clients_named(client, name):
        if entry["name"] == f"{name}:listener":
            await client.execute_command("CLIENT", "KILL", "ID", entry["id"])
            killed += 1
    return killed


async def test_subscribe_waits_for_redis_confirmation(shared_redis: Redis, prefix: str) -> None:
    """A message published right after `async with` returns is never missed."""
    async with bus("test-a") as process_a, bus("test-b") as process_b:
        for n in range(30):
            channel = f"{prefix}{n}"
            async with process_b.subscribe(channel) as sub:
                await shared_redis.publish(channel, '{"direct": true}')
                process_a.publish(channel, {"n": n})
                assert await items(sub, 2) == [{"direct": True}, {"n": n}]


async def test_garbage_on_the_wire_is_dropped(shared_redis: Redis, prefix: str) -> None:
    metrics = CountingMetrics()
    async with bus("test-garbage", metrics) as process, process.subscribe(prefix + "g") as sub:
        await shared_redis.publish(prefix + "g", "not json")
        await shared_redis.publish(prefix + "g", "[1, 2]")
        await shared_redis.publish(prefix + "g", '{"fine": 1}')
        assert await next_item(sub) == {"fine": 1}
        assert metrics.dropped["undecodable"] == 2


async def test_ping_is_bounded_when_redis_is_unreachable() -> None:
    process = RedisBus("redis://127.0.0.1:1/0")  # nothing listens on port 1
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await process.ping() is False
    assert loop.time() - began < 1.5
    await process.stop()
