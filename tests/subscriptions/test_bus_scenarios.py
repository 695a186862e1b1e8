"""The same scenarios on the in-process bus and on Redis (the shared server)."""

from __future__ import annotations

import asyncio
from typing import Any

from subscriptions import CountingMetrics, Resync
from tests.subscriptions.conftest import BusFactory, RedisView
from tests.subscriptions.helpers import items, next_item
from tests.support.polling import eventually


async def test_delivers_in_publish_order(make_bus: BusFactory, prefix: str) -> None:
    bus = await make_bus()
    async with bus.subscribe(prefix + "a", maxsize=1000) as sub:
        for version in range(300):
            bus.publish(prefix + "a", {"version": version})
        received = await items(sub, 300)
    assert received == [{"version": version} for version in range(300)]


async def test_fans_out_to_every_subscriber(make_bus: BusFactory, prefix: str) -> None:
    bus = await make_bus()
    channel = prefix + "shared"
    subs = [bus.subscribe(channel) for _ in range(5)]
    for sub in subs:
        await sub.__aenter__()
    try:
        bus.publish(channel, {"n": 1})
        bus.publish(channel, {"n": 2})
        for sub in subs:
            assert await items(sub, 2) == [{"n": 1}, {"n": 2}]
    finally:
        for sub in subs:
            await sub.__aexit__(None, None, None)


async def test_channels_are_isolated(make_bus: BusFactory, prefix: str) -> None:
    bus = await make_bus()
    async with bus.subscribe(prefix + "a") as sub_a, bus.subscribe(prefix + "b") as sub_b:
        bus.publish(prefix + "b", {"for": "b"})
        bus.publish(prefix + "c", {"for": "nobody"})
        bus.publish(prefix + "a", {"for": "a"})
        assert await next_item(sub_a) == {"for": "a"}
        assert await next_item(sub_b) == {"for": "b"}
        await asyncio.sleep(0.05)
        assert sub_a.pending == 0 and sub_b.pending == 0


async def test_subscriber_gets_a_copy_of_the_payload(make_bus: BusFactory, prefix: str) -> None:
    bus = await make_bus()
    async with bus.subscribe(prefix + "a") as sub:
        payload: dict[str, Any] = {"counts": [1, 2], "version": 1}
        bus.publish(prefix + "a", payload)
        payload["counts"].append(3)  # the caller reuses its dict after publishing
        assert await next_item(sub) == {"counts": [1, 2], "version": 1}


async def test_leaving_unsubscribes(
    make_bus: BusFactory, prefix: str, bus_kind: str, redis_view: RedisView
) -> None:
    metrics = CountingMetrics()
    bus = await make_bus(metrics)
    async with bus.subscribe(prefix + "a") as first:
        async with bus.subscribe(prefix + "a"):
            assert metrics.subscribers == 2
        assert bus.hub.channel_names() == [prefix + "a"]  # type: ignore[attr-defined]
        bus.publish(prefix + "a", {"still": "here"})
        assert await next_item(first) == {"still": "here"}
        if bus_kind == "redis":
            assert await redis_view.channels(prefix + "*") == [prefix + "a"]
    assert metrics.subscribers == 0
    assert bus.hub.channel_names() == []  # type: ignore[attr-defined]
    bus.publish(prefix + "a", {"to": "nobody"})  # harmless
    await eventually(lambda: no_channels(redis_view, prefix), what="Redis forgets the channel")


async def no_channels(redis_view: RedisView, prefix: str) -> bool:
    return await redis_view.channels(prefix + "*") == []


async def test_slow_subscriber_gets_overflow_resync(make_bus: BusFactory, prefix: str) -> None:
    metrics = CountingMetrics()
    bus = await make_bus(metrics)
    channel = prefix + "busy"
    async with (
        bus.subscribe(channel, maxsize=5) as slow,
        bus.subscribe(channel, maxsize=1000) as fast,
    ):
        for version in range(50):
            bus.publish(channel, {"version": version})
        # the fast one got everything, so the slow one has been offered everything too
        assert await items(fast, 50) == [{"version": version} for version in range(50)]
        assert slow.pending <= 5
        backlog = [await next_item(slow) for _ in range(slow.pending)]
        assert Resync("overflow") in backlog
        assert metrics.dropped["overflow"] >= 45
        # after the overflow the subscription goes on normally
        bus.publish(channel, {"version": 50})
        assert await next_item(slow) == {"version": 50}
        assert await next_item(fast) == {"version": 50}


