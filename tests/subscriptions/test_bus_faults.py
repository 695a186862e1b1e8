"""Redis breaks on purpose (a private server): killed, restarted, frozen, absent at start.

Default tuning throughout (1 s socket timeouts, 1 s/2 s heartbeat, backoff capped at 2 s), so
these tests measure what production gets.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass, field

from subscriptions import CountingMetrics, RedisBus, Resync, Subscription
from tests.subscriptions.helpers import next_item
from tests.support.polling import eventually
from tests.support.redis_server import RedisServer

PUBLISH_BUDGET = 0.010  # seconds one publish() call may take, whatever Redis does


@dataclass
class Collector:
    """Reads a subscription in the background, stamping each item with the loop time."""

    sub: Subscription
    seen: list[tuple[float, object]] = field(default_factory=list)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        async for item in self.sub:
            self.seen.append((loop.time(), item))

    def resyncs_after(self, moment: float) -> list[float]:
        return [at for at, item in self.seen if item == Resync("reconnect") and at >= moment]

    def versions(self) -> list[int]:
        return [item["version"] for _at, item in self.seen if isinstance(item, dict)]


def timed_publish(bus: RedisBus, channel: str, payload: dict[str, int]) -> float:
    gc.disable()  # a collection pause is not publish() blocking
    try:
        began = time.perf_counter()
        bus.publish(channel, payload)
        return time.perf_counter() - began
    finally:
        gc.enable()


async def publish_for(bus: RedisBus, channel: str, seconds: float, first: int) -> int:
    """Publish an increasing version every 10 ms, each call within PUBLISH_BUDGET.

    A call over budget is measured again at once: on a loaded machine the process can be
    preempted for a time slice, which does not repeat; a publish() that blocks on Redis would.
    Returns the last version published.
    """
    loop = asyncio.get_running_loop()
    version = first
    end = loop.time() + seconds
    while loop.time() < end:
        version += 1
        took = timed_publish(bus, channel, {"version": version})
        if took >= PUBLISH_BUDGET:
            version += 1
            took = timed_publish(bus, channel, {"version": version})
        assert took < PUBLISH_BUDGET
        await asyncio.sleep(0.01)
    return version


async def test_redis_killed_and_restarted(private_redis: RedisServer, prefix: str) -> None:
    channel = prefix + "counts"
    publisher_metrics, subscriber_metrics = CountingMetrics(), CountingMetrics()
    loop = asyncio.get_running_loop()
    async with (
        RedisBus(private_redis.url, metrics=publisher_metrics.hooks()) as publisher,
        RedisBus(private_redis.url, metrics=subscriber_metrics.hooks()) as subscriber,
        subscriber.subscribe(channel) as sub,
    ):
        publisher.publish(channel, {"version": 0})
        assert await next_item(sub) == {"version": 0}
        collector = Collector(sub)
        reader = asyncio.create_task(collector.run())

        private_redis.kill()
        version = await publish_for(publisher, channel, 2.5, first=0)
        assert not subscriber.connected
        assert publisher.pending_publishes <= 1  # only the latest payload of the channel waits

        await asyncio.to_thread(private_redis.restart)
        restarted = loop.time()
        # go on publishing, as the service would, until the subscriber has resynced
        while not collector.resyncs_after(restarted) and loop.time() - restarted < 6:
            version = await publish_for(publisher, channel, 0.05, first=version)
        resync_after = collector.resyncs_after(restarted)[0] - restarted
        print(f"Resync {resync_after:.2f}s after the restart")
        assert resync_after < 5

        version = await publish_for(publisher, channel, 0.05, first=version)
        await eventually(lambda: version in collector.versions(), what="latest payload")
        reader.cancel()

    assert publisher_metrics.publish_failures >= 1
    assert publisher_metrics.dropped["superseded"] > 100  # the outage collapsed to one message
    assert subscriber_metrics.reconnects == 1


async def test_redis_frozen_and_thawed(private_redis: RedisServer, prefix: str) -> None:
    channel = prefix + "counts"
    subscriber_metrics = CountingMetrics()
    loop = asyncio.get_running_loop()
    async with (
        RedisBus(private_redis.url) as publisher,
        RedisBus(private_redis.url, metrics=subscriber_metrics.hooks()) as subscriber,
        subscriber.subscribe(channel) as sub,
    ):
        publisher.publish(channel, {"version": 0})
        assert await next_item(sub) == {"version": 0}
        collector = Collector(sub)
        reader = asyncio.create_task(collector.run())

        private_redis.freeze()
        frozen = loop.time()
        version = 0
        while subscriber.connected:  # the heartbeat must notice the silence
            version = await publish_for(publisher, channel, 0.05, first=version)
            assert loop.time() - frozen < 4, "frozen Redis not detected"
        detected_after = loop.time() - frozen
        version = await publish_for(publisher, channel, 3.0 - detected_after, first=version)

        private_redis.thaw()
        thawed = loop.time()
        while not collector.resyncs_after(thawed) and loop.time() - thawed < 6:
            version = await publish_for(publisher, channel, 0.05, first=version)
        resync_after = collector.resyncs_after(thawed)[0] - thawed
        print(f"freeze detected after {detected_after:.2f}s, Resync {resync_after:.2f}s after thaw")
        assert resync_after < 5

        version = await publish_for(publisher, channel, 0.05, first=version)
        await eventually(lambda: version in collector.versions(), what="latest payload")
        reader.cancel()
    assert subscriber_metrics.reconnects == 1


async def test_redis_absent_at_start(private_redis: RedisServer, prefix: str) -> None:
    """Subscribing while Redis is down returns after subscribe_timeout; Resync once it is up."""
    private_redis.kill()
    channel = prefix + "late"
    loop = asyncio.get_running_loop()
    async with RedisBus(private_redis.url) as bus:
        began = loop.time()
        async with bus.subscribe(channel) as sub:
            assert loop.time() - began < 1.5  # bounded by subscribe_timeout
            assert await bus.ping() is False
            bus.publish(channel, {"version": 1})  # kept until Redis is there
            await asyncio.to_thread(private_redis.restart)
            started = loop.time()
            assert await next_item(sub, within=5) == Resync("reconnect")
            print(f"Resync {loop.time() - started:.2f}s after Redis appeared")
            assert await bus.ping() is True
            bus.publish(channel, {"version": 2})
            item = await next_item(sub)
            if item == {"version": 1}:  # sent before or after our SUBSCRIBE: either is fine
                item = await next_item(sub)
            assert item == {"version": 2}


async def test_stop_is_bounded_while_redis_is_down(private_redis: RedisServer, prefix: str) -> None:
    metrics = CountingMetrics()
    bus = RedisBus(private_redis.url, metrics=metrics.hooks())
    await bus.start()
    async with bus.subscribe(prefix + "x"):
        private_redis.kill()
        for version in range(100):
            bus.publish(prefix + "x", {"version": version})
        loop = asyncio.get_running_loop()
        began = loop.time()
        await bus.stop()
        assert loop.time() - began < 2.5
    assert metrics.dropped["stopped"] >= 1


async def test_every_subscriber_resyncs_after_a_restart(
    private_redis: RedisServer, prefix: str
) -> None:
    loop = asyncio.get_running_loop()
    async with RedisBus(private_redis.url) as bus:
        subs = [bus.subscribe(f"{prefix}{n % 25}") for n in range(300)]
        for sub in subs:
            await sub.__aenter__()
        try:
            private_redis.kill()
            await asyncio.sleep(0.5)
            await asyncio.to_thread(private_redis.restart)
            restarted = loop.time()
            async with asyncio.timeout(5):
                for sub in subs:
                    assert await anext(sub) == Resync("reconnect")
            print(f"300 subscribers resynced within {loop.time() - restarted:.2f}s")
            bus.publish(f"{prefix}7", {"after": "restart"})
            for sub in subs:
                if sub.channel == f"{prefix}7":
                    assert await next_item(sub) == {"after": "restart"}
                else:
                    assert sub.pending == 0
        finally:
            for sub in subs:
                await sub.__aexit__(None, None, None)
