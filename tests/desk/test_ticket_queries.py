"""Pages of tickets at the domain level: plain rows, the page's stages, a count made when asked."""

from __future__ import annotations

from desk.access import Actor
from desk.clock import ManualClock
from desk.service import Desk
from desk.stages import create_stage
from desk.ticket_queries import TicketFilter, list_tickets
from desk.tickets import change_stage, create_ticket
from models import Channel, Stage, Ticket


async def test_a_page_reads_rows_and_the_stage_of_each(
    desk: Desk, actor: Actor, clock: ManualClock
) -> None:
    assigned = await create_stage(desk, actor, "Assigned", None, True)
    first = await create_ticket(desk, actor, "alice", Channel.EMAIL, "Hello")
    clock.advance(0.5)
    second = await create_ticket(desk, actor, "bob", Channel.SMS)
    await change_stage(desk, actor, str(second.id), str(assigned.id))
    page = await list_tickets(actor, first=10)
    assert [t.id for t in page.tickets] == [second.id, first.id]
    for row in page.tickets:
        model = await Ticket.get(id=row.id)
        for name in type(row).__slots__:
            assert getattr(row, name) == getattr(model, name), name
        stage = await Stage.get(id=row.stage_id)
        shown = page.stages[row.stage_id]
        for name in type(shown).__slots__:
            assert getattr(shown, name) == getattr(stage, name), name
    assert set(page.stages) == {assigned.id, first.stage_id}


async def test_the_total_is_counted_when_asked_not_when_listed(desk: Desk, actor: Actor) -> None:
    await create_ticket(desk, actor, "alice", Channel.EMAIL)
    page = await list_tickets(actor, first=1, where=TicketFilter(channel=Channel.EMAIL))
    await create_ticket(desk, actor, "bob", Channel.EMAIL)
    await create_ticket(desk, actor, "carol", Channel.SMS)
    assert len(page.tickets) == 1 and await page.total_count() == 2
