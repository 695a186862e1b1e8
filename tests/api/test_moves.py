"""Stage changes over GraphQL: changeStage, reopenTicket, snoozeTicket and bulkChangeStage."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from desk.clock import ManualClock
from tests.api.helpers import Api, at, codes, problems

PERIOD = timedelta(days=3)


async def setup(api: Api) -> tuple[dict[str, str], dict[str, Any]]:
    """System stage ids by kind plus an "Assigned" stage, and one Open ticket."""
    ids = await api.system_ids()
    ids["ASSIGNED"] = (await api.create_stage("Assigned"))["id"]
    return ids, await api.create_ticket()


def sources(ticket: dict[str, Any]) -> list[str]:
    return [t["source"] for t in ticket["history"]]


# --- changeStage -------------------------------------------------------------------------------


async def test_change_stage_moves_the_ticket_and_its_count(api: Api, clock: ManualClock) -> None:
    ids, ticket = await setup(api)
    version = await api.version()
    clock.advance(timedelta(minutes=5))
    payload = await api.change_stage(ticket["id"], ids["ASSIGNED"], expected_version=1)
    assert payload["userErrors"] == []
    moved = payload["ticket"]
    assert moved["stage"]["name"] == "Assigned" and moved["version"] == 2
    assert at(moved["updatedAt"]) == clock.now() and moved["createdAt"] == ticket["createdAt"]
    history = (await api.ticket(ticket["id"]))["history"]
    assert [
        (t["source"], t["fromStage"] and t["fromStage"]["name"], t["toStage"]["name"])
        for t in history
    ] == [
        ("CREATED", None, "Open"),
        ("MANUAL", "Open", "Assigned"),
    ]
    assert at(history[1]["at"]) == clock.now() and history[1]["actor"] == "admin key"
    counts = await api.counts()
    assert counts["version"] == version + 1
    assert {c["stage"]["name"]: c["count"] for c in counts["counts"]}["Assigned"] == 1
    assert counts["counts"][0]["count"] == 0


async def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(api: Api) -> None:
    ids, ticket = await setup(api)
    await api.change_stage(ticket["id"], ids["ASSIGNED"])
    before = await api.snapshot()
    for target in (ids["CLOSED"], ids["OPEN"], ids["ASSIGNED"]):
        payload = await api.change_stage(ticket["id"], target, expected_version=1)
        assert payload["ticket"] is None
        assert problems(payload) == [("VERSION_CONFLICT", ["expectedVersion"])]
        assert "version 2" in payload["userErrors"][0]["message"]
    assert await api.snapshot() == before
    assert (await api.change_stage(ticket["id"], ids["CLOSED"], expected_version=2))[
        "userErrors"
    ] == []


async def test_moving_to_the_current_stage_is_a_no_op(api: Api, clock: ManualClock) -> None:
    ids, ticket = await setup(api)
    before = await api.snapshot()
    clock.advance(timedelta(minutes=1))
    for expected in (None, 1):
        payload = await api.change_stage(ticket["id"], ids["OPEN"], expected_version=expected)
        assert payload["userErrors"] == []
        assert (
            payload["ticket"]["version"] == 1
            and payload["ticket"]["updatedAt"] == ticket["updatedAt"]
        )
    assert await api.snapshot() == before


async def test_nobody_moves_a_ticket_to_auto_closed_or_snoozed_by_hand(api: Api) -> None:
    ids, ticket = await setup(api)
    before = await api.snapshot()
    for kind in ("AUTO_CLOSED", "SNOOZED"):
        payload = await api.change_stage(ticket["id"], ids[kind])
        assert (
            problems(payload) == [("INVALID_TRANSITION", ["stageId"])] and payload["ticket"] is None
        )
    assert await api.snapshot() == before


async def test_unknown_ticket_or_stage_is_not_found(api: Api) -> None:
    ids, ticket = await setup(api)
    before = await api.snapshot()
    for bad in ("nope", str(uuid.uuid4()), ids["ASSIGNED"]):
        assert problems(await api.change_stage(bad, ids["CLOSED"])) == [("NOT_FOUND", ["ticketId"])]
    for bad in ("nope", str(uuid.uuid4()), ticket["id"]):
        assert problems(await api.change_stage(ticket["id"], bad)) == [("NOT_FOUND", ["stageId"])]
    assert await api.snapshot() == before


async def test_closing_and_leaving_closed_is_a_reopen(api: Api, clock: ManualClock) -> None:
    ids, ticket = await setup(api)
    closed = (await api.change_stage(ticket["id"], ids["CLOSED"]))["ticket"]
    assert closed["botActive"] is True and at(closed["closedAt"]) == clock.now()
    assert closed["autoCloseAt"] is None
    clock.advance(timedelta(days=10))
    reopened = (await api.change_stage(ticket["id"], ids["ASSIGNED"]))["ticket"]
    assert reopened["botActive"] is False and reopened["closedAt"] is None
    assert at(reopened["autoCloseAt"]) == clock.now() + PERIOD
    assert reopened["version"] == 3
    assert sources(await api.ticket(ticket["id"])) == ["CREATED", "MANUAL", "REOPEN"]


# --- reopenTicket ------------------------------------------------------------------------------


async def test_reopen_a_closed_ticket(api: Api, clock: ManualClock) -> None:
    ids, ticket = await setup(api)
    await api.change_stage(ticket["id"], ids["CLOSED"])
    clock.advance(timedelta(days=7))
    stale = await api.reopen(ticket["id"], expected_version=1)
    assert problems(stale) == [("VERSION_CONFLICT", ["expectedVersion"])]
    payload = await api.reopen(ticket["id"], expected_version=2)
    assert payload["userErrors"] == []
    reopened = payload["ticket"]
    assert reopened["stage"]["kind"] == "OPEN" and reopened["version"] == 3
    assert reopened["closedAt"] is None and reopened["botActive"] is False
    assert at(reopened["autoCloseAt"]) == clock.now() + PERIOD
    assert sources(await api.ticket(ticket["id"]))[-1] == "REOPEN"
    version = await api.version()
    again = await api.reopen(ticket["id"])
    assert again["userErrors"] == [] and again["ticket"]["version"] == 3
    assert await api.version() == version


async def test_only_closed_tickets_can_be_reopened(api: Api) -> None:
    ids, ticket = await setup(api)
    await api.change_stage(ticket["id"], ids["ASSIGNED"])
    snoozed = await api.create_ticket(customerId="s")
    await api.snooze(snoozed["id"])
    before = await api.snapshot()
    assert problems(await api.reopen(ticket["id"])) == [("INVALID_TRANSITION", ["ticketId"])]
    assert problems(await api.reopen(snoozed["id"])) == [("INVALID_TRANSITION", ["ticketId"])]
    assert problems(await api.reopen("nope")) == [("NOT_FOUND", ["ticketId"])]
    assert await api.snapshot() == before


# --- snoozeTicket ------------------------------------------------------------------------------


async def test_snooze_until_a_time(api: Api, clock: ManualClock) -> None:
    _, ticket = await setup(api)
    until = clock.now() + timedelta(days=2)
    payload = await api.snooze(
        ticket["id"], until, wake_on_customer_reply=False, expected_version=1
    )
    assert payload["userErrors"] == []
    snoozed = payload["ticket"]
    assert snoozed["stage"]["kind"] == "SNOOZED" and snoozed["version"] == 2
    assert at(snoozed["snoozedUntil"]) == until and snoozed["snoozedUntilReply"] is False
    assert snoozed["wakeOnCustomerReply"] is False
    assert snoozed["autoCloseAt"] is None and snoozed["botActive"] is False
    assert sources(await api.ticket(ticket["id"])) == ["CREATED", "SNOOZE"]


async def test_snooze_until_the_customer_replies(api: Api) -> None:
    _, ticket = await setup(api)
    snoozed = (await api.snooze(ticket["id"], None, wake_on_customer_reply=False))["ticket"]
    assert snoozed["stage"]["kind"] == "SNOOZED" and snoozed["snoozedUntil"] is None
    assert snoozed["snoozedUntilReply"] is True and snoozed["wakeOnCustomerReply"] is True


async def test_snooze_accepts_exactly_one_year_ahead(api: Api, clock: ManualClock) -> None:
    _, ticket = await setup(api)
    until = clock.now() + timedelta(days=365)
    assert at((await api.snooze(ticket["id"], until))["ticket"]["snoozedUntil"]) == until


async def test_bad_snoozes_are_refused_and_change_nothing(api: Api, clock: ManualClock) -> None:
    ids, ticket = await setup(api)
    closed = await api.create_ticket(customerId="closed", stageId=ids["CLOSED"])
    now = clock.now()
    before = await api.snapshot()
    for until in (now, now - timedelta(seconds=1), now + timedelta(days=365, seconds=1)):
        assert problems(await api.snooze(ticket["id"], until)) == [("VALIDATION", ["until"])]
    assert problems(await api.snooze(ticket["id"], expected_version=7)) == [
        ("VERSION_CONFLICT", ["expectedVersion"])
    ]
    assert problems(await api.snooze(closed["id"])) == [("INVALID_TRANSITION", ["ticketId"])]
    assert problems(await api.snooze("nope")) == [("NOT_FOUND", ["ticketId"])]
    naive = await api.execute(
        'mutation { snoozeTicket(input: {ticketId: "x", until: "2030-01-01T00:00:00"}) '
        "{ ticket { id } } }"
    )
    assert naive.data is None and naive.codes == ["BAD_REQUEST"]
    assert await api.snapshot() == before


async def test_snoozing_again_changes_the_wake_rule_without_a_transition(
    api: Api, clock: ManualClock
) -> None:
    _, ticket = await setup(api)
    await api.snooze(ticket["id"], clock.now() + timedelta(days=1))
    version = await api.version()
    later = clock.now() + timedelta(days=5)
    again = (await api.snooze(ticket["id"], later, wake_on_customer_reply=False))["ticket"]
    assert at(again["snoozedUntil"]) == later and again["wakeOnCustomerReply"] is False
    assert again["version"] == 2
    assert sources(await api.ticket(ticket["id"])) == ["CREATED", "SNOOZE"]
    assert await api.version() == version


async def test_an_agent_wakes_a_snoozed_ticket_by_moving_it(api: Api, clock: ManualClock) -> None:
    ids, ticket = await setup(api)
    await api.snooze(ticket["id"], clock.now() + timedelta(days=1))
    clock.advance(timedelta(hours=3))
    woken = (await api.change_stage(ticket["id"], ids["ASSIGNED"]))["ticket"]
    assert woken["snoozedUntil"] is None and woken["stage"]["name"] == "Assigned"
    assert at(woken["autoCloseAt"]) == clock.now() + PERIOD
    full = await api.ticket(ticket["id"])
    assert full["snoozedUntilReply"] is False and full["wakeOnCustomerReply"] is True


# --- bulkChangeStage ---------------------------------------------------------------------------


async def test_bulk_moves_reports_each_ticket_and_bumps_the_version_once(api: Api) -> None:
    ids, first = await setup(api)
    tickets = [first] + [await api.create_ticket(customerId=f"c{n}") for n in range(3)]
    already = await api.create_ticket(customerId="already", stageId=ids["ASSIGNED"])
    closed = await api.create_ticket(customerId="closed", stageId=ids["CLOSED"])
    version = await api.version()
    unknown = str(uuid.uuid4())
    request = [t["id"] for t in tickets] + [
        already["id"],
        closed["id"],
        "garbage",
        unknown,
        tickets[0]["id"],
    ]

    payload = await api.bulk(request, ids["ASSIGNED"])

    assert payload["userErrors"] == []
    assert sorted(t["id"] for t in payload["moved"]) == sorted(
        [t["id"] for t in tickets] + [closed["id"]]
    )
    assert all(t["stage"]["name"] == "Assigned" and t["version"] == 2 for t in payload["moved"])
    assert payload["unchanged"] == [already["id"]]
    assert sorted((f["ticketId"], f["code"]) for f in payload["failed"]) == sorted(
        [("garbage", "NOT_FOUND"), (unknown, "NOT_FOUND")]
    )
    assert await api.version() == version + 1
    assert sources(await api.ticket(tickets[1]["id"])) == ["CREATED", "BULK"]
    reopened = await api.ticket(closed["id"])
    assert sources(reopened) == ["CREATED", "REOPEN"] and reopened["closedAt"] is None
    assert await api.count_tickets(stageIds=[ids["ASSIGNED"]]) == 6
    counts = {c["stage"]["name"]: c["count"] for c in (await api.counts())["counts"]}
    assert counts == {"Open": 0, "Closed": 0, "Snoozed": 0, "Auto closed": 0, "Assigned": 6}


async def test_bulk_with_nothing_to_move_changes_nothing(api: Api) -> None:
    ids, ticket = await setup(api)
    before = await api.snapshot()
    payload = await api.bulk([ticket["id"], "nope"], ids["OPEN"])
    assert payload["moved"] == [] and payload["unchanged"] == [ticket["id"]]
    assert [f["ticketId"] for f in payload["failed"]] == ["nope"]
    empty = await api.bulk([], ids["CLOSED"])
    assert empty == {"moved": [], "unchanged": [], "failed": [], "userErrors": []}
    assert await api.snapshot() == before


async def test_bulk_counts_a_ticket_named_twice_once(api: Api) -> None:
    ids, ticket = await setup(api)
    payload = await api.bulk([ticket["id"], ticket["id"].upper(), ticket["id"]], ids["CLOSED"])
    assert [t["id"] for t in payload["moved"]] == [ticket["id"]]
    assert payload["failed"] == []
    moved = await api.ticket(ticket["id"])
    assert moved["version"] == 2 and sources(moved) == ["CREATED", "BULK"]
    counts = {c["stage"]["name"]: c["count"] for c in (await api.counts())["counts"]}
    assert counts["Closed"] == 1 and counts["Open"] == 0
    assert await api.count_tickets(stageIds=[ids["CLOSED"]]) == 1


async def test_bulk_limit_and_bad_targets_move_nothing(api: Api) -> None:
    ids, ticket = await setup(api)
    before = await api.snapshot()
    too_many = [ticket["id"]] + [str(uuid.uuid4()) for _ in range(1000)]
    payload = await api.bulk(too_many, ids["CLOSED"])
    assert problems(payload) == [("LIMIT_EXCEEDED", ["ticketIds"])]
    assert payload["moved"] == [] and payload["failed"] == []
    for kind in ("SNOOZED", "AUTO_CLOSED"):
        assert codes(await api.bulk([ticket["id"]], ids[kind])) == ["INVALID_TRANSITION"]
    assert problems(await api.bulk([ticket["id"]], "nope")) == [("NOT_FOUND", ["stageId"])]
    assert await api.snapshot() == before


async def test_bulk_of_exactly_one_thousand_ids(api: Api) -> None:
    ids, ticket = await setup(api)
    request = [ticket["id"]] + [str(uuid.uuid4()) for _ in range(999)]
    payload = await api.bulk(request, ids["CLOSED"])
    assert payload["userErrors"] == [] and [t["id"] for t in payload["moved"]] == [ticket["id"]]
    assert len(payload["failed"]) == 999
