"""Fixtures of the domain tests: a desk whose published events are recorded, and an ADMIN."""

from __future__ import annotations

import pytest

from desk.access import Actor
from desk.clock import ManualClock
from desk.service import Desk
from tests.conftest import admin_actor
from tests.support.sweeps import RecordingPublisher


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def desk(clock: ManualClock, publisher: RecordingPublisher) -> Desk:
    return Desk(clock=clock, publisher=publisher)


@pytest.fixture
async def actor(db: str, desk: Desk) -> Actor:
    return await admin_actor(desk)
