"""recordMessage and the auto-close schedule it drives, per stage, channel and setting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from desk.clock import ManualClock
from tests.api.helpers import Api, at, problems

PERIOD = timedelta(days=3)


def sources(ticket: dict[str, Any]) -> list[str]:
    return [t["source"] for t in ticket["history"]]


async def test_a_customer_message_reschedules_auto_close(api: Api, clock: ManualClock) -> None:
    ticket = await api.create_ticket()
    version = await api.version()
    clock.advance(timedelta(days=1))
    sent = clock.now() - timedelta(hours=1)
    payload = await api.message(ticket["id"], "CUSTOMER", sent)
    assert payload["userErrors"] == []
    updated = payload["ticket"]
    assert at(updated["lastCustomerMessageAt"]) == sent
    assert at(updated["autoCloseAt"]) == sent + PERIOD
    assert updated["version"] == 1 and updated["stage"]["kind"] == "OPEN"
    assert sources(await api.ticket(ticket["id"])) == ["CREATED"]
    assert await api.version() == version


async def test_agent_and_bot_messages_do_not_count(api: Api, clock: ManualClock) -> None:
    ticket = await api.create_ticket()
    clock.advance(timedelta(days=1))
    for author in ("AGENT", "BOT"):
        payload = await api.message(ticket["id"], author)
        assert payload["userErrors"] == []
        assert payload["ticket"]["lastCustomerMessageAt"] is None
        assert payload["ticket"]["autoCloseAt"] == ticket["autoCloseAt"]


async def test_an_older_customer_message_does_not_move_anything_back(
    api: Api, clock: ManualClock
) -> None:
    ticket = await api.create_ticket()
    clock.advance(timedelta(days=2))
    newest = clock.now()
    await api.message(ticket["id"], "CUSTOMER", newest)
    late_report = (await api.message(ticket["id"], "CUSTOMER", newest - timedelta(hours=5)))[
        "ticket"
    ]
    assert at(late_report["lastCustomerMessageAt"]) == newest
    assert at(late_report["autoCloseAt"]) == newest + PERIOD
    before_creation = await api.create_ticket(customerId="other")
    old = (await api.message(before_creation["id"], "CUSTOMER", newest - timedelta(days=9)))[
        "ticket"
    ]
    assert at(old["lastCustomerMessageAt"]) == newest - timedelta(days=9)
    assert old["autoCloseAt"] == before_creation["autoCloseAt"]


async def test_sent_at_at_most_five_minutes_ahead(api: Api, clock: ManualClock) -> None:
    ticket = await api.create_ticket()
    before = await api.snapshot()
    too_late = clock.now() + timedelta(minutes=5, seconds=1)
    assert problems(await api.message(ticket["id"], "CUSTOMER", too_late)) == [
        ("VALIDATION", ["sentAt"])
    ]
    assert problems(await api.message("nope", "CUSTOMER")) == [("NOT_FOUND", ["ticketId"])]
    naive = await api.execute(
        "mutation($i: RecordMessageInput!) { recordMessage(input: $i) { ticket { id } } }",
        {"i": {"ticketId": ticket["id"], "author": "CUSTOMER", "sentAt": "2026-01-05T09:00:00"}},
    )
    assert naive.data is None and naive.codes == ["BAD_REQUEST"]
    assert await api.snapshot() == before
    just_in_time = clock.now() + timedelta(minutes=5)
    updated = (await api.message(ticket["id"], "CUSTOMER", just_in_time))["ticket"]
    assert at(updated["lastCustomerMessageAt"]) == just_in_time


async def test_a_customer_reply_wakes_a_snoozed_ticket(api: Api, clock: ManualClock) -> None:
    timed = await api.create_ticket(customerId="timed")
    until_reply = await api.create_ticket(customerId="until-reply")
    await api.snooze(timed["id"], clock.now() + timedelta(days=2))
    await api.snooze(until_reply["id"], None)
    clock.advance(timedelta(hours=6))
    version = await api.version()
    for ticket in (timed, until_reply):
        woken = (await api.message(ticket["id"], "CUSTOMER"))["ticket"]
        assert woken["stage"]["kind"] == "OPEN" and woken["version"] == 3
        assert woken["snoozedUntil"] is None
        assert at(woken["autoCloseAt"]) == clock.now() + PERIOD
        assert at(woken["lastCustomerMessageAt"]) == clock.now()
        full = await api.ticket(ticket["id"])
        assert sources(full) == ["CREATED", "SNOOZE", "CUSTOMER_REPLY"]
        assert full["history"][-1]["actor"] == "admin key"
        assert full["snoozedUntilReply"] is False
    assert await api.version() == version + 2


async def test_no_wake_on_reply_keeps_the_ticket_snoozed(api: Api, clock: ManualClock) -> None:
    ticket = await api.create_ticket()
    until = clock.now() + timedelta(days=2)
    await api.snooze(ticket["id"], until, wake_on_customer_reply=False)
    clock.advance(timedelta(hours=1))
    version = await api.version()
    still = (await api.message(ticket["id"], "CUSTOMER"))["ticket"]
    assert still["stage"]["kind"] == "SNOOZED" and still["version"] == 2
    assert at(still["snoozedUntil"]) == until and still["autoCloseAt"] is None
    assert at(still["lastCustomerMessageAt"]) == clock.now()
    assert await api.version() == version


async def test_agent_messages_do_not_wake_a_snoozed_ticket(api: Api) -> None:
    ticket = await api.create_ticket()
    await api.snooze(ticket["id"], None)
    for author in ("AGENT", "BOT"):
        assert (await api.message(ticket["id"], author))["ticket"]["stage"]["kind"] == "SNOOZED"


async def closed_ticket(api: Api, policy: str) -> dict[str, Any]:
    payload = await api.update_settings(closedReplyPolicy=policy)
    assert payload["userErrors"] == [] and payload["settings"]["closedReplyPolicy"] == policy
    closed = (await api.system_ids())["CLOSED"]
    return dict(await api.create_ticket(customerId="cust-7", channel="INSTAGRAM", stageId=closed))


async def test_closed_reply_policy_bot_keeps_the_ticket_closed(
    api: Api, clock: ManualClock
) -> None:
    ticket = await closed_ticket(api, "BOT")
    clock.advance(timedelta(hours=1))
    version = await api.version()
    payload = await api.message(ticket["id"], "CUSTOMER")
    kept = payload["ticket"]
    assert kept["id"] == ticket["id"] and kept["stage"]["kind"] == "CLOSED"
    assert kept["botActive"] is True and kept["version"] == 1 and kept["autoCloseAt"] is None
    assert at(kept["lastCustomerMessageAt"]) == clock.now()
    assert await api.version() == version and await api.count_tickets() == 1


async def test_closed_reply_policy_reopen(api: Api, clock: ManualClock) -> None:
    ticket = await closed_ticket(api, "REOPEN")
    clock.advance(timedelta(hours=1))
    reopened = (await api.message(ticket["id"], "CUSTOMER"))["ticket"]
    assert reopened["id"] == ticket["id"] and reopened["stage"]["kind"] == "OPEN"
    assert reopened["botActive"] is False and reopened["closedAt"] is None
    assert reopened["version"] == 2 and at(reopened["autoCloseAt"]) == clock.now() + PERIOD
    assert sources(await api.ticket(ticket["id"])) == ["CREATED", "REOPEN"]
    agent = (await api.change_stage(ticket["id"], (await api.system_ids())["CLOSED"]))["ticket"]
    assert (await api.message(agent["id"], "AGENT"))["ticket"]["stage"]["kind"] == "CLOSED"


async def test_closed_reply_policy_new_ticket(api: Api, clock: ManualClock) -> None:
    ticket = await closed_ticket(api, "NEW_TICKET")
    clock.advance(timedelta(hours=1))
    version = await api.version()
    sent = clock.now() - timedelta(minutes=2)
    fresh = (await api.message(ticket["id"], "CUSTOMER", sent))["ticket"]
    assert fresh["id"] != ticket["id"]
    assert (fresh["customerId"], fresh["channel"]) == ("cust-7", "INSTAGRAM")
    assert fresh["stage"]["kind"] == "OPEN" and fresh["version"] == 1
    assert at(fresh["createdAt"]) == clock.now()
    assert at(fresh["lastCustomerMessageAt"]) == sent
    assert at(fresh["autoCloseAt"]) == clock.now() + PERIOD
    assert sources(await api.ticket(fresh["id"])) == ["CREATED"]
    old = await api.ticket(ticket["id"])
    assert old["stage"]["kind"] == "CLOSED" and old["version"] == 1
    assert await api.count_tickets(customerId="cust-7") == 2
    assert await api.version() == version + 1
    counts = {c["stage"]["kind"]: c["count"] for c in (await api.counts())["counts"]}
    assert counts["OPEN"] == 1 and counts["CLOSED"] == 1


async def test_paused_stage_keeps_its_tickets_out_of_auto_close(
    api: Api, clock: ManualClock
) -> None:
    waiting = await api.create_stage("Waiting on supplier", auto_close=False)
    ticket = await api.create_ticket()
    clock.advance(timedelta(hours=1))
    parked = (await api.change_stage(ticket["id"], waiting["id"]))["ticket"]
    assert parked["autoCloseAt"] is None
    assert (await api.message(ticket["id"], "CUSTOMER"))["ticket"]["autoCloseAt"] is None
    clock.advance(timedelta(days=5))
    resumed = (await api.update_stage(waiting["id"], autoClose=True))["stage"]
    assert resumed["autoClose"] is True
    assert at((await api.ticket(ticket["id"]))["autoCloseAt"]) == clock.now() + PERIOD
    clock.advance(timedelta(hours=2))
    await api.update_stage(waiting["id"], autoClose=False)
    assert (await api.ticket(ticket["id"]))["autoCloseAt"] is None
    clock.advance(timedelta(hours=2))
    back = (await api.change_stage(ticket["id"], (await api.system_ids())["OPEN"]))["ticket"]
    assert at(back["autoCloseAt"]) == clock.now() + PERIOD


async def test_moving_between_eligible_stages_keeps_the_running_period(
    api: Api, clock: ManualClock
) -> None:
    assigned = await api.create_stage("Assigned")
    ticket = await api.create_ticket()
    clock.advance(timedelta(hours=7))
    moved = (await api.change_stage(ticket["id"], assigned["id"]))["ticket"]
    assert moved["autoCloseAt"] == ticket["autoCloseAt"]


async def test_per_channel_period_and_changing_the_period_reschedules(
    api: Api, clock: ManualClock
) -> None:
    whatsapp = await api.create_ticket(channel="WHATSAPP")
    email = await api.create_ticket(channel="EMAIL")
    snoozed = await api.create_ticket(channel="EMAIL", customerId="snoozed")
    await api.snooze(snoozed["id"], None)
    created = at(whatsapp["createdAt"])
    assert created is not None
    clock.advance(timedelta(hours=1))
    await api.message(email["id"], "CUSTOMER")
    replied = clock.now()

    payload = await api.update_settings(
        autoClosePeriodByChannel=[{"channel": "WHATSAPP", "period": "PT12H"}]
    )
    assert payload["userErrors"] == []
    assert at((await api.ticket(whatsapp["id"]))["autoCloseAt"]) == created + timedelta(hours=12)
    assert at((await api.ticket(email["id"]))["autoCloseAt"]) == replied + PERIOD

    await api.update_settings(autoClosePeriod="P1D")
    assert at((await api.ticket(whatsapp["id"]))["autoCloseAt"]) == created + timedelta(hours=12)
    assert at((await api.ticket(email["id"]))["autoCloseAt"]) == replied + timedelta(days=1)
    assert (await api.ticket(snoozed["id"]))["autoCloseAt"] is None

    later = await api.create_ticket(channel="WHATSAPP", customerId="later")
    assert at(later["autoCloseAt"]) == clock.now() + timedelta(hours=12)

    await api.update_settings(autoClosePeriodByChannel=[])
    assert at((await api.ticket(whatsapp["id"]))["autoCloseAt"]) == created + timedelta(days=1)


async def test_auto_close_disabled_means_no_auto_close_time(api: Api, clock: ManualClock) -> None:
    ticket = await api.create_ticket()
    await api.update_settings(autoCloseEnabled=False)
    assert (await api.ticket(ticket["id"]))["autoCloseAt"] is None
    fresh = await api.create_ticket(customerId="fresh")
    assert fresh["autoCloseAt"] is None
    clock.advance(timedelta(hours=1))
    await api.message(ticket["id"], "CUSTOMER")
    assert (await api.ticket(ticket["id"]))["autoCloseAt"] is None
    await api.update_settings(autoCloseEnabled=True)
    assert at((await api.ticket(ticket["id"]))["autoCloseAt"]) == clock.now() + PERIOD
    assert at((await api.ticket(fresh["id"]))["autoCloseAt"]) == at(fresh["createdAt"]) + PERIOD


async def test_deleting_a_paused_stage_restarts_the_clock_of_its_tickets(
    api: Api, clock: ManualClock
) -> None:
    paused = await api.create_stage("Paused", auto_close=False)
    running = await api.create_stage("Running")
    in_paused = await api.create_ticket(stageId=paused["id"])
    in_running = await api.create_ticket(customerId="r", stageId=running["id"])
    clock.advance(timedelta(days=1))
    await api.delete_stage(paused["id"])
    await api.delete_stage(running["id"])
    assert at((await api.ticket(in_paused["id"]))["autoCloseAt"]) == clock.now() + PERIOD
    assert (await api.ticket(in_running["id"]))["autoCloseAt"] == in_running["autoCloseAt"]
