"""Closes a websocket whose API key is revoked: at once on the revocation event, and by a
periodic re-check in case that event was lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketState

from api.services import Services
from desk.access import Actor
from desk.api_keys import is_active
from desk.events import TOPIC_KEYS, channel_name

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 15.0
REVOKED_CLOSE_CODE = 4403


async def watch_key(websocket: WebSocket, actor: Actor, services: Services, recheck: float = RECHECK_SECONDS) -> None:
    if actor.api_key_id is None:
        return
    channel = channel_name(actor.workspace_id, TOPIC_KEYS)
    async with services.bus.subscribe(channel) as events:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(recheck):
                    async for item in events:
                        if isinstance(item, dict) and item.get("revokedKeyId") == str(actor.api_key_id):
                            break
            if not await _still_active(actor):
                break
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, OSError):
            await websocket.close(code=REVOKED_CLOSE_CODE, reason="API key revoked")


async def _still_active(actor: Actor) -> bool:
    assert actor.api_key_id is not None
    try:
        return await is_active(actor.api_key_id)
    except Exception:  # the database is away: keep the socket, check again later
        logger.warning("could not re-check an API key of an open websocket", exc_info=True)
        return True
