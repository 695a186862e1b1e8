"""Live stage counts stay exact through a seeded random mix of every kind of operation.

The test keeps its own model of where each ticket is (the rules of product.md) and after every
operation compares the counts to it; every few operations it also compares them to counting the
tickets through `tickets(filter:) { totalCount }`, for the workspace and for each channel. The
counts version must grow with every change and stay put on no-ops and refusals.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from desk.clock import ManualClock
from tests.api.helpers import CHANNELS, Api, codes

SEED = 20261124
OPERATIONS = 240
MAX_INTERMEDIATE = 5


@dataclass
class ModelTicket:
    stage: str
    channel: str
    version: int = 1
    wakes_on_reply: bool = True


@dataclass
class Model:
    kinds: dict[str, str]  # live stage id -> kind
    tickets: dict[str, ModelTicket] = field(default_factory=dict)
    policy: str = "BOT"

    def id_of(self, kind: str) -> str:
        return next(s for s, k in self.kinds.items() if k == kind)

    def kind_of(self, ticket_id: str) -> str:
        return self.kinds[self.tickets[ticket_id].stage]

    def counts(self, channel: str | None = None) -> dict[str, int]:
        counts = dict.fromkeys(self.kinds, 0)
        for ticket in self.tickets.values():
            if channel is None or ticket.channel == channel:
                counts[ticket.stage] += 1
        return counts

    def move(self, ticket_id: str, stage: str) -> None:
        ticket = self.tickets[ticket_id]
        ticket.stage = stage
        ticket.version += 1
        ticket.wakes_on_reply = True


@dataclass
class Outcome:
    changed: bool | None  # None: not a change of counts, but not a no-op either (stage admin)
    one_bump: bool = False  # the whole operation is exactly one version step


class Mix:
    def __init__(self, api: Api, clock: ManualClock, model: Model, rng: random.Random) -> None:
        self.api = api
        self.clock = clock
        self.model = model
        self.rng = rng

    def some_ticket(self) -> str:
        roll = self.rng.random()
        if roll < 0.04 or not self.model.tickets:
            return self.rng.choice(["garbage", str(uuid.uuid4())])
        return self.rng.choice(list(self.model.tickets))  # creation order: reproducible

    def some_stage(self) -> str:
        return self.rng.choice(list(self.model.kinds))

    async def create(self) -> Outcome:
        channel = self.rng.choice(CHANNELS)
        stage = self.some_stage() if self.rng.random() < 0.5 else None
        payload = await self.api.create_ticket_payload(
            customerId=f"cust-{self.rng.randrange(12)}", channel=channel, stageId=stage
        )
        if stage is not None and self.model.kinds[stage] in ("SNOOZED", "AUTO_CLOSED"):
            assert codes(payload) == ["INVALID_TRANSITION"]
            return Outcome(changed=False)
        assert payload["userErrors"] == [], payload
        target = stage or self.model.id_of("OPEN")
        self.model.tickets[payload["ticket"]["id"]] = ModelTicket(target, channel)
        return Outcome(changed=True)

    async def change(self) -> Outcome:
        ticket_id, stage = self.some_ticket(), self.some_stage()
        known = self.model.tickets.get(ticket_id)
        expected = None
        if known is not None and self.rng.random() < 0.3:
            expected = known.version - self.rng.choice([0, 0, 1])
        payload = await self.api.change_stage(ticket_id, stage, expected_version=expected)
        if known is None:
            assert codes(payload) == ["NOT_FOUND"]
            return Outcome(changed=False)
        if expected is not None and expected != known.version:
            assert codes(payload) == ["VERSION_CONFLICT"]
            return Outcome(changed=False)
        if stage == known.stage:
            assert payload["userErrors"] == [] and payload["ticket"]["version"] == known.version
            return Outcome(changed=False)
        if self.model.kinds[stage] in ("SNOOZED", "AUTO_CLOSED"):
            assert codes(payload) == ["INVALID_TRANSITION"]
            return Outcome(changed=False)
        assert payload["userErrors"] == [], payload
        self.model.move(ticket_id, stage)
        assert payload["ticket"]["version"] == known.version
        return Outcome(changed=True)

    async def bulk(self) -> Outcome:
        ids = [self.some_ticket() for _ in range(self.rng.randrange(1, 12))]
        # one ticket spelled two ways
        ids += [i.upper() for i in ids if i in self.model.tickets and self.rng.random() < 0.15]
        stage = self.some_stage()
        payload = await self.api.bulk(ids, stage)
        if self.model.kinds[stage] in ("SNOOZED", "AUTO_CLOSED"):
            assert codes(payload) == ["INVALID_TRANSITION"] and payload["moved"] == []
            return Outcome(changed=False)
        assert payload["userErrors"] == [], payload
        first_spelling: dict[str, str] = {}
        for raw in ids:
            first_spelling.setdefault(raw.lower(), raw)
        known = {i: raw for i, raw in first_spelling.items() if i in self.model.tickets}
        to_move = [i for i in known if self.model.tickets[i].stage != stage]
        assert sorted(t["id"] for t in payload["moved"]) == sorted(to_move)
        assert sorted(payload["unchanged"]) == sorted(
            raw for i, raw in known.items() if i not in to_move
        )
        assert sorted(f["ticketId"] for f in payload["failed"]) == sorted(
            raw for i, raw in first_spelling.items() if i not in known
        )
        for ticket_id in to_move:
            self.model.move(ticket_id, stage)
        return Outcome(changed=bool(to_move), one_bump=True)

    async def snooze(self) -> Outcome:
        ticket_id = self.some_ticket()
        until = None if self.rng.random() < 0.4 else self.clock.now() + timedelta(hours=5)
        wake = self.rng.random() < 0.7
        payload = await self.api.snooze(ticket_id, until, wake_on_customer_reply=wake)
        known = self.model.tickets.get(ticket_id)
        if known is None:
            assert codes(payload) == ["NOT_FOUND"]
            return Outcome(changed=False)
        kind = self.model.kind_of(ticket_id)
        if kind in ("CLOSED", "AUTO_CLOSED"):
            assert codes(payload) == ["INVALID_TRANSITION"]
            return Outcome(changed=False)
        assert payload["userErrors"] == [], payload
        if kind != "SNOOZED":
            self.model.move(ticket_id, self.model.id_of("SNOOZED"))
        known.wakes_on_reply = wake or until is None
        return Outcome(changed=kind != "SNOOZED")

    async def reopen(self) -> Outcome:
        ticket_id = self.some_ticket()
        payload = await self.api.reopen(ticket_id)
        if ticket_id not in self.model.tickets:
            assert codes(payload) == ["NOT_FOUND"]
            return Outcome(changed=False)
        kind = self.model.kind_of(ticket_id)
        if kind == "OPEN":
            assert payload["userErrors"] == []
            return Outcome(changed=False)
        if kind not in ("CLOSED", "AUTO_CLOSED"):
            assert codes(payload) == ["INVALID_TRANSITION"]
            return Outcome(changed=False)
        assert payload["userErrors"] == [], payload
        self.model.move(ticket_id, self.model.id_of("OPEN"))
        return Outcome(changed=True)

    async def message(self) -> Outcome:
        ticket_id = self.some_ticket()
        author = self.rng.choice(["CUSTOMER", "CUSTOMER", "AGENT", "BOT"])
        payload = await self.api.message(ticket_id, author)
        known = self.model.tickets.get(ticket_id)
        if known is None:
            assert codes(payload) == ["NOT_FOUND"]
            return Outcome(changed=False)
        assert payload["userErrors"] == [], payload
        kind = self.model.kind_of(ticket_id)
        if author != "CUSTOMER":
            return Outcome(changed=False)
        if kind == "SNOOZED" and known.wakes_on_reply:
            self.model.move(ticket_id, self.model.id_of("OPEN"))
            return Outcome(changed=True)
        if kind in ("CLOSED", "AUTO_CLOSED") and self.model.policy == "REOPEN":
            self.model.move(ticket_id, self.model.id_of("OPEN"))
            return Outcome(changed=True)
        if kind in ("CLOSED", "AUTO_CLOSED") and self.model.policy == "NEW_TICKET":
            fresh = payload["ticket"]["id"]
            assert fresh != ticket_id
            self.model.tickets[fresh] = ModelTicket(self.model.id_of("OPEN"), known.channel)
            return Outcome(changed=True)
        assert payload["ticket"]["id"] == ticket_id
        return Outcome(changed=False)

    async def policy(self) -> Outcome:
        self.model.policy = self.rng.choice(["BOT", "REOPEN", "NEW_TICKET"])
        payload = await self.api.update_settings(closedReplyPolicy=self.model.policy)
        assert payload["userErrors"] == []
        return Outcome(changed=False)

    async def create_stage(self) -> Outcome:
        live = sum(kind == "INTERMEDIATE" for kind in self.model.kinds.values())
        if live >= MAX_INTERMEDIATE:
            return await self.delete_stage()
        name = f"Stage {uuid.uuid4().hex[:6]}"
        stage = await self.api.create_stage(name, auto_close=self.rng.random() < 0.7)
        self.model.kinds[stage["id"]] = "INTERMEDIATE"
        return Outcome(changed=None)

    async def delete_stage(self) -> Outcome:
        intermediate = [s for s, k in self.model.kinds.items() if k == "INTERMEDIATE"]
        if not intermediate:
            return await self.create_stage()
        doomed = self.rng.choice(intermediate)
        payload = await self.api.delete_stage(doomed)
        inside = [t for t, ticket in self.model.tickets.items() if ticket.stage == doomed]
        assert payload == {
            "deletedStageId": doomed,
            "movedTicketCount": len(inside),
            "userErrors": [],
        }
        del self.model.kinds[doomed]
        for ticket_id in inside:
            self.model.move(ticket_id, self.model.id_of("OPEN"))
        return Outcome(changed=True, one_bump=True)


async def counts_by_stage(api: Api, channel: str | None = None) -> tuple[int, dict[str, int]]:
    counts = await api.counts(channel)
    by_stage = {c["stage"]["id"]: c["count"] for c in counts["counts"]}
    assert counts["total"] == sum(by_stage.values())
    return int(counts["version"]), by_stage


async def counted_by_tickets(api: Api, stage_ids: list[str], channel: str | None) -> dict[str, int]:
    aliases = " ".join(
        f's{n}: tickets(first: 0, filter: {{stageIds: ["{stage_id}"], channel: $c}}) '
        "{ totalCount }"
        for n, stage_id in enumerate(stage_ids)
    )
    data = await api.ok(f"query($c: Channel) {{ {aliases} }}", {"c": channel})
    return {stage_id: data[f"s{n}"]["totalCount"] for n, stage_id in enumerate(stage_ids)}


async def check_against_tickets(api: Api, model: Model, channels: tuple[str | None, ...]) -> None:
    for channel in channels:
        _, counts = await counts_by_stage(api, channel)
        assert counts == model.counts(channel), channel
        assert await counted_by_tickets(api, list(counts), channel) == counts, channel
    live = {s["id"]: s["ticketCount"] for s in await api.stages()}
    assert live == model.counts()


async def test_counts_equal_counting_the_tickets_after_a_random_mix(
    api: Api, clock: ManualClock
) -> None:
    model = Model(kinds={s["id"]: s["kind"] for s in await api.stages()})
    rng = random.Random(SEED)
    mix = Mix(api, clock, model, rng)
    operations = {
        mix.create: 6,
        mix.change: 6,
        mix.bulk: 2,
        mix.snooze: 3,
        mix.reopen: 2,
        mix.message: 5,
        mix.policy: 1,
        mix.create_stage: 1,
        mix.delete_stage: 1,
    }
    version, _ = await counts_by_stage(api)
    seen: dict[str, int] = {}
    for step in range(OPERATIONS):
        clock.advance(timedelta(seconds=rng.randrange(1, 600)))
        operation = rng.choices(list(operations), weights=list(operations.values()))[0]
        outcome = await operation()
        seen[operation.__name__] = seen.get(operation.__name__, 0) + 1
        new_version, counts = await counts_by_stage(api)
        assert counts == model.counts(), (step, operation.__name__)
        if outcome.changed:
            assert new_version == version + 1 if outcome.one_bump else new_version > version, (
                step,
                operation.__name__,
            )
        elif outcome.changed is False:
            assert new_version == version, (step, operation.__name__)
        else:
            assert new_version >= version
        version = new_version
        if step % 20 == 19:
            await check_against_tickets(api, model, (None,))
    await check_against_tickets(api, model, (None, *CHANNELS))
    assert len(model.tickets) > 25 and all(n >= 5 for n in seen.values()), seen
    assert await api.count_tickets() == len(model.tickets)
