"""Random work on the stage machine keeps its invariants (Hypothesis stateful, both databases).

Each example is a fresh workspace on the test's database, driven through the domain functions
of desk/ with a clock that only moves when a rule moves it (and then the background sweeps
run, as the worker would). After every step:

- the live stage counts (all channels and each channel) equal COUNT(*) of the tickets table,
  and no ticket sits in a deleted stage;
- the counts version never goes down, and each ticket's version never goes down;
- a ticket's version equals its number of transitions, and replaying its history (CREATED,
  then each from -> to) has no gap and ends at its current stage;
- the stored stage kind is the stage's kind; closed tickets have closedAt and botActive,
  others neither; snoozed tickets (and any not eligible) have no autoCloseAt;
- an operation refused with a DeskError changed nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from tortoise.context import TortoiseContext

from desk import stages, tickets
from desk.access import Actor
from desk.analytics import live_stage_counts
from desk.autoclose import auto_close_due
from desk.clock import ManualClock, to_us
from desk.errors import DeskError
from desk.rules import auto_close_eligible, bot_active, is_closed
from desk.service import Desk
from desk.wake import wake_due
from desk.workspaces import SettingsChange, update_settings
from models import (
    Channel,
    ClosedReplyPolicy,
    MessageAuthor,
    Stage,
    StageKind,
    StageTransition,
    Ticket,
    TransitionSource,
    Workspace,
)
from models.database import activate, open_database
from tests.conftest import admin_actor

# modest on purpose: the whole module stays well under a minute on both databases
MACHINE_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    database=None,  # no example files in the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)

# unique, clashing ignoring case and spaces, a system name, too long, empty
STAGE_NAMES = ["Assigned", "In progress", "Pending", "Waiting", " assigned", "Open", "x" * 51, " "]
# three channels keep the per-channel checks cheap; the others' counters stay zero, which the
# all-channel check covers
CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.WHATSAPP]
CLOCK_STEPS = [
    timedelta(minutes=1),
    timedelta(hours=5),
    timedelta(days=1),
    timedelta(days=3, minutes=1),
    timedelta(days=9),
]
SNOOZE_AHEAD = [
    None,
    timedelta(hours=2),
    timedelta(days=2),
    timedelta(days=20),
    timedelta(hours=-1),
    timedelta(days=400),
]
MESSAGE_OFFSET = [
    None,
    timedelta(days=-2),
    timedelta(minutes=-30),
    timedelta(minutes=4),
    timedelta(hours=1),
]
PERIODS = [timedelta(hours=1), timedelta(days=3), timedelta(0)]

T = TypeVar("T")


class StageMachine(RuleBasedStateMachine):
    """Subclassed per test with the event loop runner, the open database and a shared clock."""

    runner: asyncio.Runner
    database: TortoiseContext
    clock: ManualClock

    def __init__(self) -> None:
        super().__init__()
        self.desk = Desk(clock=self.clock)
        self.actor: Actor = self.run(admin_actor(self.desk, f"ws {uuid.uuid4().hex[:6]}"))
        self.workspace_id = self.actor.workspace_id
        self.stage_ids: list[str] = []  # every stage ever known, deleted ones included
        self.live_admin_stage_ids: list[str] = []  # the intermediate ones not deleted
        self.ticket_ids: list[str] = []
        self.ticket_versions: dict[uuid.UUID, int] = {}
        self.counts_version = 0

    # --- plumbing -------------------------------------------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        async def in_database() -> T:
            with activate(self.database):
                return await coroutine

        return self.runner.run(in_database())

    def attempt(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        """Run one domain operation; a refusal (DeskError) must leave everything as it was."""
        before = self.run(self.snapshot())
        try:
            return self.run(_call(operation))
        except DeskError:
            assert self.run(self.snapshot()) == before, "a refused operation changed something"
            return None

    async def snapshot(self) -> tuple[Any, ...]:
        workspace = await Workspace.get(id=self.workspace_id)
        rows = (
            await Ticket.filter(workspace_id=self.workspace_id)
            .order_by("id")
            .values_list(
                "id",
                "version",
                "stage_id",
                "auto_close_due_us",
                "snoozed_until",
                "last_customer_message_at",
            )
        )
        stage_rows = (
            await Stage.filter(workspace_id=self.workspace_id)
            .order_by("id")
            .values_list("id", "name", "position", "auto_close", "deleted_at")
        )
        settings_ = (
            workspace.auto_close_enabled,
            workspace.auto_close_seconds,
            workspace.closed_reply_policy,
        )
        return workspace.counts_version, settings_, rows, stage_rows

    def pick(self, items: list[str], index: int) -> str:
        """Newest first: small indices (which Hypothesis favours) name recent tickets and the
        admins' stages rather than always the first system stage."""
        return items[-1 - index % len(items)]

    def note_ticket(self, ticket: Ticket | None) -> None:
        if ticket is not None and str(ticket.id) not in self.ticket_ids:
            self.ticket_ids.append(str(ticket.id))

    # --- rules ----------------------------------------------------------------------------

    @initialize(first_tickets=st.integers(1, 4), auto_close=st.booleans())
    def start(self, first_tickets: int, auto_close: bool) -> None:
        """The system stages, one admin stage and a few tickets: every rule has material."""
        listed = self.run(stages.list_stages(self.actor, include_deleted=True))
        # picked newest first: Open and Closed come before Snoozed and Auto closed (refused targets)
        self.stage_ids = [str(stage.id) for stage in sorted(listed, key=lambda s: -s.position)]
        self.create_stage("Triage", auto_close, None)
        for index in range(first_tickets):
            self.create_tickets(CHANNELS[index % len(CHANNELS)], None, 1)

    @rule(
        channel=st.sampled_from(CHANNELS),
        stage=st.none() | st.integers(0, 60),
        count=st.integers(1, 3),
    )
    def create_tickets(self, channel: Channel, stage: int | None, count: int) -> None:
        stage_id = None if stage is None else self.pick(self.stage_ids, stage)
        for _ in range(count):
            ticket = self.attempt(
                lambda: tickets.create_ticket(
                    self.desk, self.actor, "customer", channel, None, stage_id
                )
            )
            self.note_ticket(ticket)

    @precondition(lambda self: self.ticket_ids)
    @rule(ticket=st.integers(0, 200), stage=st.integers(0, 60), stale=st.none() | st.booleans())
    def change_stage(self, ticket: int, stage: int, stale: bool | None) -> None:
        ticket_id = self.pick(self.ticket_ids, ticket)
        expected = None if stale is None else self.version_of(ticket_id) - (1 if stale else 0)
        self.attempt(
            lambda: tickets.change_stage(
                self.desk, self.actor, ticket_id, self.pick(self.stage_ids, stage), expected
            )
        )

    @precondition(lambda self: self.ticket_ids)
    @rule(
        ticket=st.integers(0, 200), ahead=st.sampled_from(SNOOZE_AHEAD), wake_on_reply=st.booleans()
    )
    def snooze(self, ticket: int, ahead: timedelta | None, wake_on_reply: bool) -> None:
        until = None if ahead is None else self.clock.now() + ahead
        ticket_id = self.pick(self.ticket_ids, ticket)
        self.attempt(
            lambda: tickets.snooze_ticket(self.desk, self.actor, ticket_id, until, wake_on_reply)
        )

    @precondition(lambda self: self.ticket_ids)
    @rule(ticket=st.integers(0, 200))
    def reopen(self, ticket: int) -> None:
        ticket_id = self.pick(self.ticket_ids, ticket)
        self.attempt(lambda: tickets.reopen_ticket(self.desk, self.actor, ticket_id))

    @precondition(lambda self: self.ticket_ids)
    @rule(
        ticket=st.integers(0, 200),
        author=st.sampled_from(list(MessageAuthor)),
        offset=st.sampled_from(MESSAGE_OFFSET),
    )
    def message(self, ticket: int, author: MessageAuthor, offset: timedelta | None) -> None:
        sent_at = None if offset is None else self.clock.now() + offset
        ticket_id = self.pick(self.ticket_ids, ticket)
        result = self.attempt(
            lambda: tickets.record_message(self.desk, self.actor, ticket_id, author, sent_at)
        )
        self.note_ticket(result)  # the NEW_TICKET policy starts a new ticket

    @precondition(lambda self: self.ticket_ids)
    @rule(picks=st.lists(st.integers(0, 200), min_size=1, max_size=6), stage=st.integers(0, 60))
    def bulk_move(self, picks: list[int], stage: int) -> None:
        ids = [self.pick(self.ticket_ids, i) for i in picks] + ["not-an-id"]
        result = self.attempt(
            lambda: tickets.bulk_change_stage(
                self.desk, self.actor, ids, self.pick(self.stage_ids, stage)
            )
        )
        if result is not None:
            answered = (
                [str(t.id) for t in result.moved] + result.unchanged + [f[0] for f in result.failed]
            )
            assert sorted(answered) == sorted(set(ids)), (
                "every distinct id is answered exactly once"
            )

    @rule(
        name=st.sampled_from(STAGE_NAMES),
        auto_close=st.booleans(),
        position=st.none() | st.integers(2, 9),
    )
    def create_stage(self, name: str, auto_close: bool, position: int | None) -> None:
        stage = self.attempt(
            lambda: stages.create_stage(self.desk, self.actor, name, position, auto_close)
        )
        if stage is not None:
            self.stage_ids.append(str(stage.id))
            self.live_admin_stage_ids.append(str(stage.id))

    @rule(
        stage=st.integers(0, 60),
        auto_close=st.none() | st.booleans(),
        name=st.none() | st.sampled_from(STAGE_NAMES),
    )
    def update_stage(self, stage: int, auto_close: bool | None, name: str | None) -> None:
        change = stages.StageChange(name=name, auto_close=auto_close)
        stage_id = self.pick(self.live_admin_stage_ids or self.stage_ids, stage)
        self.attempt(lambda: stages.update_stage(self.desk, self.actor, stage_id, change))

    @rule(stage=st.integers(0, 60))
    def delete_stage(self, stage: int) -> None:
        stage_id = self.pick(self.live_admin_stage_ids or self.stage_ids, stage)
        if self.attempt(lambda: stages.delete_stage(self.desk, self.actor, stage_id)) is not None:
            self.live_admin_stage_ids.remove(stage_id)

    @rule(
        enabled=st.none() | st.booleans(),
        period=st.none() | st.sampled_from(PERIODS),
        policy=st.none() | st.sampled_from(list(ClosedReplyPolicy)),
    )
    def change_settings(
        self, enabled: bool | None, period: timedelta | None, policy: ClosedReplyPolicy | None
    ) -> None:
        change = SettingsChange(
            auto_close_enabled=enabled, auto_close_period=period, closed_reply_policy=policy
        )
        self.attempt(lambda: update_settings(self.desk, self.actor, change))

    @rule(step=st.sampled_from(CLOCK_STEPS))
    def time_passes(self, step: timedelta) -> None:
        """The clock moves and the worker's sweeps run; afterwards nothing due is left."""
        self.clock.advance(step)
        self.run(wake_due(self.desk))
        self.run(auto_close_due(self.desk))
        overdue, asleep = self.run(self.left_due())
        assert overdue == 0, "the auto-close sweep left a due ticket behind"
        assert asleep == 0, "the wake sweep left a due snooze behind"

    async def left_due(self) -> tuple[int, int]:
        now = self.clock.now()
        mine = Ticket.filter(workspace_id=self.workspace_id)
        overdue = await mine.filter(auto_close_due_us__lte=to_us(now)).count()
        asleep = await mine.filter(stage_kind=StageKind.SNOOZED, snoozed_until__lte=now).count()
        return overdue, asleep

    def version_of(self, ticket_id: str) -> int:
        return self.ticket_versions.get(uuid.UUID(ticket_id), 1)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        self.run(self.check())

    async def check(self) -> None:
        workspace_id = self.workspace_id
        stage_of = {s.id: s for s in await Stage.filter(workspace_id=workspace_id)}
        rows = await Ticket.filter(workspace_id=workspace_id)
        transitions: dict[uuid.UUID, list[StageTransition]] = defaultdict(list)
        for transition in await StageTransition.filter(workspace_id=workspace_id).order_by("id"):
            transitions[transition.ticket_id].append(transition)

        # counts: the maintained counters equal counting the table, overall and per channel
        live = await live_stage_counts(self.desk, workspace_id)
        counted = Counter(t.stage_id for t in rows)
        assert {s.id: n for s, n in live.counts} == {
            s.id: counted.get(s.id, 0) for s, _ in live.counts
        }, "live counts differ from COUNT(*)"
        assert live.total == len(rows), "a ticket is in a deleted stage"
        for channel in CHANNELS:
            by_channel = await live_stage_counts(self.desk, workspace_id, channel)
            counted_here = Counter(t.stage_id for t in rows if t.channel == channel)
            assert {s.id: n for s, n in by_channel.counts} == {
                s.id: counted_here.get(s.id, 0) for s, _ in by_channel.counts
            }, f"live counts of {channel} differ from COUNT(*)"
        assert live.version >= self.counts_version, "the counts version went down"
        self.counts_version = live.version

        for ticket in rows:
            stage = stage_of[ticket.stage_id]
            assert stage.deleted_at is None
            assert ticket.stage_kind is stage.kind, "the stored kind is not the stage's kind"
            # versions only grow, and count the transitions
            assert ticket.version >= self.ticket_versions.get(ticket.id, 1), "a version went down"
            self.ticket_versions[ticket.id] = ticket.version
            history = transitions[ticket.id]
            assert len(history) == ticket.version, "version != number of transitions"
            # replaying the history ends where the ticket is, with no gap
            first, *rest = history
            assert first.source is TransitionSource.CREATED and first.from_stage_id is None
            at = first.to_stage_id
            for transition in rest:
                assert transition.source is not TransitionSource.CREATED
                assert transition.from_stage_id == at, "a gap in the history"
                assert transition.to_stage_id != at, "a transition that changed nothing"
                at = transition.to_stage_id
            assert at == ticket.stage_id, "the history does not end at the current stage"
            # closed, bot and auto-close flags agree with the stage
            closed = is_closed(stage.kind)
            assert (ticket.closed_at is not None) == closed
            assert bot_active(ticket.stage_kind) == closed
            if stage.kind is StageKind.SNOOZED:
                assert ticket.auto_close_due_us is None, "a snoozed ticket has an autoCloseAt"
                assert ticket.snoozed_until is not None or ticket.snoozed_until_reply
            else:
                assert ticket.snoozed_until is None and not ticket.snoozed_until_reply
            if not auto_close_eligible(stage.kind, stage.auto_close):
                assert ticket.auto_close_due_us is None, "an ineligible ticket has an autoCloseAt"


async def _call(operation: Callable[[], Awaitable[T]]) -> T:
    return await operation()


def test_random_work_keeps_the_invariants(database_url: str) -> None:
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        database = runner.run(stack.enter_async_context(open_database(database_url)))
        try:
            machine = type(
                "StageMachineRun",
                (StageMachine,),
                {"runner": runner, "database": database, "clock": ManualClock()},
            )
            run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
        finally:
            runner.run(stack.aclose())
