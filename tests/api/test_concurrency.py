"""Concurrent requests on PostgreSQL, where they really run in parallel (a pool of connections).

The app's asyncpg pool serves the requests of one asyncio.gather at the same time, so these
tests exercise the row locks and the lock order, not a serialised SQLite connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.helpers import Api, codes
from tests.support.databases import PostgresDatabase


@pytest.fixture
def database_url(postgres_database: PostgresDatabase) -> str:
    """PostgreSQL only: this module overrides the sqlite/postgres parametrisation."""
    asyncio.run(postgres_database.truncate())
    return postgres_database.url


async def assert_counts_match_tickets(api: Api) -> dict[str, int]:
    counts = {c["stage"]["id"]: c["count"] for c in (await api.counts())["counts"]}
    for stage_id, count in counts.items():
        assert await api.count_tickets(stageIds=[stage_id]) == count
    assert sum(counts.values()) == await api.count_tickets()
    return counts


async def test_twenty_conflicting_moves_exactly_one_wins(api: Api) -> None:
    ids = await api.system_ids()
    targets = [ids["CLOSED"]] + [(await api.create_stage(f"Stage {n}"))["id"] for n in range(4)]
    ticket = await api.create_ticket()
    version = await api.version()

    payloads = await asyncio.gather(
        *(
            api.change_stage(ticket["id"], targets[n % len(targets)], expected_version=1)
            for n in range(20)
        )
    )

    winners = [p for p in payloads if p["userErrors"] == []]
    losers = [p for p in payloads if p["userErrors"] != []]
    assert len(winners) == 1 and len(losers) == 19
    assert all(codes(p) == ["VERSION_CONFLICT"] and p["ticket"] is None for p in losers)
    won = winners[0]["ticket"]
    assert won["version"] == 2
    after = await api.ticket(ticket["id"])
    assert after["version"] == 2 and after["stage"]["id"] == won["stage"]["id"]
    assert [t["source"] for t in after["history"]] == ["CREATED", "MANUAL"]
    counts = await assert_counts_match_tickets(api)
    assert counts[won["stage"]["id"]] == 1 and counts[ids["OPEN"]] == 0
    assert await api.version() == version + 1


async def test_concurrent_moves_without_expected_version_serialise(api: Api) -> None:
    a = (await api.create_stage("A"))["id"]
    b = (await api.create_stage("B"))["id"]
    ticket = await api.create_ticket()
    payloads = await asyncio.gather(
        *(api.change_stage(ticket["id"], a if n % 2 else b) for n in range(20))
    )
    assert all(p["userErrors"] == [] for p in payloads)
    after = await api.ticket(ticket["id"])
    assert len(after["history"]) == after["version"]
    assert after["version"] == len({p["ticket"]["version"] for p in payloads}) + 1
    for earlier, later in zip(after["history"], after["history"][1:], strict=False):
        assert later["fromStage"]["id"] == earlier["toStage"]["id"]
    await assert_counts_match_tickets(api)


async def test_a_mixed_burst_keeps_the_counters_exact(api: Api) -> None:
    ids = await api.system_ids()
    assigned = (await api.create_stage("Assigned"))["id"]
    doomed = (await api.create_stage("Doomed"))["id"]
    tickets = [(await api.create_ticket(customerId=f"c{n}"))["id"] for n in range(12)]
    in_doomed = [
        (await api.create_ticket(customerId=f"d{n}", stageId=doomed))["id"] for n in range(6)
    ]
    calls: list[Any] = []
    calls += [api.change_stage(t, ids["CLOSED"]) for t in tickets[:3]]
    calls += [api.change_stage(t, assigned) for t in in_doomed[:3]]
    calls += [api.bulk(tickets[:6], assigned), api.bulk(tickets[3:6] + in_doomed, ids["CLOSED"])]
    calls += [api.snooze(t) for t in tickets[6:9]]
    calls += [api.message(t, "CUSTOMER") for t in tickets[6:12]]
    calls += [api.create_ticket_payload(customerId=f"new{n}") for n in range(5)]
    calls += [api.delete_stage(doomed)]
    calls += [api.update_settings(autoClosePeriod="P2D")]

    racing_the_delete = [api.change_stage(t, doomed) for t in tickets[9:12]]
    racing_the_delete += [api.create_ticket_payload(customerId="late", stageId=doomed)]

    payloads = await asyncio.gather(*calls, *racing_the_delete)

    assert all(p["userErrors"] == [] for p in payloads[: len(calls)]), payloads
    assert all(codes(p) in ([], ["NOT_FOUND"]) for p in payloads[len(calls) :]), payloads
    await assert_counts_match_tickets(api)
    assert await api.count_tickets(stageIds=[doomed]) == 0
    for ticket_id in tickets + in_doomed:
        ticket = await api.ticket(ticket_id)
        assert ticket["stage"]["id"] != doomed
        assert len(ticket["history"]) == ticket["version"]
        assert ticket["history"][-1]["toStage"]["id"] == ticket["stage"]["id"]


async def test_concurrent_stage_creates_respect_names_and_the_limit(api: Api) -> None:
    same_name = await asyncio.gather(*(api.create_stage_payload("Pending") for _ in range(10)))
    assert sorted(codes(p) for p in same_name) == [[]] + [["DUPLICATE_NAME"]] * 9
    for n in range(44):
        await api.create_stage(f"Stage {n}")
    burst = await asyncio.gather(*(api.create_stage_payload(f"Burst {n}") for n in range(10)))
    assert sorted(codes(p) for p in burst) == [[]] * 5 + [["LIMIT_EXCEEDED"]] * 5
    stages = await api.stages()
    assert len(stages) == 4 + 50
    assert [s["position"] for s in stages] == list(range(54))
