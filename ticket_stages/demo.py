"""A demo workspace: a few intermediate stages and tickets in every stage."""

from __future__ import annotations

from datetime import timedelta

from desk import stages, tickets
from desk.access import Actor
from desk.api_keys import issue_key
from desk.service import Desk
from desk.workspaces import create_workspace
from models import Channel, MessageAuthor, Role, Stage, StageKind, Workspace

DEMO_NAME = "Demo store"


async def ensure_demo() -> str:
    """Create the demo workspace unless it exists; return a fresh ADMIN key for it."""
    desk = Desk()
    existing = await Workspace.get_or_none(name=DEMO_NAME)
    if existing is not None:
        count = await existing.api_keys.all().count()
        _, secret = await issue_key(desk, existing, f"demo admin key {count + 1}", Role.ADMIN)
        return secret
    workspace, secret = await create_workspace(desk, DEMO_NAME)
    key = await workspace.api_keys.all().first()
    assert key is not None
    actor = Actor(workspace_id=workspace.id, api_key_id=key.id, name="demo", role=Role.ADMIN)
    intermediate = [
        await stages.create_stage(desk, actor, name, None, auto_close)
        for name, auto_close in (
            ("Assigned", True),
            ("In progress", True),
            ("Waiting on supplier", False),
            ("Resolved", True),
        )
    ]
    closed = await Stage.get(workspace_id=workspace.id, kind=StageKind.CLOSED)
    channels = list(Channel)
    for n in range(24):
        ticket = await tickets.create_ticket(
            desk, actor, f"customer-{n % 9 + 1:03d}", channels[n % len(channels)], f"Order question #{1000 + n}"
        )
        await tickets.record_message(desk, actor, str(ticket.id), MessageAuthor.CUSTOMER, None)
        bucket = n % 6
        if bucket < 4:
            target = intermediate[bucket]
            await tickets.change_stage(desk, actor, str(ticket.id), str(target.id))
        elif bucket == 4:
            await tickets.change_stage(desk, actor, str(ticket.id), str(closed.id))
        elif n % 12 == 5:
            await tickets.snooze_ticket(desk, actor, str(ticket.id), desk.clock.now() + timedelta(days=2))
    return secret
