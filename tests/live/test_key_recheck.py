"""The periodic API-key re-check of open websockets is shared by the sockets of one key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from api import key_watch
from desk.service import Desk
from models import ApiKey
from tests.conftest import admin_actor


async def test_sockets_of_one_key_share_a_recheck_but_a_revocation_is_seen_at_once(
    db: str, desk: Desk
) -> None:
    actor = await admin_actor(desk)
    answers = await asyncio.gather(
        *(key_watch._still_active(actor, max_age=60) for _ in range(100))
    )
    assert all(answers)
    checks = {
        id(check)
        for (_, key_id), (_, check) in key_watch._recent.items()
        if key_id == actor.api_key_id
    }
    assert len(checks) == 1, "one query for a hundred sockets"

    await ApiKey.filter(id=actor.api_key_id).update(revoked_at=datetime.now(UTC))
    assert await key_watch._still_active(actor, max_age=60) is True  # the shared, recent answer
    assert await key_watch._still_active(actor, max_age=0) is False  # after a revocation event
