"""The strawberry ASGI view: authentication for HTTP and websockets, graphql-transport-ws only."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.context import Context
from api.key_watch import watch_key
from api.limits import MAX_DOCUMENT_BYTES
from api.live.direct_send import DirectSendHandler
from api.live.shared_results import SharedJson
from api.services import Services
from desk.access import Actor

MAX_SUBSCRIPTIONS_PER_SOCKET = 20
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def bearer_secret(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    scheme, _, secret = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


async def actor_for(services: Services, header: object) -> Actor | None:
    secret = bearer_secret(header)
    return None if secret is None else await services.keys.actor_for(secret)


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = DirectSendHandler

    def __init__(self, services_of: Any, schema: Any, allowed_origins: tuple[str, ...]) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=5),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_SOCKET,
            allowed_origins=allowed_origins,
            keep_alive=True,
            keep_alive_interval=15,
        )
        self._services_of = services_of
        self._json = SharedJson()
        self._key_watchers: dict[WebSocket, asyncio.Task[None]] = {}

    def encode_json(self, data: object) -> str:
        return self._json.encode(data)

    def parse_json(self, data: str | bytes) -> object:
        try:
            parsed = super().parse_json(data)
        except (UnicodeDecodeError, ValueError):
            raise HTTPException(400, "the body is not valid UTF-8 JSON") from None
        if not isinstance(parsed, (dict, list)):
            raise HTTPException(400, "the body must be a JSON object with a query")
        return parsed

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if isinstance(data, list):
            raise HTTPException(
                400, "batched requests are not supported: send one operation per request"
            )
        if data.query is not None and len(data.query.encode()) > MAX_DOCUMENT_BYTES:
            raise HTTPException(
                413, f"the GraphQL document is larger than {MAX_DOCUMENT_BYTES} bytes"
            )
        return data

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = self._services_of()
        context = Context(services=services, request=request, response=response)
        incoming = request.headers.get("x-request-id", "")
        if REQUEST_ID.fullmatch(incoming):
            context.request_id = incoming
        if isinstance(request, Request):
            if isinstance(response, Response):
                response.headers["x-request-id"] = context.request_id
            context.actor = await actor_for(services, request.headers.get("authorization"))
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        actor = await actor_for(context.services, header)
        if actor is None:
            raise ConnectionRejectionError({"message": "a valid API key is required"})
        context.actor = actor
        if isinstance(context.request, WebSocket):
            self._key_watchers[context.request] = asyncio.create_task(
                watch_key(context.request, actor, context.services), name="api-key-watch"
            )
        return None

    async def run(self, request: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(request, **kwargs)
        finally:
            if isinstance(request, WebSocket) and (
                watcher := self._key_watchers.pop(request, None)
            ):
                watcher.cancel()
