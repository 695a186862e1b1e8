"""HTTP scenarios: the service's GraphQL API against raw Starlette endpoints doing the same work."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from typing import Any

import httpx

from bench import seed, wrk
from bench.environment import Servers, raw_baseline, service

COUNTS_QUERY = "{ stageCounts { version at total counts { stage { id name } count } } }"
TICKETS_QUERY = (
    "{ tickets(first: 50) { edges { node { id customerId channel subject stage { id } version "
    "createdAt updatedAt } } } }"
)
CHANGE_STAGE = (
    '{"query":"mutation($t: ID!, $s: ID!) { changeStage(input: {ticketId: $t, stageId: $s}) '
    '{ ticket { version } userErrors { code } } }","variables":{"t":"%s","s":"%s"}}'
)


def _body(query: str) -> str:
    return json.dumps({"query": query})


def _result(
    scenario: str, ours: float, baseline: float, goal: float, unit: str, **extra: Any
) -> dict[str, Any]:
    ratio = ours / baseline if baseline else 0.0
    return {
        "scenario": scenario,
        "ours": round(ours, 1),
        "baseline": round(baseline, 1),
        "unit": unit,
        "ratio": round(ratio, 3),
        "goal": f">= {goal:.0%} of baseline",
        "passed": ratio >= goal,
        **extra,
    }


async def _counts_json(base: str, key: str) -> bytes:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/graphql", json={"query": COUNTS_QUERY}, headers={"authorization": f"Bearer {key}"}
        )
        response.raise_for_status()
        return response.content


def _throughput(
    url: str, body: str, *, auth: str | None, seconds: float, rounds: int, **kw: Any
) -> float:
    wrk.run(url, body, auth=auth, seconds=1, **kw)  # warm-up
    loads = [wrk.run(url, body, auth=auth, seconds=seconds, **kw) for _ in range(rounds)]
    failed = sum(load.errors for load in loads)
    if failed:  # a rate of failures is no throughput
        raise RuntimeError(f"{url}: {failed} requests failed under load")
    return statistics.median(load.requests_per_second for load in loads)


async def throughput(servers: Servers, quick: bool) -> list[dict[str, Any]]:
    """stageCounts, tickets(first: 50) and changeStage per second, ours vs raw."""
    seconds, rounds = (2.0, 1) if quick else (5.0, 3)
    database = await servers.new_database()
    workspace = await seed.create(database)
    ids = await seed.tickets(database, workspace, 2_000 if quick else 10_000)
    auth = f"Bearer {workspace.key}"
    stages = (workspace.stages["Assigned"], workspace.stages["In progress"])
    results = []
    with service(database, servers.redis.url) as base:
        counts_json = await _counts_json(base, workspace.key)
        with raw_baseline(database, workspace.id, counts_json) as raw:
            ours = _throughput(
                f"{base}/graphql", _body(COUNTS_QUERY), auth=auth, seconds=seconds, rounds=rounds
            )
            theirs = _throughput(f"{raw}/counts", "{}", auth=None, seconds=seconds, rounds=rounds)
            results.append(
                _result("stageCounts over HTTP (32 connections)", ours, theirs, 0.40, "req/s")
            )
            ours = _throughput(
                f"{base}/graphql", _body(TICKETS_QUERY), auth=auth, seconds=seconds, rounds=rounds
            )
            theirs = _throughput(f"{raw}/tickets", "{}", auth=None, seconds=seconds, rounds=rounds)
            results.append(_result("tickets(first: 50) over HTTP", ours, theirs, 0.25, "req/s"))
            ours = _throughput(
                f"{base}/graphql",
                CHANGE_STAGE,
                auth=auth,
                seconds=seconds,
                rounds=rounds,
                ids=ids,
                stages=stages,
            )
            theirs = _throughput(
                f"{raw}/move",
                '{"ticketId":"%s","stageId":"%s"}',
                auth=None,
                seconds=seconds,
                rounds=rounds,
                ids=ids,
                stages=stages,
            )
            results.append(
                _result("changeStage mutations on PostgreSQL", ours, theirs, 0.40, "req/s")
            )
    return results


async def _interleaved_latency(
    base: str, keys: tuple[str, str], samples: int
) -> tuple[float, float]:
    """p50 of stageCounts for two workspaces, requests alternating so background work on the
    server (autovacuum, checkpoints) weighs on both alike."""
    timings: tuple[list[float], list[float]] = ([], [])
    async with httpx.AsyncClient(base_url=base) as client:
        for n in range(samples + 20):
            for side, key in enumerate(keys):
                started = time.perf_counter()
                response = await client.post(
                    "/graphql",
                    json={"query": COUNTS_QUERY},
                    headers={"authorization": f"Bearer {key}"},
                )
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if n >= 20:
                    timings[side].append(elapsed * 1000)
    return statistics.median(timings[0]), statistics.median(timings[1])


async def counts_scaling(servers: Servers, quick: bool) -> list[dict[str, Any]]:
    """stageCounts latency with 1,000,000 tickets vs with 10,000: counters make it constant.

    Over HTTP a repeated query is answered from the process's snapshot; the second row times
    the database read that refreshes it after every change.
    """
    small_n, large_n = (1_000, 100_000) if quick else (10_000, 1_000_000)
    samples = 100 if quick else 400
    database = await servers.new_database()
    small = await seed.create(database, "Small store")
    await seed.tickets(database, small, small_n)
    large = await seed.create(database, "Large store")
    await seed.tickets(database, large, large_n, seed=11)
    await seed.settle(database)
    with service(database, servers.redis.url) as base:
        small_ms, large_ms = await _interleaved_latency(base, (small.key, large.key), samples)
    read_small, read_large = await _interleaved_reads(database, (small.id, large.id), samples)
    return [
        _scaling(
            f"stageCounts p50 latency at {large_n:,} vs {small_n:,} tickets", large_ms, small_ms
        ),
        _scaling(
            f"stageCounts database read (after a change) at {large_n:,} vs {small_n:,} tickets",
            read_large,
            read_small,
        ),
    ]


def _scaling(scenario: str, large_ms: float, small_ms: float) -> dict[str, Any]:
    ratio = large_ms / small_ms
    return {
        "scenario": scenario,
        "ours": round(large_ms, 3),
        "baseline": round(small_ms, 3),
        "unit": "ms",
        "ratio": round(ratio, 3),
        "goal": "<= 1.2",
        "passed": ratio <= 1.2,
    }


async def _interleaved_reads(
    database: str, workspace_ids: tuple[str, str], samples: int
) -> tuple[float, float]:
    """p50 of the read a query waits for after a change (counters and stages, one snapshot)."""
    from desk.live_counts import read_live_counts
    from desk.service import Desk
    from models.database import open_database

    timings: tuple[list[float], list[float]] = ([], [])
    desk = Desk()
    async with open_database(database, pool_size=2):
        for n in range(samples + 20):
            for side, workspace_id in enumerate(workspace_ids):
                started = time.perf_counter()
                await read_live_counts(desk, uuid.UUID(workspace_id))
                if n >= 20:
                    timings[side].append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[0]), statistics.median(timings[1])


if __name__ == "__main__":
    import sys

    from bench.environment import private_servers

    quick = "--quick" in sys.argv

    async def main() -> None:
        with private_servers() as servers:
            for row in await throughput(servers, quick):
                print(row)
            for row in await counts_scaling(servers, quick):
                print(row)

    asyncio.run(main())
