"""Authentication and roles: every root field needs a live key; each role does exactly its part."""

from __future__ import annotations

from typing import Any

import httpx

from desk.clock import ManualClock
from tests.api.helpers import Api, at, problems
from tests.api.operations import root_operations
from tests.support.graphql import GraphQLResult

ALL_ROLES = {"ADMIN", "MANAGER", "AGENT", "VIEWER"}
WORKERS = {"ADMIN", "MANAGER", "AGENT"}
MANAGERS = {"ADMIN", "MANAGER"}
ADMIN = {"ADMIN"}

# Which roles may call each root field (product.md, "Roles"). A new field needs an entry here.
ROLE_RULES: dict[str, set[str]] = {
    "viewer": ALL_ROLES,
    "stages": ALL_ROLES,
    "ticket": ALL_ROLES,
    "tickets": ALL_ROLES,
    "stageCounts": ALL_ROLES,
    "stageCountsAt": ALL_ROLES,
    "stageDurations": ALL_ROLES,
    "settings": ALL_ROLES,
    "reports": ALL_ROLES,
    "report": ALL_ROLES,
    "apiKeys": ADMIN,
    "createTicket": WORKERS,
    "recordMessage": WORKERS,
    "changeStage": WORKERS,
    "snoozeTicket": WORKERS,
    "reopenTicket": WORKERS,
    "bulkChangeStage": MANAGERS,
    "generateReport": MANAGERS,
    "createStage": ADMIN,
    "updateStage": ADMIN,
    "deleteStage": ADMIN,
    "updateSettings": ADMIN,
    "createApiKey": ADMIN,
    "revokeApiKey": ADMIN,
}


async def raw(
    http: httpx.AsyncClient, headers: dict[str, str], query: str, variables: Any
) -> GraphQLResult:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return GraphQLResult(response.status_code, response.json())


async def test_every_root_field_refuses_missing_garbage_and_revoked_keys(
    api: Api, http: httpx.AsyncClient
) -> None:
    await api.create_ticket()
    revoked = await api.create_key("soon revoked", "ADMIN")
    assert (await api.revoke_key(revoked["apiKey"]["id"]))["apiKey"]["revoked"] is True
    operations = await root_operations(api.gql)
    assert {"viewer", "tickets", "changeStage", "revokeApiKey"} <= {o.field for o in operations}
    before = await api.snapshot()
    header_sets = [
        {},
        {"authorization": "Bearer garbage"},
        {"authorization": "Bearer tsk_" + "x" * 43},
        {"authorization": f"Bearer {revoked['secret']}"},
        {"authorization": f"Basic {api.key}"},
        {"authorization": "Bearer "},
        {"authorization": str(api.key)},
    ]
    for operation in operations:
        for headers in header_sets:
            result = await raw(http, headers, operation.document, operation.variables)
            assert result.status == 200, (operation.field, result.body)
            assert result.codes == ["UNAUTHENTICATED"], (operation.field, headers, result.body)
            assert not (result.data or {}).get(operation.field), operation.field
    assert await api.snapshot() == before


