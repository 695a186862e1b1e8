"""What a resolver can reach: the caller, the services, per-request loaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as _Info

from api.loaders import Loaders
from api.services import Services
from desk.access import Actor


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | WebSocket | None
    actor: Actor | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    loaders: Loaders = field(default_factory=Loaders)
    connection_params: dict[str, Any] | None = None

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise GraphQLError(
                "authentication required: send Authorization: Bearer <API key>",
                extensions={"code": "UNAUTHENTICATED"},
            )
        return self.actor


Info = _Info[Context, None]


def actor_of(info: Info) -> Actor:
    return info.context.require_actor()
