"""A small typed client over the GraphQL API, for tests that speak only the public surface."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.conftest import new_workspace
from tests.support.graphql import GraphQLClient, GraphQLResult

CHANNELS = ("WHATSAPP", "INSTAGRAM", "MESSENGER", "EMAIL", "WEB_CHAT", "SMS")
SYSTEM_STAGE_NAMES = ["Open", "Closed", "Snoozed", "Auto closed"]

STAGE = "id name kind position autoClose deleted ticketCount"
TICKET = (
    "id customerId channel subject version createdAt updatedAt lastCustomerMessageAt "
    "autoCloseAt snoozedUntil closedAt botActive stage { id name kind }"
)
HISTORY = "history { id ticketId fromStage { id name } toStage { id name } source actor at }"
ERRORS = "userErrors { code field message }"

TICKET_PAYLOAD = f"{{ ticket {{ {TICKET} }} {ERRORS} }}"
STAGE_PAYLOAD = f"{{ stage {{ {STAGE} }} {ERRORS} }}"
SETTINGS = (
    "autoCloseEnabled autoClosePeriod autoClosePeriodByChannel { channel period } closedReplyPolicy"
)

SNAPSHOT = f"""
query Snapshot($after: String) {{
  stages(includeDeleted: true) {{ {STAGE} }}
  counts: stageCounts {{ version total counts {{ stage {{ id }} count }} }}
  byChannel: stageCounts(channel: WHATSAPP) {{ total counts {{ stage {{ id }} count }} }}
  settings {{ {SETTINGS} }}
  tickets(first: 100, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{ {TICKET} snoozedUntilReply wakeOnCustomerReply {HISTORY} }} }}
  }}
}}
"""


def at(value: str) -> datetime:
    """A DateTime of the API as a datetime (for comparisons with the clock)."""
    return datetime.fromisoformat(value)


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def problems(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    """The (code, field) of each userError."""
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


class Api:
    """One API key of one workspace, speaking GraphQL over HTTP to the real app."""

    def __init__(self, gql: GraphQLClient) -> None:
        self.gql = gql

    @property
    def key(self) -> str | None:
        return self.gql.key

    def as_key(self, key: str | None) -> Api:
        return Api(self.gql.as_key(key))

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> GraphQLResult:
        return await self.gql.execute(query, variables)

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return await self.gql.ok(query, variables)

    async def _mutate(
        self, field: str, input_type: str, selection: str, input: dict[str, Any]
    ) -> Any:
        query = f"mutation($input: {input_type}!) {{ {field}(input: $input) {selection} }}"
        return await self.gql.mutate(query, {"input": input})

    # --- stages ---------------------------------------------------------------------------

    async def stages(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        data = await self.ok(
            f"query($d: Boolean!) {{ stages(includeDeleted: $d) {{ {STAGE} }} }}",
            {"d": include_deleted},
        )
        return list(data["stages"])

    async def stage_id(self, name: str) -> str:
        for stage in await self.stages():
            if stage["name"] == name:
                return str(stage["id"])
        raise AssertionError(f"no live stage named {name!r}")

    async def system_ids(self) -> dict[str, str]:
        """Stage kind -> id of the four system stages."""
        return {s["kind"]: s["id"] for s in await self.stages() if s["kind"] != "INTERMEDIATE"}

    async def create_stage_payload(
        self, name: str, position: int | None = None, auto_close: bool = True
    ) -> Any:
        input: dict[str, Any] = {"name": name, "autoClose": auto_close}
        if position is not None:
            input["position"] = position
        return await self._mutate("createStage", "CreateStageInput", STAGE_PAYLOAD, input)

    async def create_stage(
        self, name: str, position: int | None = None, auto_close: bool = True
    ) -> Any:
        payload = await self.create_stage_payload(name, position, auto_close)
        assert payload["userErrors"] == [], payload
        return payload["stage"]

    async def update_stage(self, stage_id: str, **fields: Any) -> Any:
        return await self._mutate(
            "updateStage", "UpdateStageInput", STAGE_PAYLOAD, {"id": stage_id, **fields}
        )

    async def delete_stage(self, stage_id: str) -> Any:
        return await self._mutate(
            "deleteStage",
            "DeleteStageInput",
            f"{{ deletedStageId movedTicketCount {ERRORS} }}",
            {"id": stage_id},
        )

    # --- tickets --------------------------------------------------------------------------

    async def create_ticket_payload(self, **input: Any) -> Any:
        input.setdefault("customerId", "cust-1")
        input.setdefault("channel", "WHATSAPP")
        return await self._mutate("createTicket", "CreateTicketInput", TICKET_PAYLOAD, input)

    async def create_ticket(self, **input: Any) -> Any:
        payload = await self.create_ticket_payload(**input)
        assert payload["userErrors"] == [], payload
        return payload["ticket"]

    async def ticket(self, ticket_id: str) -> Any:
        data = await self.ok(
            f"query($id: ID!) {{ ticket(id: $id) {{ {TICKET} snoozedUntilReply "
            f"wakeOnCustomerReply {HISTORY} }} }}",
            {"id": ticket_id},
        )
        return data["ticket"]

    async def change_stage(
        self, ticket_id: str, stage_id: str, expected_version: int | None = None
    ) -> Any:
        input: dict[str, Any] = {"ticketId": ticket_id, "stageId": stage_id}
        if expected_version is not None:
            input["expectedVersion"] = expected_version
        return await self._mutate("changeStage", "ChangeStageInput", TICKET_PAYLOAD, input)

    async def snooze(
        self,
        ticket_id: str,
        until: datetime | str | None = None,
        wake_on_customer_reply: bool = True,
        expected_version: int | None = None,
    ) -> Any:
        input: dict[str, Any] = {
            "ticketId": ticket_id,
            "until": until.isoformat() if isinstance(until, datetime) else until,
            "wakeOnCustomerReply": wake_on_customer_reply,
        }
        if expected_version is not None:
            input["expectedVersion"] = expected_version
        return await self._mutate(
            "snoozeTicket",
            "SnoozeTicketInput",
            f"{{ ticket {{ {TICKET} snoozedUntilReply wakeOnCustomerReply }} {ERRORS} }}",
            input,
        )

    async def reopen(self, ticket_id: str, expected_version: int | None = None) -> Any:
        input: dict[str, Any] = {"ticketId": ticket_id}
        if expected_version is not None:
            input["expectedVersion"] = expected_version
        return await self._mutate("reopenTicket", "ReopenTicketInput", TICKET_PAYLOAD, input)

    async def bulk(self, ticket_ids: list[str], stage_id: str) -> Any:
        return await self._mutate(
            "bulkChangeStage",
            "BulkChangeStageInput",
            f"{{ moved {{ {TICKET} }} unchanged failed {{ ticketId code message }} {ERRORS} }}",
            {"ticketIds": ticket_ids, "stageId": stage_id},
        )

    async def message(
        self, ticket_id: str, author: str = "CUSTOMER", sent_at: datetime | str | None = None
    ) -> Any:
        input: dict[str, Any] = {"ticketId": ticket_id, "author": author}
        if sent_at is not None:
            input["sentAt"] = sent_at.isoformat() if isinstance(sent_at, datetime) else sent_at
        return await self._mutate("recordMessage", "RecordMessageInput", TICKET_PAYLOAD, input)

    async def tickets(self, first: int = 100, after: str | None = None, **filter: Any) -> Any:
        data = await self.ok(
            "query($first: Int!, $after: String, $filter: TicketFilter) { tickets(first: $first, "
            "after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } "
            f"edges {{ cursor node {{ {TICKET} }} }} }} }}",
            {"first": first, "after": after, "filter": filter or None},
        )
        return data["tickets"]

    async def count_tickets(self, **filter: Any) -> int:
        data = await self.ok(
            "query($filter: TicketFilter) { tickets(first: 0, filter: $filter) { totalCount } }",
            {"filter": filter or None},
        )
        return int(data["tickets"]["totalCount"])

    # --- counts and settings --------------------------------------------------------------

    async def counts(self, channel: str | None = None) -> Any:
        data = await self.ok(
            "query($c: Channel) { stageCounts(channel: $c) { version at channel total "
            "counts { stage { id name kind } count } } }",
            {"c": channel},
        )
        return data["stageCounts"]

    async def version(self) -> int:
        return int((await self.counts())["version"])

    async def settings(self) -> Any:
        return (await self.ok(f"{{ settings {{ {SETTINGS} }} }}"))["settings"]

    async def update_settings(self, **input: Any) -> Any:
        return await self._mutate(
            "updateSettings",
            "UpdateSettingsInput",
            f"{{ settings {{ {SETTINGS} }} {ERRORS} }}",
            input,
        )

    # --- keys -----------------------------------------------------------------------------

    async def create_key(self, name: str, role: str) -> Any:
        return await self._mutate(
            "createApiKey",
            "CreateApiKeyInput",
            f"{{ apiKey {{ id name role createdAt revoked }} secret {ERRORS} }}",
            {"name": name, "role": role},
        )

    async def key_for(self, role: str, name: str | None = None) -> Api:
        """A new key of this workspace with the given role."""
        payload = await self.create_key(name or f"{role.lower()} test key", role)
        assert payload["userErrors"] == [], payload
        return self.as_key(payload["secret"])

    async def revoke_key(self, key_id: str) -> Any:
        return await self.gql.mutate(
            "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id name role revoked } "
            f"{ERRORS} }} }}",
            {"id": key_id},
        )

    async def api_keys(self) -> Any:
        return (await self.ok("{ apiKeys { id name role createdAt revoked } }"))["apiKeys"]

    # --- everything at once ---------------------------------------------------------------

    async def snapshot(self) -> dict[str, Any]:
        """All the workspace state this (ADMIN) key can see, to show that nothing changed."""
        data = await self.ok(SNAPSHOT)
        edges = list(data["tickets"]["edges"])
        page = data["tickets"]["pageInfo"]
        while page["hasNextPage"]:
            more = await self.ok(SNAPSHOT, {"after": page["endCursor"]})
            edges += more["tickets"]["edges"]
            page = more["tickets"]["pageInfo"]
        data["tickets"] = sorted((e["node"] for e in edges), key=lambda t: str(t["id"]))
        data["apiKeys"] = await self.api_keys()
        return dict(data)


async def workspace_api(app: Starlette, http: httpx.AsyncClient, name: str) -> Api:
    """A new workspace, as its ADMIN key."""
    _, secret = await new_workspace(app, name)
    return Api(GraphQLClient(http, secret))