async def test_queue_never_exceeds_maxsize(make_bus: BusFactory, prefix: str) -> None:
    bus = await make_bus()
    channel = prefix + "flood"
    async with (
        bus.subscribe(channel, maxsize=3) as sub,
        bus.subscribe(channel, maxsize=10_000) as witness,
    ):
        for version in range(2000):
            bus.publish(channel, {"version": version})
            assert sub.pending <= 3
        await items(witness, 2000, within=10)
        assert sub.pending <= 3
        first = await next_item(sub)
        assert first == Resync("overflow")


async def test_thousand_abrupt_disconnects_leave_nothing_behind(
    make_bus: BusFactory, prefix: str, bus_kind: str, redis_view: RedisView
) -> None:
    metrics = CountingMetrics()
    bus = await make_bus(metrics)
    await eventually(lambda: bus.connected, what="bus connected")
    tasks_before = asyncio.all_tasks()
    channels = [f"{prefix}{n}" for n in range(250)]
    entered = 0
    received = 0

    async def subscriber(channel: str) -> None:
        nonlocal entered, received
        async with bus.subscribe(channel) as sub:
            entered += 1
            async for _item in sub:
                received += 1

    tasks = [asyncio.create_task(subscriber(channels[n % 250])) for n in range(1000)]
    await eventually(lambda: entered == 1000, what="1000 subscribers in", within=10)
    assert metrics.subscribers == 1000
    for channel in channels:
        bus.publish(channel, {"hello": channel})
    await eventually(lambda: received == 1000, what="every subscriber mid-iteration")
    if bus_kind == "redis":
        assert len(await redis_view.channels(prefix + "*")) == 250
        assert await redis_view.numsub(*channels[:20]) == [1] * 20  # one per process

    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)

    hub = bus.hub  # type: ignore[attr-defined]
    assert hub.channel_names() == []
    assert hub.subscriber_count == 0 and metrics.subscribers == 0
    assert not hub._channels  # the internal map itself
    await eventually(lambda: no_channels(redis_view, prefix), what="Redis channels gone")
    assert await redis_view.numsub(*channels) == [0] * 250
    assert asyncio.all_tasks() == tasks_before  # no task left over, none lost


async def test_publish_never_raises_on_bad_payloads(make_bus: BusFactory, prefix: str) -> None:
    metrics = CountingMetrics()
    bus = await make_bus(metrics)
    async with bus.subscribe(prefix + "a") as sub:
        bus.publish(prefix + "a", {"when": object()})  # type: ignore[dict-item]
        bus.publish(prefix + "a", {"nan": float("nan")})
        bus.publish(prefix + "a", ["not", "a", "dict"])  # type: ignore[arg-type]
        bus.publish(None, {"no": "channel"})  # type: ignore[arg-type]
        bus.publish(prefix + "a", {"ok": True})
        assert await next_item(sub) == {"ok": True}
    assert metrics.dropped["unencodable"] == 4


async def test_stop_ends_every_subscription(make_bus: BusFactory, prefix: str) -> None:
    bus = await make_bus()
    got: list[object] = []

    async def consume() -> None:
        async with bus.subscribe(prefix + "a") as sub:
            async for item in sub:
                got.append(item)

    consumer = asyncio.create_task(consume())
    await eventually(lambda: bus.hub.subscriber_count == 1)  # type: ignore[attr-defined]
    bus.publish(prefix + "a", {"n": 1})
    await eventually(lambda: got == [{"n": 1}])
    await bus.stop()
    await asyncio.wait_for(consumer, 2)  # the `async for` ended by itself
    await bus.stop()  # idempotent
    bus.publish(prefix + "a", {"n": 2})  # after stop: dropped, not raised
    async with bus.subscribe(prefix + "a") as late:
        assert [item async for item in late] == []


async def test_ping_and_connected(make_bus: BusFactory, prefix: str) -> None:
    bus = await make_bus()
    async with bus.subscribe(prefix + "a"):
        assert bus.connected
    assert await bus.ping() is True
