"""stageCounts over real websockets, on the in-process bus and on Redis."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import pytest

from tests.live.conftest import Served, Workspace
from tests.live.wsclient import COUNTS, LiveSocket, counts_of

# protocol-level behaviour does not depend on the database
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SUBSCRIBE = f"subscription($channel: Channel) {{ stageCounts(channel: $channel) {{ {COUNTS} }} }}"
QUERY = f"query($channel: Channel) {{ stageCounts(channel: $channel) {{ {COUNTS} }} }}"
CREATE = (
    "mutation($i: CreateTicketInput!) "
    "{ createTicket(input: $i) { ticket { id } userErrors { code } } }"
)
BULK = (
    "mutation($i: BulkChangeStageInput!) { bulkChangeStage(input: $i) { moved { id } "
    "userErrors { code } } }"
)


def by_name(counts: dict[str, Any]) -> dict[str, int]:
    return {c["stage"]["name"]: c["count"] for c in counts["counts"]}


async def database_counts(workspace: Workspace, channel: str | None = None) -> dict[str, Any]:
    data = await workspace.gql.ok(QUERY, {"channel": channel})
    counts: dict[str, Any] = data["stageCounts"]
    return counts


async def create_ticket(
    workspace: Workspace, channel: str = "WHATSAPP", customer: str = "c"
) -> str:
    payload = await workspace.gql.mutate(
        CREATE, {"i": {"customerId": customer, "channel": channel}}
    )
    assert payload["userErrors"] == []
    return str(payload["ticket"]["id"])


async def stage_ids(workspace: Workspace) -> dict[str, str]:
    data = await workspace.gql.ok("{ stages { id name } }")
    return {s["name"]: s["id"] for s in data["stages"]}


async def silent(live: LiveSocket, operation_id: str, seconds: float = 0.3) -> bool:
    """True when the operation gets no message for a while."""
    await asyncio.sleep(seconds)
    return live.pending(operation_id) == 0


async def test_snapshot_first_then_each_change(server: Served) -> None:
    acme = await server.workspace()
    await create_ticket(acme)
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(SUBSCRIBE)
        first = await counts_of(live, op)
        assert first == await database_counts(acme)
        assert by_name(first)["Open"] == 1

        ticket = await create_ticket(acme)
        second = await counts_of(live, op)
        assert second["version"] > first["version"]
        assert by_name(second)["Open"] == 2 and second["total"] == 2

        closed = (await stage_ids(acme))["Closed"]
        await acme.gql.ok(
            "mutation($i: ChangeStageInput!) { changeStage(input: $i) { userErrors { code } } }",
            {"i": {"ticketId": ticket, "stageId": closed}},
        )
        third = await counts_of(live, op)
        assert third["version"] > second["version"]
        assert by_name(third) | {} == by_name(await database_counts(acme))
        assert by_name(third)["Closed"] == 1
        assert await silent(live, op)


async def test_a_new_stage_appears_and_a_deleted_one_goes(server: Served) -> None:
    acme = await server.workspace()
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(SUBSCRIBE)
        first = await counts_of(live, op)
        created = await acme.gql.mutate(
            'mutation { createStage(input: {name: "Pending"}) '
            "{ stage { id } userErrors { code } } }"
        )
        assert created["userErrors"] == []
        with_stage = await counts_of(live, op)
        assert with_stage["version"] > first["version"]
        assert list(by_name(with_stage)) == ["Open", "Closed", "Snoozed", "Auto closed", "Pending"]
        await acme.gql.mutate(
            "mutation($i: DeleteStageInput!) { deleteStage(input: $i) { userErrors { code } } }",
            {"i": {"id": created["stage"]["id"]}},
        )
        without = await counts_of(live, op)
        assert without["version"] > with_stage["version"]
        assert "Pending" not in by_name(without)


async def test_a_channel_subscriber_sees_only_its_channel(server: Served) -> None:
    acme = await server.workspace()
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(SUBSCRIBE, {"channel": "EMAIL"})
        first = await counts_of(live, op)
        assert first["channel"] == "EMAIL" and first["total"] == 0
        await create_ticket(acme, "WHATSAPP")
        assert await silent(live, op), "a change of another channel is not sent"
        await create_ticket(acme, "EMAIL")
        second = await counts_of(live, op)
        assert second["version"] > first["version"]
        assert second["total"] == 1
        assert second == await database_counts(acme, "EMAIL") | {"version": second["version"]}


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_bulk_move_of_a_thousand_tickets_is_one_message_and_one_read(
    server: Served,
) -> None:
    acme = await server.workspace()
    ids = await create_tickets_at_once(server, acme, 1000)
    closed = (await stage_ids(acme))["Closed"]
    sockets = 20
    async with asyncio.TaskGroup() as group:
        opened = [group.create_task(_subscribed(server, acme)) for _ in range(sockets)]
    try:
        feed = server.app.state.services.live.feed(uuid.UUID(acme.id))
        reads_before = feed.reads
        payload = await acme.gql.mutate(BULK, {"i": {"ticketIds": ids, "stageId": closed}})
        assert len(payload["moved"]) == 1000
        for task in opened:
            live, op, _ = task.result()
            after = await counts_of(live, op)
            assert by_name(after)["Closed"] == 1000 and by_name(after)["Open"] == 0
        await asyncio.sleep(0.3)
        assert all(task.result()[0].pending(task.result()[1]) == 0 for task in opened)
        assert feed.reads - reads_before == 1, "one read for all the subscribers of the process"
    finally:
        for task in opened:
            await task.result()[2].aclose()


async def create_tickets_at_once(server: Served, workspace: Workspace, count: int) -> list[str]:
    """Many tickets created through the domain in one transaction (setup only)."""
    from desk.moves import load_policy
    from desk.stages import system_stage
    from desk.tickets import _insert_ticket
    from models import Channel, StageKind
    from models.database import activate

    desk = server.app.state.services.desk
    workspace_id = uuid.UUID(workspace.id)
    with activate(server.app.state.database):
        policy = await load_policy(workspace_id)
        open_stage = await system_stage(workspace_id, StageKind.OPEN)
        async with desk.transaction() as batch:
            created = [
                await _insert_ticket(
                    workspace_id,
                    f"c{i}",
                    Channel.SMS,
                    None,
                    open_stage,
                    "setup",
                    desk.clock.now(),
                    policy,
                    batch,
                )
                for i in range(count)
            ]
    return [str(t.id) for t in created]


async def _subscribed(server: Served, workspace: Workspace) -> tuple[LiveSocket, str, Any]:
    stack = contextlib.AsyncExitStack()
    live = await stack.enter_async_context(LiveSocket.open(server.url, workspace.key))
    op = await live.subscribe(SUBSCRIBE)
    await counts_of(live, op)
    return live, op, stack


async def test_a_burst_of_separate_changes_is_merged(server: Served) -> None:
    acme = await server.workspace()
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(SUBSCRIBE)
        first = await counts_of(live, op)
        await asyncio.gather(*(create_ticket(acme, customer=f"c{i}") for i in range(50)))
        versions = [first["version"]]
        while True:
            snapshot = await counts_of(live, op)
            versions.append(snapshot["version"])
            if snapshot["total"] == 50:
                break
        assert versions == sorted(set(versions)), "strictly increasing versions"
        assert len(versions) - 1 < 50, "a burst is merged into fewer messages than changes"
        assert snapshot == await database_counts(acme) | {"version": snapshot["version"]}


async def test_workspaces_never_see_each_other(server: Served) -> None:
    acme = await server.workspace("Acme")
    other = await server.workspace("Other")
    async with (
        LiveSocket.open(server.url, acme.key) as a,
        LiveSocket.open(server.url, other.key) as b,
    ):
        op_a = await a.subscribe(SUBSCRIBE)
        op_b = await b.subscribe(SUBSCRIBE)
        await counts_of(a, op_a)
        first_b = await counts_of(b, op_b)
        await create_ticket(acme)
        assert (await counts_of(a, op_a))["total"] == 1
        assert await silent(b, op_b)
        await create_ticket(other)
        assert (await counts_of(b, op_b))["total"] == 1
        assert {c["stage"]["id"] for c in first_b["counts"]}.isdisjoint(
            set((await stage_ids(acme)).values())
        )


@ON_SQLITE
@pytest.mark.parametrize("key", ["not-a-key", None])
async def test_a_bad_or_missing_key_closes_with_4403(server: Served, key: str | None) -> None:
    async with LiveSocket.connect(server.url) as live:
        await live.init(key)
        assert await live.closed_with() == 4403


@ON_SQLITE
async def test_subscribe_before_init_closes_with_4401(server: Served) -> None:
    async with LiveSocket.connect(server.url) as live:
        await live.subscribe(SUBSCRIBE)
        assert await live.closed_with() == 4401


@ON_SQLITE
async def test_at_most_twenty_subscriptions_per_socket(server: Served) -> None:
    acme = await server.workspace()
    async with LiveSocket.open(server.url, acme.key) as live:
        ops = [await live.subscribe(SUBSCRIBE) for _ in range(20)]
        for op in ops:
            await counts_of(live, op)
        refused = await live.subscribe(SUBSCRIBE)
        message = await live.message(refused)
        assert message["type"] == "error"
        assert "limit" in message["payload"][0]["message"].lower()
        await live.complete(ops[0])
        await asyncio.sleep(0.1)
        again = await live.subscribe(SUBSCRIBE)
        assert (await counts_of(live, again))["total"] == 0


@ON_SQLITE
@pytest.mark.parametrize("bus_kind", ["inprocess"], indirect=True)
async def test_a_socket_that_never_sends_connection_init_is_closed_with_4408(
    server: Served,
) -> None:
    async with LiveSocket.connect(server.url) as live:
        assert await live.closed_with(timeout=8) == 4408


async def test_later_snapshots_are_sent_directly_and_read_the_same(server: Served) -> None:
    """After the first message, snapshots skip the per-event GraphQL pipeline; the messages
    are the same as the pipeline's (same shape, same ids, errors still its business)."""
    acme = await server.workspace()
    metrics = server.app.state.services.metrics

    def sent(path: str) -> float:
        return metrics.live_messages.labels(path=path)._value.get()

    async with LiveSocket.open(server.url, acme.key) as live:
        plain = await live.subscribe(SUBSCRIBE)
        aliased = await live.subscribe(
            "subscription { c: stageCounts(channel: EMAIL) { v: version total __typename } }"
        )
        await counts_of(live, plain)
        first = await live.next(aliased)
        assert (sent("graphql"), sent("direct")) == (2, 0)
        for n in range(1, 4):
            await create_ticket(acme, "EMAIL")
            shown = await counts_of(live, plain)
            assert shown == await database_counts(acme)
            message = await live.next(aliased)
            assert message["c"] == {"v": shown["version"], "total": n, "__typename": "StageCounts"}
        assert first["c"]["total"] == 0
        assert (sent("graphql"), sent("direct")) == (2, 6)
