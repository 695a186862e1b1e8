"""Clean refusals, not a 500 or a dropped socket, for requests that met a database outage."""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.health import is_database_outage

logger = logging.getLogger("ticket_stages.api")

RETRY_AFTER_SECONDS = 1
TRY_AGAIN_LATER = 1013  # the WebSocket close code for a temporary server condition
MESSAGE = "the database is unavailable: retry shortly"


class DatabaseOutage:
    """HTTP 503 with Retry-After, or a websocket closed with 1013, when an outage escapes.

    Errors inside a GraphQL operation are masked as INTERNAL by the schema; this catches the
    ones outside it (authentication of a request or a websocket, report downloads).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        answered = False  # a response started, or the socket was closed

        async def send_tracked(message: Message) -> None:
            nonlocal answered
            if message["type"] in ("http.response.start", "websocket.close"):
                answered = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as error:
            if answered or not is_database_outage(error):
                raise
            logger.warning(
                "database unavailable: request refused",
                extra={"path": scope.get("path"), "error": type(error).__name__},
            )
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": MESSAGE})
                return
            extensions = {"code": "UNAVAILABLE", "retryAfter": RETRY_AFTER_SECONDS}
            response = JSONResponse(
                {"errors": [{"message": MESSAGE, "extensions": extensions}]},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await response(scope, receive, send)
