"""Tickets over GraphQL: creation and its validation, one ticket, lists with filters and cursors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from desk.clock import ManualClock
from tests.api.helpers import CHANNELS, Api, at, problems


async def test_create_ticket_starts_in_open_with_a_created_transition(
    api: Api, clock: ManualClock
) -> None:
    version = await api.version()
    ticket = await api.create_ticket(
        customerId="cust-42", channel="EMAIL", subject="Where is my order?"
    )
    now = clock.now()
    assert ticket["customerId"] == "cust-42" and ticket["channel"] == "EMAIL"
    assert ticket["subject"] == "Where is my order?"
    assert ticket["stage"]["kind"] == "OPEN" and ticket["version"] == 1
    assert at(ticket["createdAt"]) == now and at(ticket["updatedAt"]) == now
    assert at(ticket["autoCloseAt"]) == now + timedelta(days=3)
    assert ticket["lastCustomerMessageAt"] is None and ticket["snoozedUntil"] is None
    assert ticket["closedAt"] is None and ticket["botActive"] is False
    history = (await api.ticket(ticket["id"]))["history"]
    assert len(history) == 1
    created = history[0]
    assert created["source"] == "CREATED" and created["fromStage"] is None
    assert created["toStage"]["name"] == "Open" and created["ticketId"] == ticket["id"]
    assert created["actor"] == "admin key" and at(created["at"]) == now
    counts = await api.counts()
    assert counts["version"] == version + 1 and counts["total"] == 1
    assert at(counts["at"]) == now and counts["channel"] is None
    by_channel = await api.counts("EMAIL")
    assert by_channel["channel"] == "EMAIL" and by_channel["total"] == 1
    assert (await api.counts("SMS"))["total"] == 0
    assert counts["counts"][0] == {
        "stage": {"id": ticket["stage"]["id"], "name": "Open", "kind": "OPEN"},
        "count": 1,
    }


async def test_create_ticket_in_a_chosen_stage(api: Api, clock: ManualClock) -> None:
    assigned = await api.create_stage("Assigned")
    waiting = await api.create_stage("Waiting", auto_close=False)
    closed = (await api.system_ids())["CLOSED"]
    in_assigned = await api.create_ticket(stageId=assigned["id"])
    assert in_assigned["stage"]["name"] == "Assigned" and in_assigned["autoCloseAt"] is not None
    in_waiting = await api.create_ticket(stageId=waiting["id"])
    assert in_waiting["stage"]["name"] == "Waiting" and in_waiting["autoCloseAt"] is None
    in_closed = await api.create_ticket(stageId=closed)
    assert in_closed["botActive"] is True and at(in_closed["closedAt"]) == clock.now()
    assert in_closed["autoCloseAt"] is None


async def test_every_channel_is_accepted(api: Api) -> None:
    for channel in CHANNELS:
        assert (await api.create_ticket(channel=channel))["channel"] == channel
    assert await api.count_tickets() == len(CHANNELS)


async def test_boundary_lengths_are_accepted(api: Api) -> None:
    ticket = await api.create_ticket(customerId="c" * 128, subject="s" * 200)
    assert len(ticket["customerId"]) == 128 and len(ticket["subject"]) == 200
    blank_subject = await api.create_ticket(subject="   ")
    assert blank_subject["subject"] is None
    no_subject = await api.create_ticket()
    assert no_subject["subject"] is None


async def test_bad_ticket_input_is_refused_and_changes_nothing(api: Api) -> None:
    await api.create_ticket()
    ids = await api.system_ids()
    before = await api.snapshot()
    cases = [
        ({"customerId": ""}, ("VALIDATION", ["customerId"])),
        ({"customerId": "   "}, ("VALIDATION", ["customerId"])),
        ({"customerId": "c" * 129}, ("VALIDATION", ["customerId"])),
        ({"customerId": "nul\x00byte"}, ("VALIDATION", ["customerId"])),
        ({"subject": "s" * 201}, ("VALIDATION", ["subject"])),
        ({"subject": "nul\x00byte"}, ("VALIDATION", ["subject"])),
        ({"stageId": ids["SNOOZED"]}, ("INVALID_TRANSITION", ["stageId"])),
        ({"stageId": ids["AUTO_CLOSED"]}, ("INVALID_TRANSITION", ["stageId"])),
        ({"stageId": "no-such-stage"}, ("NOT_FOUND", ["stageId"])),
        ({"stageId": "00000000-0000-0000-0000-000000000000"}, ("NOT_FOUND", ["stageId"])),
    ]
    for input, expected in cases:
        payload = await api.create_ticket_payload(**input)
        assert payload["ticket"] is None, input
        assert problems(payload) == [expected], input
    assert await api.snapshot() == before


async def test_an_unknown_channel_is_a_graphql_error(api: Api) -> None:
    result = await api.execute(
        'mutation { createTicket(input: {customerId: "c", channel: FAX}) { ticket { id } } }'
    )
    assert result.data is None and result.codes == ["BAD_REQUEST"]
    assert await api.count_tickets() == 0


async def test_ticket_by_id(api: Api) -> None:
    ticket = await api.create_ticket(customerId="c1")
    found = await api.ticket(ticket["id"])
    assert found["id"] == ticket["id"] and found["customerId"] == "c1"
    assert found["snoozedUntilReply"] is False and found["wakeOnCustomerReply"] is True
    for missing in (
        "",
        "nope",
        "00000000-0000-0000-0000-000000000000",
        ticket["id"] + "0",
        "x" * 1000,
    ):
        assert await api.ticket(missing) is None, missing


async def test_tickets_are_listed_newest_first_across_pages(api: Api, clock: ManualClock) -> None:
    created = []
    for n in range(7):
        created.append((await api.create_ticket(customerId=f"c{n}"))["id"])
        clock.advance(timedelta(minutes=1))
    first = await api.tickets(first=3)
    assert first["totalCount"] == 7 and first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in first["edges"]] == created[::-1][:3]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    second = await api.tickets(first=3, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in second["edges"]] == created[::-1][3:6]
    third = await api.tickets(first=3, after=second["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in third["edges"]] == created[:1]
    assert third["pageInfo"]["hasNextPage"] is False and third["totalCount"] == 7
    empty = await api.tickets(first=3, after=third["pageInfo"]["endCursor"])
    assert empty["edges"] == [] and empty["pageInfo"] == {"hasNextPage": False, "endCursor": None}


async def test_pages_are_complete_when_tickets_share_a_creation_instant(api: Api) -> None:
    created = {(await api.create_ticket(customerId=f"c{n}"))["id"] for n in range(7)}
    seen: list[str] = []
    after = None
    while True:
        page = await api.tickets(first=2, after=after)
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 7 and set(seen) == created


async def test_page_size_limits(api: Api) -> None:
    await api.create_ticket()
    exact = await api.tickets(first=100)
    assert exact["totalCount"] == 1 and len(exact["edges"]) == 1
    too_many = await api.execute("{ tickets(first: 101) { totalCount } }")
    assert too_many.data is None and too_many.codes == ["LIMIT_EXCEEDED"]
    assert too_many.errors[0]["extensions"]["field"] == ["first"]
    negative = await api.execute("{ tickets(first: -1) { totalCount } }")
    assert negative.codes == ["VALIDATION"]
    zero = await api.tickets(first=0)
    assert (
        zero["edges"] == [] and zero["totalCount"] == 1 and zero["pageInfo"]["hasNextPage"] is True
    )


async def test_a_cursor_not_given_out_by_the_api_is_refused(api: Api) -> None:
    await api.create_ticket()
    for cursor in ("garbage", "", "W10", "WyJ4IiwgInkiXQ"):
        result = await api.execute(
            "query($a: String) { tickets(after: $a) { totalCount } }", {"a": cursor}
        )
        assert result.codes == ["VALIDATION"], cursor
        assert result.errors[0]["extensions"]["field"] == ["after"]


async def test_every_filter(api: Api, clock: ManualClock) -> None:
    assigned = await api.create_stage("Assigned")
    closed = (await api.system_ids())["CLOSED"]
    start = clock.now()
    a = await api.create_ticket(customerId="alice", channel="EMAIL")
    clock.advance(timedelta(hours=1))
    b = await api.create_ticket(customerId="bob", channel="SMS", stageId=assigned["id"])
    clock.advance(timedelta(hours=1))
    c = await api.create_ticket(customerId="alice", channel="SMS", stageId=closed)
    clock.advance(timedelta(hours=1))
    d = await api.create_ticket(customerId="carol", channel="EMAIL")
    await api.snooze(d["id"])

    async def ids(**filter: Any) -> set[str]:
        page = await api.tickets(**filter)
        assert page["totalCount"] == len(page["edges"])
        return {e["node"]["id"] for e in page["edges"]}

    assert await ids() == {a["id"], b["id"], c["id"], d["id"]}
    assert await ids(stageIds=[assigned["id"]]) == {b["id"]}
    assert await ids(stageIds=[assigned["id"], closed]) == {b["id"], c["id"]}
    assert await ids(stageIds=[]) == set()
    assert await ids(stageIds=["not-an-id"]) == set()
    assert await ids(stageKinds=["OPEN"]) == {a["id"]}
    assert await ids(stageKinds=["SNOOZED", "INTERMEDIATE"]) == {b["id"], d["id"]}
    assert await ids(stageKinds=["AUTO_CLOSED"]) == set()
    assert await ids(channel="SMS") == {b["id"], c["id"]}
    assert await ids(customerId="alice") == {a["id"], c["id"]}
    assert await ids(customerId="nobody") == set()
    second = (start + timedelta(hours=1)).isoformat()
    assert await ids(createdAfter=second) == {c["id"], d["id"]}
    assert await ids(createdBefore=second) == {a["id"]}
    assert await ids(
        createdAfter=start.isoformat(), createdBefore=(start + timedelta(hours=2)).isoformat()
    ) == {b["id"]}
    assert await ids(customerId="alice", channel="SMS", stageKinds=["CLOSED"]) == {c["id"]}


async def test_total_count_counts_the_filter_not_the_page(api: Api) -> None:
    for n in range(5):
        await api.create_ticket(customerId=f"c{n}", channel="EMAIL" if n % 2 else "SMS")
    page = await api.tickets(first=1, channel="SMS")
    assert page["totalCount"] == 3 and len(page["edges"]) == 1


async def test_filters_accept_offsets_and_refuse_naive_times(api: Api) -> None:
    ticket = await api.create_ticket()
    created = at(ticket["createdAt"])
    assert created is not None
    shifted = (created - timedelta(minutes=1)).astimezone().isoformat()
    assert (await api.tickets(createdAfter=shifted))["totalCount"] == 1
    result = await api.execute(
        "query($f: TicketFilter) { tickets(filter: $f) { totalCount } }",
        {"f": {"createdAfter": "2026-01-05T09:00:00"}},
    )
    assert result.data is None and result.codes == ["BAD_REQUEST"]
    inline = await api.execute('{ tickets(filter: {createdAfter: "yesterday"}) { totalCount } }')
    assert inline.data is None and inline.codes == ["BAD_REQUEST"]


async def test_order_and_pages_with_fractional_seconds(api: Api, clock: ManualClock) -> None:
    created = []
    for step in (0.5, 0.000001, 0.499999, 1, 0.25):
        clock.advance(timedelta(seconds=step))
        created.append((await api.create_ticket())["id"])
    newest_first = created[::-1]
    seen: list[str] = []
    after = None
    for _ in range(5):
        page = await api.tickets(first=2, after=after)
        seen += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == newest_first
    middle = at((await api.ticket(created[2]))["createdAt"])
    assert middle is not None
    assert [
        e["node"]["id"] for e in (await api.tickets(createdAfter=middle.isoformat()))["edges"]
    ] == newest_first[:2]
    assert [
        e["node"]["id"] for e in (await api.tickets(createdBefore=middle.isoformat()))["edges"]
    ] == newest_first[3:]
