"""The contract's limits: each breach is a clear error, and nothing changes."""

from __future__ import annotations

import httpx

from tests.support.graphql import GraphQLClient


def _auth(gql: GraphQLClient) -> dict[str, str]:
    return {"authorization": f"Bearer {gql.key}"}


async def test_depth_over_ten_is_refused(gql: GraphQLClient) -> None:
    def nested(levels: int) -> str:
        return (
            "{ __schema { types { fields { type "
            + "{ ofType " * levels
            + "{ name }"
            + " }" * levels
            + " } } } }"
        )

    assert not (await gql.execute(nested(5))).errors  # depth 10
    result = await gql.execute(nested(6))  # depth 11
    assert result.errors and "depth" in result.errors[0]["message"].lower()
    through_fragment = (
        "fragment T on __Type "
        "{ ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } "
        "{ __schema { types { fields { type { ...T } } } } }"
    )
    assert (await gql.execute(through_fragment)).errors


async def test_more_than_thirty_aliases_including_through_fragments(gql: GraphQLClient) -> None:
    fields = " ".join(f"a{i}: viewer {{ role }}" for i in range(31))
    result = await gql.execute(f"{{ {fields} }}")
    assert result.errors and "alias" in result.errors[0]["message"].lower()
    fragment_fields = " ".join(f"b{i}: role" for i in range(20))
    result = await gql.execute(
        f"fragment V on Viewer {{ {fragment_fields} }} "
        "{ x: viewer { ...V } y: viewer { ...V } }"
    )
    assert result.errors and "alias" in result.errors[0]["message"].lower()
    assert not (
        await gql.execute("{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(30)) + " }")
    ).errors


async def test_more_than_2000_tokens_is_refused(gql: GraphQLClient) -> None:
    many = "{ viewer { " + " ".join(["role"] * 2100) + " } }"
    result = await gql.execute(many)
    assert result.errors and "token" in result.errors[0]["message"].lower()


async def test_document_over_64_kib_is_refused(gql: GraphQLClient, http: httpx.AsyncClient) -> None:
    query = "{ viewer { role } }" + " " * (64 * 1024)
    response = await http.post("/graphql", json={"query": query}, headers=_auth(gql))
    assert response.status_code == 413


async def test_body_over_limit_is_refused_with_413(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    body = b'{"query": "{ viewer { role } }", "variables": {"x": "' + b"y" * (600 * 1024) + b'"}}'
    response = await http.post(
        "/graphql", content=body, headers={**_auth(gql), "content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_batched_bodies_are_refused(gql: GraphQLClient, http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql",
        json=[{"query": "{ viewer { role } }"}, {"query": "{ viewer { role } }"}],
        headers=_auth(gql),
    )
    assert response.status_code == 400


async def test_mutations_over_get_are_refused(gql: GraphQLClient, http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={
            "query": 'mutation { createTicket(input: {customerId: "c", channel: SMS}) '
            "{ ticket { id } } }"
        },
        headers=_auth(gql),
    )
    assert response.status_code in (400, 405)
    data = await gql.ok("{ tickets { totalCount } }")
    assert data["tickets"]["totalCount"] == 0


async def test_garbage_bodies_get_4xx_never_500(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    bodies: list[tuple[bytes, str]] = [
        (b"not json", "application/json"),
        (b"{", "application/json"),
        (b"42", "application/json"),
        (b'{"query": 42}', "application/json"),
        (b'{"query": "{ viewer { role } }", "variables": []}', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"query=1", "application/x-www-form-urlencoded"),
        (b'{"query": "{"}', "application/json"),
    ]
    for body, content_type in bodies:
        response = await http.post(
            "/graphql", content=body, headers={**_auth(gql), "content-type": content_type}
        )
        assert 400 <= response.status_code < 500 or (
            response.status_code == 200 and response.json().get("errors")
        ), (body, response.status_code, response.text)


async def test_every_response_carries_a_request_id(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers=_auth(gql)
    )
    assert len(response.headers["x-request-id"]) >= 8
    echoed = await http.post(
        "/graphql",
        json={"query": "{ viewer { role } }"},
        headers={**_auth(gql), "x-request-id": "trace-123456"},
    )
    assert echoed.headers["x-request-id"] == "trace-123456"
