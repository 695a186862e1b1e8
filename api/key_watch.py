"""Closes a websocket whose API key is revoked: at once on the revocation event, and by a
periodic re-check in case that event was lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from starlette.websockets import WebSocket, WebSocketState

from api.services import Services
from desk.access import Actor
from desk.api_keys import is_active
from desk.events import TOPIC_KEYS, channel_name

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 15.0
REVOKED_CLOSE_CODE = 4403


async def watch_key(
    websocket: WebSocket, actor: Actor, services: Services, recheck: float = RECHECK_SECONDS
) -> None:
    if actor.api_key_id is None:
        return
    channel = channel_name(actor.workspace_id, TOPIC_KEYS)
    async with services.bus.subscribe(channel) as events:
        while True:
            revoked = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(recheck):
                    async for item in events:
                        if isinstance(item, dict) and item.get("revokedKeyId") == str(
                            actor.api_key_id
                        ):
                            revoked = True
                            break
            if not await _still_active(actor, max_age=0.0 if revoked else recheck / 2):
                break
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, OSError):
            await websocket.close(code=REVOKED_CLOSE_CODE, reason="API key revoked")


# (event loop id, key id) -> (when, the check): the sockets of one key share one re-check, so a
# thousand dashboards on one key cost one query per period, not a thousand
_recent: dict[tuple[int, uuid.UUID], tuple[float, asyncio.Future[bool]]] = {}


async def _still_active(actor: Actor, *, max_age: float) -> bool:
    assert actor.api_key_id is not None
    loop = asyncio.get_running_loop()
    key = (id(loop), actor.api_key_id)
    found = _recent.get(key)
    if found is not None and loop.time() - found[0] < max_age and found[1].get_loop() is loop:
        return await asyncio.shield(found[1])
    check = asyncio.ensure_future(_check(actor.api_key_id))
    _recent[key] = (loop.time(), check)
    if len(_recent) > 10_000:
        for stale in [k for k, (at, _) in _recent.items() if loop.time() - at > RECHECK_SECONDS]:
            del _recent[stale]
    return await asyncio.shield(check)


async def _check(api_key_id: uuid.UUID) -> bool:
    try:
        return await is_active(api_key_id)
    except Exception:  # the database is away: keep the socket, check again later
        logger.warning("could not re-check an API key of an open websocket", exc_info=True)
        return True
