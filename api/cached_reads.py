"""Repeated `stageCounts` queries answered from memory: no query, no GraphQL execution.

Dashboards ask the same document again and again. For a query whose root fields are only
`stageCounts` (and `__typename`), the answer depends on nothing but the workspace's counts
snapshot, the caller's role and the request. The first answer computed from a snapshot is
kept on it (`Snapshot.responses`); later requests get those bytes while the snapshot is
current, that is while this process has heard of no newer change (see CountsFeeds). Every
other request, and every request that finds nothing kept, goes on to GraphQL unchanged.

It sits in front of the database layers and never waits on anything: the caller's key must
be in the key cache, the snapshot at hand, the answer kept; otherwise GraphQL does the work
(and fills the caches for the next request).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.graphql_view import REQUEST_ID, bearer_secret
from api.limits import MAX_TOKENS
from api.operation_metrics import operation_label
from api.services import Services
from desk.access import Actor

CACHEABLE_ROOT_FIELDS = frozenset({"stageCounts", "__typename"})
MAX_DOCUMENTS = 512
MAX_REMEMBERED_BODY = 4096  # bytes: bodies up to this size are parsed once, not per request
_REQUEST_KEYS = frozenset({"query", "variables", "operationName", "extensions"})


def cacheable_operation(query: str, operation_name: str | None) -> str | None:
    """The metrics label of the operation if it only reads `stageCounts`, else None."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        chosen = operations[0] if len(operations) == 1 else None
    else:
        named = [o for o in operations if o.name is not None and o.name.value == operation_name]
        chosen = named[0] if len(named) == 1 else None
    if chosen is None or chosen.operation is not OperationType.QUERY:
        return None
    selections = chosen.selection_set.selections
    if not all(
        isinstance(s, FieldNode) and s.name.value in CACHEABLE_ROOT_FIELDS for s in selections
    ):
        return None
    return operation_label(chosen.name.value if chosen.name else operation_name)


GraphQLRequest = tuple[str, str, str]  # query, operation name, variables as canonical JSON


class CachedReads:
    """Middleware: answers kept `stageCounts` responses, and keeps new ones on the way out."""

    def __init__(
        self, app: ASGIApp, services_of: Callable[[], Services | None], path: str = "/graphql"
    ) -> None:
        self.app = app
        self._services_of = services_of
        self._path = path
        self._documents: dict[tuple[str, str], str | None] = {}
        self._bodies: dict[bytes, GraphQLRequest | None] = {}
        self._metrics: dict[str, Callable[[float], None]] = {}
        self._metrics_of: object = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self._services_of()
        if (
            services is None
            or scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self._path
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body = await _read_body(receive)
        if body is None:  # the client left
            return
        replay = _replaying(body, receive)
        # most requests (mutations above all) are not for counts: no need to parse them
        request = self._request(scope, body) if b"stageCounts" in body else None
        label = None if request is None else self._label(request)
        actor = None if label is None else _cached_actor(services, scope)
        if request is None or label is None or actor is None:
            await self.app(scope, replay, send)
            return
        key = (actor.role.value, *request)
        snapshot = services.live.current(actor.workspace_id)
        kept = None if snapshot is None else snapshot.responses.get(key)
        if kept is not None:
            await _answer(scope, send, kept)
            self._count(services, label)(time.perf_counter() - started)
            return
        captured = _Captured(send)
        await self.app(scope, replay, captured.send)
        # kept only if the answer came from this very snapshot: it was current all along
        if snapshot is not None and services.live.current(actor.workspace_id) is snapshot:
            answer = captured.answer_to_keep()
            if answer is not None:
                snapshot.keep_response(key, answer)

    def _request(self, scope: Scope, body: bytes) -> GraphQLRequest | None:
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        if not content_type.startswith(b"application/json"):
            return None
        if len(body) > MAX_REMEMBERED_BODY:
            return _graphql_request(body)
        if body not in self._bodies:
            if len(self._bodies) >= MAX_DOCUMENTS:
                self._bodies.clear()
            self._bodies[body] = _graphql_request(body)
        return self._bodies[body]

    def _label(self, request: GraphQLRequest) -> str | None:
        query, operation_name, _ = request
        document = (query, operation_name)
        if document not in self._documents:
            if len(self._documents) >= MAX_DOCUMENTS:
                self._documents.clear()
            self._documents[document] = cacheable_operation(query, operation_name or None)
        return self._documents[document]

    def _count(self, services: Services, label: str) -> Callable[[float], None]:
        """Counts a kept answer like any GraphQL operation (its metrics looked up once)."""
        if self._metrics_of is not services.metrics:
            self._metrics_of, self._metrics = services.metrics, {}
        count = self._metrics.get(label)
        if count is None:
            operations = services.metrics.graphql_operations.labels(label, "query", "ok")
            latency = services.metrics.graphql_latency.labels(label, "query")

            def count(seconds: float) -> None:
                operations.inc()
                latency.observe(seconds)

            self._metrics[label] = count
        return count


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the body read already, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _graphql_request(body: bytes) -> GraphQLRequest | None:
    """The request in a JSON GraphQL body, or None for anything else."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.keys() <= _REQUEST_KEYS:
        return None
    query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
    if not isinstance(query, str) or not isinstance(name, str | None):
        return None
    if not isinstance(variables, dict | None):
        return None
    return query, name or "", json.dumps(variables, sort_keys=True) if variables else ""


def _cached_actor(services: Services, scope: Scope) -> Actor | None:
    header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    secret = None if header is None else bearer_secret(header.decode("latin-1"))
    return None if secret is None else services.keys.cached(secret)


def _request_id(scope: Scope) -> bytes:
    incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
    if incoming and REQUEST_ID.fullmatch(incoming.decode("latin-1")):
        return incoming
    return secrets.token_hex(8).encode()


async def _answer(scope: Scope, send: Send, body: bytes) -> None:
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        (b"x-request-id", _request_id(scope)),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Captured:
    """Passes a response through and remembers it, to keep it if it is a clean answer."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._status = 0
        self._chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
        await self._send(message)

    def answer_to_keep(self) -> bytes | None:
        if self._status != 200:
            return None
        body = b"".join(self._chunks)
        try:
            data: Any = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or "errors" in data or "data" not in data:
            return None
        return body
