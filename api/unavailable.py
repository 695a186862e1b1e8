"""HTTP 503 with Retry-After, not a 500, for a request that failed because the database is away."""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.health import is_database_outage

logger = logging.getLogger("ticket_stages.api")

RETRY_AFTER_SECONDS = 1


class DatabaseOutage:
    """Answers 503 when an outage error escapes a handler before its response started.

    Errors inside a GraphQL operation are masked as INTERNAL by the schema; this catches the
    ones outside it (authentication in the context, report downloads).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as error:
            if started or not is_database_outage(error):
                raise
            logger.warning(
                "database unavailable: answered 503",
                extra={"path": scope.get("path"), "error": type(error).__name__},
            )
            extensions = {"code": "UNAVAILABLE", "retryAfter": RETRY_AFTER_SECONDS}
            response = JSONResponse(
                {
                    "errors": [
                        {
                            "message": "the database is unavailable: retry shortly",
                            "extensions": extensions,
                        }
                    ]
                },
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await response(scope, receive, send)
