"""A revoked API key loses its open websockets, not only its next request."""

from __future__ import annotations

from tests.live.conftest import Served
from tests.live.wsclient import COUNTS, LiveSocket, counts_of

SUBSCRIBE = f"subscription {{ stageCounts {{ {COUNTS} }} }}"
CREATE_KEY = (
    "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) "
    "{ apiKey { id } secret userErrors { code } } }"
)
REVOKE_KEY = (
    "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revoked } userErrors { code } } }"
)


async def test_revoking_a_key_closes_its_open_websockets(server: Served) -> None:
    acme = await server.workspace()
    created = await acme.gql.mutate(CREATE_KEY, {"i": {"name": "wallboard", "role": "VIEWER"}})
    assert created["userErrors"] == []
    other = await acme.gql.mutate(CREATE_KEY, {"i": {"name": "other board", "role": "VIEWER"}})
    async with (
        LiveSocket.open(server.url, created["secret"]) as revoked_socket,
        LiveSocket.open(server.url, other["secret"]) as kept_socket,
    ):
        watching = await revoked_socket.subscribe(SUBSCRIBE)
        kept = await kept_socket.subscribe(SUBSCRIBE)
        await counts_of(revoked_socket, watching)
        await counts_of(kept_socket, kept)
        revoked = await acme.gql.mutate(REVOKE_KEY, {"id": created["apiKey"]["id"]})
        assert revoked == {"apiKey": {"revoked": True}, "userErrors": []}
        assert await revoked_socket.closed_with(timeout=5) == 4403
        # the other key's socket lives on and still gets updates
        await acme.gql.mutate(
            'mutation { createTicket(input: {customerId: "c-1", channel: SMS}) '
            "{ userErrors { code } } }"
        )
        assert (await counts_of(kept_socket, kept))["total"] == 1
