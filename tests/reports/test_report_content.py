"""What a generated report contains, checked against the tickets as the API shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from starlette.applications import Starlette

from desk.clock import ManualClock
from tests.reports.helpers import (
    ERRORS,
    change_stage,
    create_ticket,
    customer_message,
    download,
    generate,
    parse_csv,
    report,
    stage_ids,
    tickets,
    work,
)
from tests.support.graphql import GraphQLClient

HEADER = [
    "Ticket ID",
    "Customer ID",
    "Channel",
    "Stage",
    "Created at",
    "Closed at",
    "Last customer message at",
    "Transitions",
    "Customer chats in range",
]


def _at(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value)


async def _create_stage(gql: GraphQLClient, name: str) -> str:
    payload = await gql.mutate(
        "mutation($input: CreateStageInput!) { createStage(input: $input) "
        f"{{ stage {{ id }} {ERRORS} }} }}",
        {"input": {"name": name}},
    )
    assert payload["userErrors"] == [], payload
    return str(payload["stage"]["id"])


async def _ready_rows(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, **input: object
) -> list[dict[str, str]]:
    created = await generate(gql, **input)
    await work(app)
    done = await report(gql, created["id"])
    assert done["status"] == "READY", done
    response = await download(http, gql.key, created["id"])
    assert response.status_code == 200, response.text
    rows = parse_csv(response.content)
    assert done["rowCount"] == len(rows)
    return rows


async def test_rows_match_the_tickets(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, clock: ManualClock
) -> None:
    stages = await stage_ids(gql)
    working = await _create_stage(gql, "In progress")
    clock.set(datetime(2025, 12, 31, 23, 0, tzinfo=UTC))
    await create_ticket(gql, "alice", "WHATSAPP")  # before the range
    clock.set(datetime(2026, 1, 5, 9, 0, 0, 250_000, tzinfo=UTC))
    first = await create_ticket(gql, "alice", "WHATSAPP")
    clock.advance(timedelta(minutes=5))
    await customer_message(gql, first["id"])
    clock.advance(timedelta(hours=1))
    await change_stage(gql, first["id"], working)
    clock.advance(timedelta(hours=1))
    await change_stage(gql, first["id"], stages["Closed"])
    clock.set(datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    second = await create_ticket(gql, "alice", "EMAIL")
    clock.set(datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC))
    third = await create_ticket(gql, "bob", "SMS")
    clock.set(datetime(2026, 2, 1, 0, 0, tzinfo=UTC))
    await create_ticket(gql, "bob", "SMS")  # after the range (the end date is inclusive)
    clock.advance(timedelta(days=1))

    rows = await _ready_rows(app, http, gql, startDate="2026-01-01", endDate="2026-01-31")

    assert list(rows[0]) == HEADER
    assert [r["Ticket ID"] for r in rows] == [first["id"], second["id"], third["id"]]
    shown = await tickets(gql)
    for row in rows:
        ticket = shown[row["Ticket ID"]]
        assert row["Customer ID"] == ticket["customerId"]
        assert row["Channel"] == ticket["channel"]
        assert row["Stage"] == ticket["stage"]["name"]
        assert _at(row["Created at"]) == _at(ticket["createdAt"])
        assert _at(row["Closed at"]) == _at(ticket["closedAt"])
        assert _at(row["Last customer message at"]) == _at(ticket["lastCustomerMessageAt"])
        assert int(row["Transitions"]) == len(ticket["history"])
        assert row["Created at"].endswith("+00:00")
    assert [r["Customer chats in range"] for r in rows] == ["2", "2", "1"]
    assert rows[0]["Stage"] == "Closed" and rows[0]["Transitions"] == "3"
    assert rows[0]["Created at"] == "2026-01-05T09:00:00.250000+00:00"
    assert rows[0]["Last customer message at"] == "2026-01-05T09:05:00.250000+00:00"
    assert rows[1]["Closed at"] == "" and rows[1]["Last customer message at"] == ""


async def test_channel_filter_limits_rows_and_chat_counts(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, clock: ManualClock
) -> None:
    on_whatsapp = await create_ticket(gql, "alice", "WHATSAPP")
    await create_ticket(gql, "alice", "EMAIL")
    clock.advance(60)
    also_whatsapp = await create_ticket(gql, "carol", "WHATSAPP")

    rows = await _ready_rows(
        app, http, gql, startDate="2026-01-05", endDate="2026-01-05", channel="WHATSAPP"
    )

    assert [r["Ticket ID"] for r in rows] == [on_whatsapp["id"], also_whatsapp["id"]]
    assert {r["Channel"] for r in rows} == {"WHATSAPP"}
    # alice's chats in the report's scope: her EMAIL chat is outside the channel filter
    assert [r["Customer chats in range"] for r in rows] == ["1", "1"]
    everything = await _ready_rows(app, http, gql, startDate="2026-01-05", endDate="2026-01-05")
    assert len(everything) == 3
    assert {r["Customer ID"]: r["Customer chats in range"] for r in everything} == {
        "alice": "2",
        "carol": "1",
    }


async def test_dates_are_days_of_the_report_time_zone(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, clock: ManualClock
) -> None:
    # Johannesburg is UTC+2 all year: 23:30 UTC on 9 March is 01:30 on 10 March there
    clock.set(datetime(2026, 3, 9, 21, 59, 59, tzinfo=UTC))
    late_on_ninth = await create_ticket(gql, "a")
    clock.set(datetime(2026, 3, 9, 22, 0, tzinfo=UTC))
    midnight_tenth = await create_ticket(gql, "b")
    clock.set(datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
    half_past_eleven = await create_ticket(gql, "c")
    clock.set(datetime(2026, 3, 10, 21, 59, 59, tzinfo=UTC))
    end_of_tenth = await create_ticket(gql, "d")
    clock.set(datetime(2026, 3, 10, 22, 0, tzinfo=UTC))
    await create_ticket(gql, "e")  # 11 March there
    clock.advance(timedelta(days=2))

    tenth_there = await _ready_rows(
        app, http, gql, startDate="2026-03-10", endDate="2026-03-10", timezone="Africa/Johannesburg"
    )
    assert [r["Ticket ID"] for r in tenth_there] == [
        midnight_tenth["id"],
        half_past_eleven["id"],
        end_of_tenth["id"],
    ]
    assert [r["Created at"] for r in tenth_there] == [
        "2026-03-10T00:00:00.000000+02:00",
        "2026-03-10T01:30:00.000000+02:00",
        "2026-03-10T23:59:59.000000+02:00",
    ]
    ninth_there = await _ready_rows(
        app, http, gql, startDate="2026-03-09", endDate="2026-03-09", timezone="Africa/Johannesburg"
    )
    assert [r["Ticket ID"] for r in ninth_there] == [late_on_ninth["id"]]
    ninth_in_utc = await _ready_rows(app, http, gql, startDate="2026-03-09", endDate="2026-03-09")
    assert [r["Ticket ID"] for r in ninth_in_utc] == [
        late_on_ninth["id"],
        midnight_tenth["id"],
        half_past_eleven["id"],
    ]


async def test_days_follow_daylight_saving_time(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, clock: ManualClock
) -> None:
    # Berlin moves from UTC+1 to UTC+2 on 29 March 2026 at 01:00 UTC: that day has 23 hours
    clock.set(datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC))
    await create_ticket(gql, "before")
    clock.set(datetime(2026, 3, 28, 23, 0, tzinfo=UTC))
    first = await create_ticket(gql, "first")
    clock.set(datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC))
    last = await create_ticket(gql, "last")
    clock.set(datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
    await create_ticket(gql, "after")
    clock.advance(timedelta(days=1))

    rows = await _ready_rows(
        app, http, gql, startDate="2026-03-29", endDate="2026-03-29", timezone="Europe/Berlin"
    )
    assert [r["Ticket ID"] for r in rows] == [first["id"], last["id"]]
    assert [r["Created at"] for r in rows] == [
        "2026-03-29T00:00:00.000000+01:00",
        "2026-03-29T23:59:59.000000+02:00",
    ]


async def test_cells_a_spreadsheet_would_run_are_neutralised(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, clock: ManualClock
) -> None:
    risky_stage = await _create_stage(gql, "@SUM(A1)")
    customers = [
        '=HYPERLINK("http://evil.example","x")',
        "+1 555 0100",
        "-2+3",
        "@cmd",
        " =1+1",
        "\uff1d1+1",
        'plain, "quoted"; a-b=c',
    ]
    for customer in customers:
        ticket = await create_ticket(gql, customer)
        await change_stage(gql, ticket["id"], risky_stage)
        clock.advance(1)

    rows = await _ready_rows(app, http, gql, startDate="2026-01-05", endDate="2026-01-05")

    assert [r["Customer ID"] for r in rows] == [
        "'" + customers[0],
        "'+1 555 0100",
        "'-2+3",
        "'@cmd",
        "' =1+1",
        "'\uff1d1+1",
        'plain, "quoted"; a-b=c',
    ]
    assert {r["Stage"] for r in rows} == {"'@SUM(A1)"}


async def test_transitions_count_every_kind_of_move(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, clock: ManualClock
) -> None:
    stages = await stage_ids(gql)
    doomed = await _create_stage(gql, "Doomed")
    first = await create_ticket(gql, "alice")
    second = await create_ticket(gql, "bob")
    until = (clock.now() + timedelta(days=1)).isoformat()
    for _ in range(2):  # the second snooze only changes the wake time: no transition
        payload = await gql.mutate(
            "mutation($input: SnoozeTicketInput!) { snoozeTicket(input: $input) "
            f"{{ ticket {{ id }} {ERRORS} }} }}",
            {"input": {"ticketId": first["id"], "until": until}},
        )
        assert payload["userErrors"] == [], payload
    await change_stage(gql, first["id"], stages["Open"])
    bulk = await gql.mutate(
        "mutation($input: BulkChangeStageInput!) { bulkChangeStage(input: $input) "
        f"{{ moved {{ id }} {ERRORS} }} }}",
        {"input": {"ticketIds": [first["id"], second["id"]], "stageId": doomed}},
    )
    assert len(bulk["moved"]) == 2
    deleted = await gql.mutate(
        "mutation($input: DeleteStageInput!) { deleteStage(input: $input) "
        f"{{ movedTicketCount {ERRORS} }} }}",
        {"input": {"id": doomed}},
    )
    assert deleted["movedTicketCount"] == 2
    await change_stage(gql, second["id"], stages["Closed"])
    reopened = await gql.mutate(
        "mutation($input: ReopenTicketInput!) { reopenTicket(input: $input) "
        f"{{ ticket {{ id }} {ERRORS} }} }}",
        {"input": {"ticketId": second["id"]}},
    )
    assert reopened["userErrors"] == []

    rows = await _ready_rows(app, http, gql, startDate="2026-01-05", endDate="2026-01-05")

    shown = await tickets(gql)
    counts = {r["Ticket ID"]: int(r["Transitions"]) for r in rows}
    assert counts == {ticket_id: len(shown[ticket_id]["history"]) for ticket_id in counts}
    assert counts == {first["id"]: 5, second["id"]: 5}
