"""The pieces of the bus that need no network: queue, outbox, names, encoding, settings."""

from __future__ import annotations

import asyncio
import random

import pytest

from subscriptions import (
    CountingMetrics,
    InProcessBus,
    RedisBus,
    RedisTuning,
    Resync,
    create_bus,
    workspace_channel,
)
from subscriptions.backoff import Backoff
from subscriptions.encoding import PayloadError, decode, encode
from subscriptions.hub import Hub, SubscriberQueue
from subscriptions.metrics import BusMetrics, MetricsEmitter
from subscriptions.outbox import Outbox


def outbox(maxsize: int = 100) -> tuple[Outbox, CountingMetrics]:
    metrics = CountingMetrics()
    return Outbox(maxsize, MetricsEmitter(metrics.hooks())), metrics


def test_outbox_keeps_publish_order_while_healthy() -> None:
    box, metrics = outbox()
    for n in range(5):
        box.put("a" if n % 2 else "b", b"%d" % n)
    assert box.take(3) == [("b", b"0"), ("a", b"1"), ("b", b"2")]
    assert box.take(10) == [("a", b"3"), ("b", b"4")]
    assert len(box) == 0 and not metrics.dropped


def test_outbox_keeps_latest_per_channel_after_a_failure() -> None:
    box, metrics = outbox()
    box.put("a", b"1")
    box.put("b", b"1")
    failed = box.take(10)
    box.put("a", b"2")  # published while the batch was in flight
    box.requeue(failed)  # Redis did not take it
    for version in range(3, 50):
        box.put("a", b"%d" % version)
    box.put("c", b"1")
    assert box.coalescing
    assert box.take(10) == [("a", b"49"), ("b", b"1"), ("c", b"1")]
    box.sent()
    assert not box.coalescing  # drained: publish order again
    assert metrics.dropped["superseded"] == 48


def test_outbox_compacts_instead_of_growing_when_full() -> None:
    box, metrics = outbox(maxsize=3)
    for version in range(10):
        box.put("a", b"%d" % version)
    assert len(box) == 1 and box.take(5) == [("a", b"9")]
    for channel in "abcde":
        box.put(channel, b"x")
    assert [channel for channel, _data in box.take(10)] == ["c", "d", "e"]
    assert metrics.dropped["outbox_full"] == 2


async def test_outbox_close_lets_the_publisher_drain_and_exit() -> None:
    box, metrics = outbox()
    box.put("a", b"1")
    box.close()
    box.put("a", b"2")
    await asyncio.wait_for(box.wait(), 1)
    assert box.take(10) == [("a", b"1")]
    await asyncio.wait_for(box.wait(), 1)  # closed: never blocks again
    assert box.take(10) == []
    assert metrics.dropped["stopped"] == 1


async def test_queue_overflow_replaces_backlog_with_one_resync() -> None:
    queue = SubscriberQueue("c", 3, stale=False)
    for n in range(3):
        assert queue.put({"n": n}) == 0
    assert queue.put({"n": 3}) == 4  # three cleared plus the newcomer
    assert len(queue) == 1
    queue.put({"n": 4})
    assert [await queue.get(), await queue.get()] == [Resync("overflow"), {"n": 4}]


async def test_queue_resyncs_do_not_pile_up() -> None:
    queue = SubscriberQueue("c", 3, stale=False)
    queue.put({"n": 1})
    queue.put_resync("reconnect")
    queue.put_resync("reconnect")
    assert len(queue) == 2
    queue.close()
    with pytest.raises(StopAsyncIteration):
        await queue.get()


async def test_late_confirmation_resyncs_subscribers_that_gave_up_waiting() -> None:
    hub = Hub(metrics=MetricsEmitter(None), always_ready=False, ready_timeout=0.05)
    waiting = hub.add("c", 10)
    assert await hub.wait_ready(waiting) is False  # timed out: Redis has not confirmed
    waiting.entered = True
    hub.mark_ready("c")
    assert await waiting.get() == Resync("reconnect")
    hub.mark_all_unready()  # the link broke...
    hub.deliver("c", {"n": 1})
    hub.mark_ready("c")  # ...and came back
    assert [await waiting.get(), await waiting.get()] == [{"n": 1}, Resync("reconnect")]


def test_a_faulty_metrics_hook_does_not_break_the_bus(caplog: pytest.LogCaptureFixture) -> None:
    def broken(amount: int) -> None:
        raise RuntimeError("boom")

    bus = InProcessBus(metrics=BusMetrics(published=broken))
    bus.publish("c", {"n": 1})
    assert "metrics hook" in caplog.text


def test_channel_names() -> None:
    assert workspace_channel(42, "counts") == "ts:ws:42:counts"
    assert workspace_channel("0b7e-ab", "changes") == "ts:ws:0b7e-ab:changes"
    for workspace, topic in [("", "counts"), ("a:b", "counts"), ("1", ""), ("1", "a b")]:
        with pytest.raises(ValueError):
            workspace_channel(workspace, topic)


def test_encoding_round_trip_and_refusals() -> None:
    payload = {"version": 3, "counts": [{"stage": "é", "n": 1}], "none": None}
    assert decode(encode(payload)) == payload
    for bad in [{"x": object()}, {"x": float("inf")}, ["list"]]:
        with pytest.raises(PayloadError):
            encode(bad)  # type: ignore[arg-type]
    for wire in [b"\xff", b"[1]", b"nope"]:
        with pytest.raises(PayloadError):
            decode(wire)


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(0.1, 2.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(12)]
    assert 0.05 <= delays[0] <= 0.1
    assert all(0 < delay <= 2.0 for delay in delays)
    assert all(1.0 <= delay for delay in delays[6:])
    backoff.reset()
    assert backoff.next_delay() <= 0.1


def test_tuning_is_validated_with_the_field_name() -> None:
    with pytest.raises(ValueError, match="socket_timeout"):
        RedisTuning(socket_timeout=0)
    with pytest.raises(ValueError, match="heartbeat_timeout"):
        RedisTuning(heartbeat_interval=2, heartbeat_timeout=1)
    with pytest.raises(TypeError):
        create_bus(None, heartbeat=1)  # a typo fails even without Redis


def test_create_bus_picks_the_implementation() -> None:
    assert isinstance(create_bus(None), InProcessBus)
    assert isinstance(create_bus(""), InProcessBus)
    assert isinstance(create_bus("redis://127.0.0.1:6379/0", heartbeat_interval=0.5), RedisBus)
