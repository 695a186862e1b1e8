"""A demo workspace: a few intermediate stages and tickets in every stage."""

from __future__ import annotations

from datetime import timedelta

from desk import stages, tickets
from desk.access import Actor
from desk.api_keys import issue_key
from desk.autoclose import auto_close_due
from desk.clock import ManualClock
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
    # the store joined four days ago: long enough for a chat nobody answered to auto-close
    days_ago = Desk(clock=ManualClock(desk.clock.now() - timedelta(days=4)))
    workspace, secret = await create_workspace(days_ago, DEMO_NAME)
    key = await workspace.api_keys.all().first()
    assert key is not None
    actor = Actor(workspace_id=workspace.id, api_key_id=key.id, name="demo", role=Role.ADMIN)
    intermediate = [
        await stages.create_stage(days_ago, actor, name, None, auto_close)
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
            desk,
            actor,
            f"customer-{n % 9 + 1:03d}",
            channels[n % len(channels)],
            f"Order question #{1000 + n}",
        )
        await tickets.record_message(desk, actor, str(ticket.id), MessageAuthor.CUSTOMER, None)
        bucket = n % 6
        if bucket < 4:
            target = intermediate[bucket]
            await tickets.change_stage(desk, actor, str(ticket.id), str(target.id))
        elif bucket == 4:
            await tickets.change_stage(desk, actor, str(ticket.id), str(closed.id))
        elif n % 12 == 5:
            await tickets.snooze_ticket(
                desk, actor, str(ticket.id), desk.clock.now() + timedelta(days=2)
            )
    unanswered = await tickets.create_ticket(
        days_ago, actor, "customer-010", Channel.WHATSAPP, "Where is my parcel?"
    )
    await tickets.record_message(days_ago, actor, str(unanswered.id), MessageAuthor.CUSTOMER, None)
    await auto_close_due(desk)  # what the worker would do on its next pass
    return secret
