"""Nothing crosses workspaces: B's key with A's ids gets null / NOT_FOUND and A is unchanged."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.api.helpers import Api, problems
from tests.api.operations import SCALAR_SAMPLES, root_operations

SAMPLE_ID = SCALAR_SAMPLES["ID"]


async def populate(a: Api) -> dict[str, Any]:
    ids = await a.system_ids()
    stage = (await a.create_stage("Assigned"))["id"]
    ticket = (await a.create_ticket(customerId="alice", channel="EMAIL"))["id"]
    in_stage = (await a.create_ticket(customerId="alice", stageId=stage))["id"]
    closed = (await a.create_ticket(customerId="bob", stageId=ids["CLOSED"]))["id"]
    snoozed = (await a.create_ticket(customerId="carol"))["id"]
    await a.snooze(snoozed)
    await a.update_settings(autoClosePeriod="PT5H", closedReplyPolicy="NEW_TICKET")
    key = (await a.create_key("spare", "AGENT"))["apiKey"]["id"]
    admin_key = next(k["id"] for k in await a.api_keys() if k["name"] == "admin key")
    return {
        "stages": [*ids.values(), stage],
        "stage": stage,
        "open": ids["OPEN"],
        "tickets": [ticket, in_stage, closed, snoozed],
        "ticket": ticket,
        "closed": closed,
        "keys": [key, admin_key],
    }


async def test_queries_never_show_another_workspace(api: Api, other: Api) -> None:
    a = await populate(api)
    mine = await other.create_ticket(customerId="alice", channel="EMAIL")
    b_stages = await other.stages(include_deleted=True)
    assert not {s["id"] for s in b_stages} & set(a["stages"])
    for ticket_id in a["tickets"]:
        assert await other.ticket(ticket_id) is None
    listed = await other.tickets()
    assert [e["node"]["id"] for e in listed["edges"]] == [mine["id"]] and listed["totalCount"] == 1
    assert await other.count_tickets(stageIds=a["stages"]) == 0
    assert await other.count_tickets(customerId="alice") == 1
    assert await other.count_tickets(stageKinds=["CLOSED", "SNOOZED", "INTERMEDIATE"]) == 0
    counts = await other.counts()
    assert counts["total"] == 1
    assert {c["stage"]["id"] for c in counts["counts"]} == {s["id"] for s in b_stages}
    email = await other.counts("EMAIL")
    assert email["total"] == 1
    assert await other.settings() == {
        "autoCloseEnabled": True,
        "autoClosePeriod": "P3D",
        "autoClosePeriodByChannel": [],
        "closedReplyPolicy": "BOT",
    }
    assert not {k["id"] for k in await other.api_keys()} & set(a["keys"])
    viewer = (await other.ok("{ viewer { workspaceName } }"))["viewer"]
    assert viewer == {"workspaceName": "Other store"}
    ticket = await api.ticket(a["ticket"])
    assert ticket is not None and ticket["customerId"] == "alice"


async def test_mutations_with_another_workspaces_ids_change_nothing_there(
    api: Api, other: Api
) -> None:
    a = await populate(api)
    a_before = await api.snapshot()
    b_ids = await other.system_ids()
    b_ticket = (await other.create_ticket())["id"]
    unknown = str(uuid.uuid4())

    for ticket_id in a["tickets"]:
        for call in (
            other.change_stage(ticket_id, b_ids["CLOSED"]),
            other.change_stage(ticket_id, a["stage"]),
            other.snooze(ticket_id),
            other.reopen(ticket_id),
            other.message(ticket_id, "CUSTOMER"),
            other.message(ticket_id, "AGENT"),
        ):
            payload = await call
            assert problems(payload) == [("NOT_FOUND", ["ticketId"])] and payload["ticket"] is None
    assert await other.change_stage(a["ticket"], b_ids["CLOSED"]) == await other.change_stage(
        unknown, b_ids["CLOSED"]
    ), "a foreign id answers exactly like an unknown one"

    for stage_id in a["stages"]:
        assert problems(await other.change_stage(b_ticket, stage_id)) == [
            ("NOT_FOUND", ["stageId"])
        ]
        assert problems(await other.create_ticket_payload(stageId=stage_id)) == [
            ("NOT_FOUND", ["stageId"])
        ]
        assert problems(await other.bulk([b_ticket], stage_id)) == [("NOT_FOUND", ["stageId"])]
        assert problems(await other.update_stage(stage_id, name="Mine now")) == [
            ("NOT_FOUND", ["id"])
        ]
        assert problems(await other.delete_stage(stage_id)) == [("NOT_FOUND", ["id"])]

    bulk = await other.bulk([*a["tickets"], b_ticket], b_ids["CLOSED"])
    assert [t["id"] for t in bulk["moved"]] == [b_ticket]
    assert sorted(f["ticketId"] for f in bulk["failed"]) == sorted(a["tickets"])
    assert {f["code"] for f in bulk["failed"]} == {"NOT_FOUND"}

    for key_id in a["keys"]:
        assert problems(await other.revoke_key(key_id)) == [("NOT_FOUND", ["id"])]

    same_name = await other.create_stage("Assigned")
    assert same_name["id"] != a["stage"]
    await other.delete_stage(same_name["id"])
    await other.update_settings(autoClosePeriod="P1D", closedReplyPolicy="REOPEN")
    await other.create_key("b key", "ADMIN")

    assert await api.snapshot() == a_before
    assert (await api.ok("{ viewer { workspaceName } }"))["viewer"]["workspaceName"] == "Acme"


async def test_every_root_field_answers_a_foreign_id_like_an_unknown_one(
    api: Api, other: Api
) -> None:
    a = await populate(api)
    a_before = await api.snapshot()
    unknown = str(uuid.uuid4())
    operations = [
        o for o in await root_operations(other.gql) if SAMPLE_ID in json.dumps(o.variables)
    ]
    assert {"ticket", "changeStage", "deleteStage", "revokeApiKey"} <= {o.field for o in operations}
    for operation in operations:
        template = json.dumps(operation.variables)
        for foreign in [*a["tickets"], *a["stages"], *a["keys"]]:
            answers = []
            for value in (foreign, unknown):
                variables = json.loads(template.replace(SAMPLE_ID, value))
                result = await other.execute(operation.document, variables)
                answers.append(json.dumps(result.body).replace(value, "<id>"))
            assert answers[0] == answers[1], (operation.field, answers)
    assert await api.snapshot() == a_before
