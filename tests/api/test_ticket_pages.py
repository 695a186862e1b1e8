"""A page of tickets shows each ticket exactly as the ticket itself does, stage included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from desk.clock import ManualClock
from tests.api.helpers import HISTORY, STAGE, Api

EVERY_FIELD = (
    "id customerId channel subject version createdAt updatedAt lastCustomerMessageAt "
    f"autoCloseAt snoozedUntil snoozedUntilReply wakeOnCustomerReply closedAt botActive "
    f"stage {{ {STAGE} }} {HISTORY}"
)


async def page_and_singles(api: Api) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    data = await api.ok(f"{{ tickets(first: 100) {{ edges {{ node {{ {EVERY_FIELD} }} }} }} }}")
    nodes = [e["node"] for e in data["tickets"]["edges"]]
    singles = []
    for node in nodes:
        one = await api.ok(
            f"query($id: ID!) {{ ticket(id: $id) {{ {EVERY_FIELD} }} }}", {"id": node["id"]}
        )
        singles.append(one["ticket"])
    return nodes, singles


async def test_a_page_shows_every_field_as_the_ticket_does(api: Api, clock: ManualClock) -> None:
    ids = await api.system_ids()
    waiting = await api.create_stage("Waiting", auto_close=False)
    plain = await api.create_ticket(customerId="a", channel="EMAIL", subject="Hi")
    clock.advance(timedelta(minutes=1))
    snoozed = await api.create_ticket(customerId="b", channel="SMS")
    await api.snooze(snoozed["id"], until=clock.now() + timedelta(days=1))
    clock.advance(timedelta(seconds=0.25))
    replied = await api.create_ticket(customerId="c", channel="WEB_CHAT")
    await api.message(replied["id"])
    clock.advance(timedelta(minutes=1))
    closed = await api.create_ticket(customerId="d", stageId=ids["CLOSED"])
    clock.advance(timedelta(minutes=1))
    held = await api.create_ticket(customerId="e", stageId=waiting["id"])
    until_reply = await api.create_ticket(customerId="f")
    await api.snooze(until_reply["id"])
    nodes, singles = await page_and_singles(api)
    assert nodes == singles and len(nodes) == 6
    by_id = {n["id"]: n for n in nodes}
    assert by_id[plain["id"]]["subject"] == "Hi" and by_id[plain["id"]]["autoCloseAt"]
    assert (
        by_id[snoozed["id"]]["snoozedUntil"] and by_id[snoozed["id"]]["stage"]["kind"] == "SNOOZED"
    )
    assert by_id[replied["id"]]["lastCustomerMessageAt"] is not None
    assert by_id[closed["id"]]["botActive"] is True and by_id[closed["id"]]["closedAt"]
    assert (
        by_id[held["id"]]["autoCloseAt"] is None
        and by_id[held["id"]]["stage"]["autoClose"] is False
    )
    assert by_id[until_reply["id"]]["snoozedUntilReply"] is True


async def test_every_ticket_on_a_page_is_in_its_current_stage(api: Api) -> None:
    ids = await api.system_ids()
    assigned = await api.create_stage("Assigned")
    doomed = await api.create_stage("Doomed")
    tickets = [(await api.create_ticket(customerId=f"c{n}"))["id"] for n in range(6)]
    await api.change_stage(tickets[0], assigned["id"])
    await api.change_stage(tickets[1], doomed["id"])
    await api.change_stage(tickets[2], doomed["id"])
    moved = await api.bulk(tickets[3:5], ids["CLOSED"])
    assert len(moved["moved"]) == 2
    await api.update_stage(assigned["id"], name="Taken")
    await api.delete_stage(doomed["id"])
    expected = {
        tickets[0]: "Taken",
        tickets[1]: "Open",
        tickets[2]: "Open",
        tickets[3]: "Closed",
        tickets[4]: "Closed",
        tickets[5]: "Open",
    }
    nodes, singles = await page_and_singles(api)
    assert nodes == singles
    assert {n["id"]: n["stage"]["name"] for n in nodes} == expected
    for node in nodes:
        assert node["stage"]["deleted"] is False
        assert node["stage"]["ticketCount"] == list(expected.values()).count(node["stage"]["name"])
    after = [n["history"][-1]["toStage"]["id"] for n in nodes]
    assert after == [n["stage"]["id"] for n in nodes]


async def test_a_page_of_tickets_in_many_stages_on_every_filter(api: Api) -> None:
    stages = [await api.create_stage(f"S{n}") for n in range(3)]
    for n in range(9):
        await api.create_ticket(customerId=f"c{n % 2}", stageId=stages[n % 3]["id"])
    for stage in stages:
        page = await api.tickets(stageIds=[stage["id"]], customerId="c0")
        assert {e["node"]["stage"]["id"] for e in page["edges"]} <= {stage["id"]}
        assert page["totalCount"] == len(page["edges"]) > 0
