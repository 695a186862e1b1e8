"""The live machinery shows up in /metrics."""

from __future__ import annotations

import re

import pytest

from tests.live.conftest import Served
from tests.live.test_stage_counts import SUBSCRIBE, create_ticket
from tests.live.wsclient import LiveSocket, counts_of


def sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_subscriptions_reads_and_bus_traffic_are_counted(server: Served) -> None:
    acme = await server.workspace()
    async with LiveSocket.open(server.url, acme.key) as live:
        op = await live.subscribe(SUBSCRIBE)
        await counts_of(live, op)
        await create_ticket(acme)
        await counts_of(live, op)
        text = (await server.http.get("/metrics")).text
        assert sample(text, 'ticket_stages_live_subscriptions{field="stageCounts"}') == 1
        assert sample(text, "ticket_stages_live_counts_reads_total") >= 2
        assert sample(text, "ticket_stages_bus_published_total") >= 1
        assert sample(text, "ticket_stages_bus_subscribers") >= 1
    await live.connection.wait_closed()
