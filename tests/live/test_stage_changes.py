"""stageChanges over real websockets, on both buses."""

from __future__ import annotations

import asyncio

from tests.live.conftest import Served
from tests.live.test_stage_counts import create_ticket, stage_ids
from tests.live.wsclient import LiveSocket

CHANGES = (
    "subscription($stage: ID) { stageChanges(stageId: $stage) { "
    "ticket { id version stage { name } } "
    "transition { id ticketId fromStage { name } toStage { name } source actor at } } }"
)
MOVE = "mutation($i: ChangeStageInput!) { changeStage(input: $i) { userErrors { code } } }"


async def test_every_transition_with_its_ticket(server: Served) -> None:
    acme = await server.workspace()
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(CHANGES)
        await asyncio.sleep(0.1)  # the subscription is set up before the first change
        ticket = await create_ticket(acme)
        created = (await live.next(op))["stageChanges"]
        assert created["ticket"]["id"] == ticket
        assert created["transition"]["source"] == "CREATED"
        assert created["transition"]["fromStage"] is None
        assert created["transition"]["toStage"]["name"] == "Open"

        closed = (await stage_ids(acme))["Closed"]
        await acme.gql.ok(MOVE, {"i": {"ticketId": ticket, "stageId": closed}})
        moved = (await live.next(op))["stageChanges"]
        assert moved["transition"]["fromStage"]["name"] == "Open"
        assert moved["transition"]["toStage"]["name"] == "Closed"
        assert moved["transition"]["actor"] == "Admin" or moved["transition"]["actor"]
        assert moved["ticket"]["stage"]["name"] == "Closed" and moved["ticket"]["version"] == 2
        assert int(moved["transition"]["id"]) > int(created["transition"]["id"])


async def test_a_stage_filter_keeps_moves_into_or_out_of_that_stage(server: Served) -> None:
    acme = await server.workspace()
    stages = await stage_ids(acme)
    first = await create_ticket(acme)
    second = await create_ticket(acme)
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(CHANGES, {"stage": stages["Closed"]})
        await asyncio.sleep(0.1)
        await acme.gql.ok(MOVE, {"i": {"ticketId": first, "stageId": stages["Snoozed"]}})
        await acme.gql.ok(MOVE, {"i": {"ticketId": second, "stageId": stages["Closed"]}})
        await acme.gql.ok(MOVE, {"i": {"ticketId": second, "stageId": stages["Open"]}})
        into = (await live.next(op))["stageChanges"]["transition"]
        out = (await live.next(op))["stageChanges"]["transition"]
        assert (into["ticketId"], into["toStage"]["name"]) == (second, "Closed")
        assert (out["ticketId"], out["fromStage"]["name"]) == (second, "Closed")
        await asyncio.sleep(0.2)
        assert live.pending(op) == 0


async def test_a_bulk_move_sends_every_transition_once(server: Served) -> None:
    acme = await server.workspace()
    ids = [await create_ticket(acme, customer=f"c{i}") for i in range(60)]
    closed = (await stage_ids(acme))["Closed"]
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(CHANGES)
        await asyncio.sleep(0.1)
        await acme.gql.ok(
            "mutation($i: BulkChangeStageInput!) "
            "{ bulkChangeStage(input: $i) { userErrors { code } } }",
            {"i": {"ticketIds": ids, "stageId": closed}},
        )
        seen = [(await live.next(op))["stageChanges"] for _ in ids]
        assert sorted(c["ticket"]["id"] for c in seen) == sorted(ids)
        assert {c["transition"]["source"] for c in seen} == {"BULK"}
        await asyncio.sleep(0.2)
        assert live.pending(op) == 0


async def test_another_workspaces_stage_is_not_found_and_its_changes_never_arrive(
    server: Served,
) -> None:
    acme = await server.workspace("Acme")
    other = await server.workspace("Other")
    foreign = (await stage_ids(other))["Open"]
    async with LiveSocket.open(server.url, acme.key) as live:
        refused = await live.subscribe(CHANGES, {"stage": foreign})
        message = await live.message(refused)
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND", message
        assert errors[0]["message"] == "stage not found"
        op = await live.subscribe(CHANGES)
        await asyncio.sleep(0.1)
        await create_ticket(other)
        await asyncio.sleep(0.3)
        assert live.pending(op) == 0
        await create_ticket(acme)
        assert (await live.next(op))["stageChanges"]["transition"]["source"] == "CREATED"
