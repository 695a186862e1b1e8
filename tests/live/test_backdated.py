"""stageCountsAt and stageDurations against what the live API said and hand-computed values."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from desk import backdated
from desk.clock import ManualClock
from models import Channel
from tests.support.graphql import GraphQLClient

COUNTS = "version at channel total counts { stage { id name } count }"
NOW = f"query($c: Channel) {{ stageCounts(channel: $c) {{ {COUNTS} }} }}"
AT = f"query($at: DateTime!, $c: Channel) {{ stageCountsAt(at: $at, channel: $c) {{ {COUNTS} }} }}"
DURATIONS = (
    "query($from: DateTime!, $to: DateTime!, $c: Channel) { stageDurations(from: $from, to: $to, "
    "channel: $c) { stage { name deleted } exits averageSeconds medianSeconds p90Seconds } }"
)
ERRORS = "userErrors { code message }"
CHANNELS = [None, "WHATSAPP", "EMAIL", "SMS"]


class Desk:
    """The scripted steps, through the public API."""

    def __init__(self, gql: GraphQLClient) -> None:
        self.gql = gql

    async def stage(self, name: str) -> str:
        data = await self.gql.ok("{ stages { id name } }")
        return next(s["id"] for s in data["stages"] if s["name"] == name)

    async def ticket(self, channel: str) -> str:
        payload = await self.gql.mutate(
            "mutation($i: CreateTicketInput!) "
            f"{{ createTicket(input: $i) {{ ticket {{ id }} {ERRORS} }} }}",
            {"i": {"customerId": "c", "channel": channel}},
        )
        assert payload["userErrors"] == [], payload
        return str(payload["ticket"]["id"])

    async def move(self, ticket: str, stage: str) -> None:
        payload = await self.gql.mutate(
            f"mutation($i: ChangeStageInput!) {{ changeStage(input: $i) {{ {ERRORS} }} }}",
            {"i": {"ticketId": ticket, "stageId": await self.stage(stage)}},
        )
        assert payload["userErrors"] == [], payload

    async def bulk(self, tickets: list[str], stage: str) -> None:
        payload = await self.gql.mutate(
            f"mutation($i: BulkChangeStageInput!) {{ bulkChangeStage(input: $i) {{ {ERRORS} }} }}",
            {"i": {"ticketIds": tickets, "stageId": await self.stage(stage)}},
        )
        assert payload["userErrors"] == [], payload

    async def snooze(self, ticket: str, until: datetime) -> None:
        payload = await self.gql.mutate(
            f"mutation($i: SnoozeTicketInput!) {{ snoozeTicket(input: $i) {{ {ERRORS} }} }}",
            {"i": {"ticketId": ticket, "until": until.isoformat()}},
        )
        assert payload["userErrors"] == [], payload

    async def reopen(self, ticket: str) -> None:
        payload = await self.gql.mutate(
            f"mutation($i: ReopenTicketInput!) {{ reopenTicket(input: $i) {{ {ERRORS} }} }}",
            {"i": {"ticketId": ticket}},
        )
        assert payload["userErrors"] == [], payload

    async def create_stage(self, name: str) -> None:
        payload = await self.gql.mutate(
            f'mutation {{ createStage(input: {{name: "{name}"}}) {{ {ERRORS} }} }}'
        )
        assert payload["userErrors"] == [], payload

    async def delete_stage(self, name: str) -> None:
        payload = await self.gql.mutate(
            f"mutation($i: DeleteStageInput!) {{ deleteStage(input: $i) {{ {ERRORS} }} }}",
            {"i": {"id": await self.stage(name)}},
        )
        assert payload["userErrors"] == [], payload


def shown(counts: dict[str, Any]) -> dict[str, Any]:
    """What a dashboard shows: the stages in order with their counts, the total, the channel."""
    return {
        "at": counts["at"],
        "channel": counts["channel"],
        "total": counts["total"],
        "counts": [(c["stage"]["id"], c["stage"]["name"], c["count"]) for c in counts["counts"]],
    }


async def test_counts_at_each_recorded_instant_equal_what_stage_counts_said(
    gql: GraphQLClient, clock: ManualClock
) -> None:
    desk = Desk(gql)
    recorded: list[tuple[datetime, str | None, dict[str, Any]]] = []
    versions: list[tuple[datetime, int]] = []

    async def record() -> None:
        for channel in CHANNELS:
            now = (await gql.ok(NOW, {"c": channel}))["stageCounts"]
            recorded.append((clock.now(), channel, shown(now)))
        clock.advance(timedelta(seconds=30))  # nothing happens in between
        for channel in CHANNELS:
            recorded.append((clock.now(), channel, recorded[-len(CHANNELS)][2] | {"at": None}))
        clock.advance(timedelta(minutes=1))

    await record()  # before the first ticket
    a, b, c = [await desk.ticket("WHATSAPP") for _ in range(3)]
    d, e = [await desk.ticket("EMAIL") for _ in range(2)]
    await record()
    await desk.create_stage("Pending")
    await record()
    await desk.move(a, "Pending")
    await desk.move(d, "Pending")
    await record()
    await desk.snooze(b, clock.now() + timedelta(days=1))
    await desk.move(c, "Closed")
    await record()
    await desk.bulk([a, e], "Closed")
    await record()
    await desk.reopen(c)
    await desk.move(b, "Pending")
    await record()
    await desk.delete_stage("Pending")  # b and d go back to Open
    await record()
    f = await desk.ticket("SMS")
    await desk.move(f, "Closed")
    await record()

    assert len({r[0] for r in recorded}) == 2 * 9
    for instant, channel, expected in recorded:
        then = (await gql.ok(AT, {"at": instant.isoformat(), "c": channel}))["stageCountsAt"]
        got = shown(then)
        assert got | {"at": None} == expected | {"at": None}, (instant, channel)
        assert datetime.fromisoformat(then["at"]) == instant
        versions.append((instant, then["version"]))
    ordered = [v for _, v in sorted(versions)]
    assert ordered == sorted(ordered) and ordered[0] == 0 < ordered[-1]


async def test_before_the_workspace_existed_there_is_nothing(
    gql: GraphQLClient, clock: ManualClock
) -> None:
    await Desk(gql).ticket("SMS")
    before = clock.now() - timedelta(days=1)
    then = (await gql.ok(AT, {"at": before.isoformat(), "c": None}))["stageCountsAt"]
    assert then["counts"] == [] and then["total"] == 0 and then["version"] == 0


async def test_both_ways_of_counting_agree(db: str, clock: ManualClock) -> None:
    """Forward from the start of the log and backward from the live counters give one answer."""
    from desk.access import Actor
    from desk.service import Desk as DomainDesk
    from desk.tickets import change_stage, create_ticket
    from models import StageKind
    from tests.conftest import admin_actor

    desk = DomainDesk(clock=clock)
    actor: Actor = await admin_actor(desk)
    from desk.stages import system_stage

    closed = await system_stage(actor.workspace_id, StageKind.CLOSED)
    instants = []
    tickets = []
    for i in range(12):
        channel = Channel.SMS if i % 3 else Channel.EMAIL
        tickets.append(await create_ticket(desk, actor, f"c{i}", channel, None, None))
        if i % 2:
            await change_stage(desk, actor, str(tickets[i // 2].id), str(closed.id), None)
        instants.append(clock.now())
        clock.advance(timedelta(minutes=5))
    for instant in instants:
        for channel in (None, Channel.SMS, Channel.EMAIL):
            forward = await backdated._flow_until(actor.workspace_id, instant, channel)
            backward = await backdated._counters_minus_flow_after(
                actor.workspace_id, instant, channel
            )
            assert {k: v for k, v in forward.items() if v} == {
                k: v for k, v in backward.items() if v
            }


async def test_time_in_stage_against_hand_computed_values(
    gql: GraphQLClient, clock: ManualClock
) -> None:
    desk = Desk(gql)
    await desk.create_stage("Pending")
    start = clock.now()
    one = await desk.ticket("WHATSAPP")
    two = await desk.ticket("WHATSAPP")
    three = await desk.ticket("EMAIL")
    clock.set(start + timedelta(minutes=10))
    await desk.move(one, "Pending")
    clock.set(start + timedelta(minutes=20))
    await desk.move(two, "Pending")
    clock.set(start + timedelta(minutes=30))
    await desk.move(two, "Closed")
    clock.set(start + timedelta(minutes=40))
    await desk.move(one, "Closed")
    clock.set(start + timedelta(minutes=60))
    await desk.move(three, "Closed")

    async def durations(
        begin: datetime, end: datetime, channel: str | None = None
    ) -> dict[str, Any]:
        data = await gql.ok(
            DURATIONS, {"from": begin.isoformat(), "to": end.isoformat(), "c": channel}
        )
        return {d["stage"]["name"]: d for d in data["stageDurations"]}

    every = await durations(start, start + timedelta(hours=1))
    assert list(every) == ["Open", "Closed", "Snoozed", "Auto closed", "Pending"]
    # Open: stays of 10, 20 and 60 minutes
    assert every["Open"]["exits"] == 3
    assert every["Open"]["averageSeconds"] == pytest.approx(1800)
    assert every["Open"]["medianSeconds"] == pytest.approx(1200)
    assert every["Open"]["p90Seconds"] == pytest.approx(1200 + 0.8 * (3600 - 1200))
    # Pending: stays of 30 and 10 minutes
    assert every["Pending"]["exits"] == 2
    assert every["Pending"]["averageSeconds"] == pytest.approx(1200)
    assert every["Pending"]["medianSeconds"] == pytest.approx(1200)
    assert every["Pending"]["p90Seconds"] == pytest.approx(600 + 0.9 * 1200)
    assert every["Closed"] == {
        "stage": {"name": "Closed", "deleted": False},
        "exits": 0,
        "averageSeconds": None,
        "medianSeconds": None,
        "p90Seconds": None,
    }

    # the window's bounds are inclusive: the exit at minute 30 is in, the one at 10 is not
    middle = await durations(start + timedelta(minutes=20), start + timedelta(minutes=40))
    assert middle["Open"]["exits"] == 1 and middle["Open"]["averageSeconds"] == pytest.approx(1200)
    assert middle["Pending"]["exits"] == 2

    email = await durations(start, start + timedelta(hours=1), "EMAIL")
    assert email["Open"]["exits"] == 1 and email["Open"]["p90Seconds"] == pytest.approx(3600)
    assert email["Pending"]["exits"] == 0

    # a deleted stage keeps its history
    await desk.delete_stage("Pending")
    after = await durations(start, start + timedelta(hours=1))
    assert after["Pending"]["stage"]["deleted"] is True and after["Pending"]["exits"] == 2


@pytest.mark.parametrize(
    ("begin", "end"),
    [
        ("2026-01-02T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        ("2025-01-01T00:00:00+00:00", "2026-01-03T00:00:00+00:00"),
    ],
)
async def test_a_bad_window_is_a_validation_error(gql: GraphQLClient, begin: str, end: str) -> None:
    result = await gql.execute(DURATIONS, {"from": begin, "to": end, "c": None})
    assert result.codes == ["VALIDATION"], result.body
