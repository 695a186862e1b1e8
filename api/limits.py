"""The contract's request limits, in one place."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions.max_aliases import create_validator as alias_rule

from api.depth_limit import depth_rule

MAX_QUERY_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2_000
MAX_DOCUMENT_BYTES = 64 * 1024
# variables can be larger than the document (a bulk move names up to 1,000 ids)
MAX_BODY_BYTES = 512 * 1024


# built once: the validation cache is keyed by the rule classes, so per-request classes
# would make every request miss it
_DEPTH_RULE = depth_rule(MAX_QUERY_DEPTH)
_ALIAS_RULE = alias_rule(MAX_ALIASES)


# depth (introspection included) and aliases, checked as validation rules
LIMIT_RULES = (_DEPTH_RULE, _ALIAS_RULE)


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuses HTTP bodies over MAX_BODY_BYTES with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": f"request body larger than {self.max_bytes} bytes",
                        "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                    }
                ]
            },
            status_code=413,
        )
        await response(scope, receive, send)
