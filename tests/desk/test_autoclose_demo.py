"""The demo workspace shows an auto-closed chat, closed by the real sweep."""

from __future__ import annotations

from models import StageKind, StageTransition, Ticket, TransitionSource, Workspace
from tests.support.sweeps import assert_counts_match_tickets
from ticket_stages.demo import DEMO_NAME, ensure_demo


async def test_the_demo_has_a_ticket_in_auto_closed(db: str) -> None:
    await ensure_demo()
    workspace = await Workspace.get(name=DEMO_NAME)
    in_auto_closed = Ticket.filter(workspace_id=workspace.id, stage_kind=StageKind.AUTO_CLOSED)
    [auto_closed] = await in_auto_closed
    closing = await StageTransition.get(
        ticket_id=auto_closed.id, source=TransitionSource.AUTO_CLOSE
    )
    assert closing.actor == "system"
    kinds = set(await Ticket.filter(workspace_id=workspace.id).values_list("stage_kind", flat=True))
    assert {StageKind.OPEN, StageKind.INTERMEDIATE, StageKind.CLOSED, StageKind.SNOOZED} <= kinds
    await assert_counts_match_tickets(workspace.id)
    await ensure_demo()  # a second start only issues a new key
    assert await in_auto_closed.count() == 1