async def role_operations(api: Api) -> dict[str, tuple[str, dict[str, Any]]]:
    """A real call of every known root field, on real objects of the workspace."""
    ids = await api.system_ids()
    stage = (await api.create_stage("Assigned"))["id"]
    ticket = (await api.create_ticket(customerId="t"))["id"]
    closed = (await api.create_ticket(customerId="c", stageId=ids["CLOSED"]))["id"]
    spare_key = (await api.create_key("spare", "VIEWER"))["apiKey"]["id"]

    def mutation(field: str, input_type: str, input: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return (
            f"mutation($i: {input_type}!) {{ {field}(input: $i) {{ userErrors {{ code }} }} }}",
            {"i": input},
        )

    return {
        "viewer": ("{ viewer { role } }", {}),
        "stages": ("{ stages { id } }", {}),
        "ticket": ("query($id: ID!) { ticket(id: $id) { id } }", {"id": ticket}),
        "tickets": ("{ tickets { totalCount } }", {}),
        "stageCounts": ("{ stageCounts { version } }", {}),
        "settings": ("{ settings { closedReplyPolicy } }", {}),
        "apiKeys": ("{ apiKeys { id } }", {}),
        "createTicket": mutation(
            "createTicket", "CreateTicketInput", {"customerId": "r", "channel": "SMS"}
        ),
        "recordMessage": mutation(
            "recordMessage", "RecordMessageInput", {"ticketId": ticket, "author": "CUSTOMER"}
        ),
        "changeStage": mutation(
            "changeStage", "ChangeStageInput", {"ticketId": ticket, "stageId": stage}
        ),
        "snoozeTicket": mutation("snoozeTicket", "SnoozeTicketInput", {"ticketId": ticket}),
        "reopenTicket": mutation("reopenTicket", "ReopenTicketInput", {"ticketId": closed}),
        "bulkChangeStage": mutation(
            "bulkChangeStage",
            "BulkChangeStageInput",
            {"ticketIds": [ticket], "stageId": ids["OPEN"]},
        ),
        "createStage": mutation("createStage", "CreateStageInput", {"name": "New"}),
        "updateStage": mutation(
            "updateStage", "UpdateStageInput", {"id": stage, "name": "Renamed"}
        ),
        "deleteStage": mutation("deleteStage", "DeleteStageInput", {"id": stage}),
        "updateSettings": mutation(
            "updateSettings", "UpdateSettingsInput", {"closedReplyPolicy": "REOPEN"}
        ),
        "createApiKey": mutation(
            "createApiKey", "CreateApiKeyInput", {"name": "k", "role": "ADMIN"}
        ),
        "revokeApiKey": (
            "mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }",
            {"id": spare_key},
        ),
    }


async def test_each_role_may_do_exactly_its_part(api: Api) -> None:
    operations = await root_operations(api.gql)
    unlisted = {o.field for o in operations} - set(ROLE_RULES)
    assert not unlisted, f"add the roles allowed to call {unlisted} to ROLE_RULES in {__file__}"
    real = await role_operations(api)
    calls = {o.field: real.get(o.field, (o.document, o.variables)) for o in operations}
    for role in ("VIEWER", "AGENT", "MANAGER", "ADMIN"):
        as_role = await api.key_for(role)
        allowed = {field for field in calls if role in ROLE_RULES[field]}
        before = await api.snapshot()
        for field in sorted(set(calls) - allowed):
            result = await as_role.execute(*calls[field])
            assert result.codes == ["FORBIDDEN"], (role, field, result.body)
            assert not (result.data or {}).get(field), (role, field)
        assert await api.snapshot() == before, role
        for field in sorted(allowed, key=lambda f: f == "deleteStage"):
            result = await as_role.execute(*calls[field])
            assert "FORBIDDEN" not in result.codes, (role, field, result.body)
            if field in real:
                payload = result.ok()[field]
                assert not isinstance(payload, dict) or payload.get("userErrors", []) == [], (
                    role,
                    field,
                    payload,
                )


async def test_the_viewer_names_the_key_and_its_workspace(api: Api) -> None:
    admin = (await api.ok("{ viewer { workspaceId workspaceName apiKeyName role } }"))["viewer"]
    assert admin["workspaceName"] == "Acme" and admin["role"] == "ADMIN"
    assert admin["apiKeyName"] == "admin key"
    agent = await api.key_for("AGENT", "Dana at the desk")
    viewer = (await agent.ok("{ viewer { workspaceId workspaceName apiKeyName role } }"))["viewer"]
    assert viewer == {**admin, "apiKeyName": "Dana at the desk", "role": "AGENT"}


async def test_actions_are_recorded_under_the_key_name(api: Api) -> None:
    closed = (await api.system_ids())["CLOSED"]
    agent = await api.key_for("AGENT", "Dana")
    ticket = await agent.create_ticket()
    await agent.change_stage(ticket["id"], closed)
    assert [t["actor"] for t in (await api.ticket(ticket["id"]))["history"]] == ["Dana", "Dana"]


async def test_a_new_key_works_at_once_and_a_revoked_one_at_once_stops(
    api: Api, clock: ManualClock
) -> None:
    clock.advance(60)
    payload = await api.create_key("  Integration  ", "MANAGER")
    assert payload["userErrors"] == []
    key = payload["apiKey"]
    assert (key["name"], key["role"], key["revoked"]) == ("Integration", "MANAGER", False)
    assert at(key["createdAt"]) == clock.now()
    secret = payload["secret"]
    assert secret.startswith("tsk_") and len(secret) > 40
    manager = api.as_key(secret)
    assert (await manager.ok("{ viewer { role apiKeyName } }"))["viewer"] == {
        "role": "MANAGER",
        "apiKeyName": "Integration",
    }
    listed = await api.api_keys()
    assert [(k["name"], k["role"], k["revoked"]) for k in listed] == [
        ("admin key", "ADMIN", False),
        ("Integration", "MANAGER", False),
    ]
    assert secret not in str(listed)

    revoked = await api.revoke_key(key["id"])
    assert revoked["userErrors"] == [] and revoked["apiKey"]["revoked"] is True
    assert (await manager.execute("{ viewer { role } }")).codes == ["UNAUTHENTICATED"]
    assert [k["revoked"] for k in await api.api_keys()] == [False, True]
    again = await api.revoke_key(key["id"])
    assert again["userErrors"] == [] and again["apiKey"]["revoked"] is True


async def test_bad_key_requests_change_nothing(api: Api) -> None:
    before = await api.snapshot()
    for name in ("", "   ", "k" * 101, "system", " System ", "tab\tname", "nul\x00"):
        payload = await api.create_key(name, "AGENT")
        assert problems(payload) == [("VALIDATION", ["name"])], name
        assert payload["secret"] is None and payload["apiKey"] is None
    for key_id in ("nope", "00000000-0000-0000-0000-000000000000"):
        assert problems(await api.revoke_key(key_id)) == [("NOT_FOUND", ["id"])]
    bad_role = await api.execute(
        'mutation { createApiKey(input: {name: "x", role: OWNER}) { secret } }'
    )
    assert bad_role.codes == ["BAD_REQUEST"]
    assert await api.snapshot() == before
