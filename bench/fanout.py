"""Live fan-out: commit-to-delivery latency of stageCounts to 1,000 websocket subscribers.

    .venv/bin/python -m bench.fanout [--quick]

One `ticket-stages serve` process (one uvicorn worker, PostgreSQL + Redis, all private to the
run) with N graphql-transport-ws subscribers of stageCounts, against the raw Starlette app of
bench/fanout_raw.py (one Redis subscription, one asyncpg read, the same JSON text sent to N
sockets). This process commits stage changes through the domain with a Redis bus, noting the
moment each transaction's events are handed to the bus (right after its commit); both servers
hear the same counts channel, and each subscriber notes when a version reaches it. One commit
at a time: the next comes after every subscriber has the previous one. The two fan-outs are
measured one after the other in the same run, with the same client code, so that neither
competes with the other for the machine's two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench import seed
from bench.environment import free_port, private_servers, running, service
from desk.api_keys import authenticate
from desk.events import TOPIC_COUNTS, channel_name
from desk.service import Desk
from desk.tickets import change_stage
from models.database import open_database
from subscriptions import create_bus
from subscriptions.bus import Bus

GOAL_RATIO = 2.0  # our p99 at most twice the raw fan-out's
SUBSCRIPTION = (
    '{"id":"1","type":"subscribe","payload":{"query":"subscription { stageCounts '
    '{ version total channel counts { stage { id name } count } } }"}}'
)
_VERSION = re.compile(rb'"version":\s*(\d+)')


class TimedPublisher:
    """Forwards to the bus and notes when each counts version was handed over (post-commit)."""

    def __init__(self, bus: Bus, counts_channel: str) -> None:
        self.bus = bus
        self.counts_channel = counts_channel
        self.committed: dict[int, float] = {}

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        if channel == self.counts_channel:
            self.committed[int(payload["version"])] = time.perf_counter()
        self.bus.publish(channel, payload)


@dataclass
class Subscribers:
    """N websocket clients; each notes the arrival time of every version it receives."""

    arrivals: dict[int, list[float]] = field(default_factory=dict)
    waiting: dict[int, asyncio.Event] = field(default_factory=dict)
    expected: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def arrived(self, version: int, at: float) -> None:
        times = self.arrivals.setdefault(version, [])
        times.append(at)
        if len(times) >= self.expected and version in self.waiting:
            self.waiting[version].set()

    async def wait_for(self, version: int, timeout: float) -> None:
        event = self.waiting.setdefault(version, asyncio.Event())
        if len(self.arrivals.get(version, [])) >= self.expected:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()

    async def listen(self, connection: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for message in connection:
                at = time.perf_counter()
                raw = message if isinstance(message, bytes) else message.encode()
                found = _VERSION.search(raw)
                if found:
                    self.arrived(int(found.group(1)), at)
                elif b'"ping"' in raw:
                    await connection.send('{"type":"pong"}')


async def _graphql_client(url: str, key: str, subscribers: Subscribers) -> ClientConnection:
    connection = await connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], max_queue=None, compression=None
    )
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}
    await connection.send(json.dumps(init))
    ack = json.loads(await connection.recv())
    assert ack["type"] == "connection_ack", ack
    await connection.send(SUBSCRIPTION)
    first = await connection.recv()  # the snapshot
    assert b"stageCounts" in (first if isinstance(first, bytes) else first.encode()), first
    subscribers.tasks.append(asyncio.create_task(subscribers.listen(connection)))
    return connection


async def _raw_client(url: str, subscribers: Subscribers) -> ClientConnection:
    connection = await connect(url, max_queue=None, compression=None)
    subscribers.tasks.append(asyncio.create_task(subscribers.listen(connection)))
    return connection


@contextlib.asynccontextmanager
async def connected(count: int, open_one: Any) -> AsyncIterator[Subscribers]:
    subscribers = Subscribers(expected=count)
    connections: list[ClientConnection] = []
    try:
        for start in range(0, count, 100):
            batch = min(100, count - start)
            connections += await asyncio.gather(*(open_one(subscribers) for _ in range(batch)))
        yield subscribers
    finally:
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        for task in subscribers.tasks:
            task.cancel()
        await asyncio.gather(*subscribers.tasks, return_exceptions=True)


@contextlib.contextmanager
def raw_fanout(database_url: str, redis_url: str, workspace_id: str) -> Iterator[str]:
    port = free_port()
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "BENCH_WORKSPACE": workspace_id}
    command = [
        sys.executable, "-m", "uvicorn", "bench.fanout_raw:app", "--port", str(port),
        "--no-access-log", "--log-level", "warning", "--ws", "websockets-sansio",
    ]  # fmt: skip
    with running(command, port, env):
        yield f"ws://127.0.0.1:{port}/ws"


async def _commit_rounds(
    desk: Desk, actor: Any, publisher: TimedPublisher, subscribers: Subscribers,
    ticket: str, stages: tuple[str, str], rounds: int,
) -> list[float]:  # fmt: skip
    """One change per round, waiting until every subscriber has it; the latencies in ms."""
    latencies: list[float] = []
    for index in range(rounds):
        await change_stage(desk, actor, ticket, stages[index % 2], None)
        version = max(publisher.committed)
        await subscribers.wait_for(version, timeout=10.0)
        committed = publisher.committed[version]
        latencies += [(at - committed) * 1000 for at in subscribers.arrivals.get(version, [])]
        missing = subscribers.expected - len(subscribers.arrivals.get(version, []))
        latencies += [10_000.0] * missing  # never arrived within 10 s: counted as 10 s
        await asyncio.sleep(0.02)
    return latencies


async def _bus_connections(redis_url: str) -> int:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        clients = await client.client_list()
    finally:
        await client.aclose()
    return sum(1 for c in clients if c.get("name", "").startswith("ticket-stages-bus"))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run(quick: bool) -> dict[str, Any]:
    subscribers_count = 1000
    rounds = 10 if quick else 40
    with private_servers() as servers:
        database = await servers.new_database()
        workspace = await seed.create(database)
        tickets = await seed.tickets(database, workspace, 100)
        stages = (workspace.stages["Assigned"], workspace.stages["In progress"])
        redis_url = servers.redis.url
        with (
            service(database, redis_url) as base,
            raw_fanout(database, redis_url, workspace.id) as raw_url,
        ):
            ours_url = base.replace("http://", "ws://") + "/graphql"
            bus = create_bus(redis_url, client_name="bench-driver")
            await bus.start()
            try:
                async with open_database(database, pool_size=4):
                    actor = await authenticate(workspace.key)
                    assert actor is not None
                    counts = channel_name(workspace.id, TOPIC_COUNTS)
                    publisher = TimedPublisher(bus, counts)
                    desk = Desk(publisher=publisher)

                    async def ours(subs: Subscribers) -> ClientConnection:
                        return await _graphql_client(ours_url, workspace.key, subs)

                    async def raw(subs: Subscribers) -> ClientConnection:
                        return await _raw_client(raw_url, subs)

                    async with connected(10, ours) as few:
                        await _commit_rounds(desk, actor, publisher, few, tickets[0], stages, 3)
                        connections_few = await _bus_connections(redis_url)
                    async with connected(subscribers_count, ours) as many:
                        await _commit_rounds(desk, actor, publisher, many, tickets[0], stages, 3)
                        ours_ms = await _commit_rounds(
                            desk, actor, publisher, many, tickets[0], stages, rounds
                        )
                        connections_many = await _bus_connections(redis_url)
                    async with connected(subscribers_count, raw) as many:
                        await _commit_rounds(desk, actor, publisher, many, tickets[0], stages, 3)
                        raw_ms = await _commit_rounds(
                            desk, actor, publisher, many, tickets[0], stages, rounds
                        )
            finally:
                await bus.stop()
    ours_p99 = _percentile(ours_ms, 0.99)
    baseline_p99 = _percentile(raw_ms, 0.99)
    ratio = ours_p99 / baseline_p99 if baseline_p99 else float("inf")
    return {
        "scenario": f"fanout: stageCounts to {subscribers_count} websockets, commit to delivery",
        "unit": "ms p99",
        "ours": round(ours_p99, 1),
        "baseline": round(baseline_p99, 1),
        "ours_p50": round(statistics.median(ours_ms), 1),
        "ours_p99": round(ours_p99, 1),
        "baseline_p50": round(statistics.median(raw_ms), 1),
        "baseline_p99": round(baseline_p99, 1),
        "ratio": round(ratio, 3),
        "goal": f"p99 <= {GOAL_RATIO:g}x baseline, Redis connections constant",
        "redis_connections": connections_many,
        "redis_connections_10_subscribers": connections_few,
        "deliveries": len(ours_ms),
        "passed": ratio <= GOAL_RATIO and connections_many == connections_few,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    result = asyncio.run(run(args.quick))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
