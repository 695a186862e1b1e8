"""The actors of recently used API keys, so that a request needs no query to authenticate.

A key is answered from memory only while this process follows its workspace's key events
on the bus (a revocation then reaches the cache at once, from any process), only if that
following began before the key was read and nothing was revoked since, and for at most
`max_age` seconds, so that even a lost event heals. Unknown and revoked keys are always
looked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from desk.access import Actor
from desk.api_keys import authenticate, hash_secret
from desk.events import TOPIC_KEYS, channel_name
from subscriptions.bus import Bus
from subscriptions.echo import LocalEcho

logger = logging.getLogger(__name__)

MAX_ENTRIES = 10_000


@dataclass(slots=True)
class _Follow:
    """This process listening to one workspace's key events."""

    trusted: bool = False
    epoch: int = 0  # grows with every event: entries of an older epoch are void
    changed: int = 0  # the cache's sequence number when it was last trusted or changed
    last_used: float = 0.0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class _Known:
    actor: Actor
    epoch: int
    until: float


class KeyCache:
    def __init__(
        self,
        bus: Bus,
        echo: LocalEcho,
        *,
        max_age: float = 15.0,
        linger: float = 300.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._echo = echo
        self.max_age = max_age
        self.linger = linger
        self._now = now
        self._known: dict[str, _Known] = {}
        self._digests: dict[str, str] = {}  # secret -> its hash, for the keys of _known
        self._follows: dict[uuid.UUID, _Follow] = {}
        self._sequence = 0
        self.lookups = 0  # keys read from the database, for tests and metrics

    @property
    def following(self) -> int:
        """Workspaces whose key events this process listens to."""
        return len(self._follows)

    async def actor_for(self, secret: str) -> Actor | None:
        """The actor behind a bearer secret, or None for an unknown or revoked key."""
        actor = self.cached(secret)
        if actor is not None:
            return actor
        started = self._sequence
        self.lookups += 1
        actor = await authenticate(secret)
        if actor is not None:
            self._remember(self._digest(secret), actor, started)
        return actor

    def cached(self, secret: str) -> Actor | None:
        """The actor of a key this cache may answer for, without a lookup; else None."""
        digest = self._digest(secret)
        known = self._known.get(digest)
        if known is None:
            return None
        follow = self._follows.get(known.actor.workspace_id)
        now = self._now()
        if (
            follow is not None
            and follow.trusted
            and follow.epoch == known.epoch
            and now < known.until
            and self._bus.connected
        ):
            follow.last_used = now
            return known.actor
        del self._known[digest]
        return None

    def _digest(self, secret: str) -> str:
        digest = self._digests.get(secret)
        if digest is None:
            if len(self._digests) >= MAX_ENTRIES:
                self._digests.clear()
            digest = self._digests[secret] = hash_secret(secret)
        return digest

    def _remember(self, digest: str, actor: Actor, started: int) -> None:
        follow = self._follows.get(actor.workspace_id)
        if follow is None:
            self._start_following(actor.workspace_id)
            return
        follow.last_used = self._now()
        if not follow.trusted or follow.changed > started or not self._bus.connected:
            return  # followed only since the read began, or a key changed meanwhile
        if len(self._known) >= MAX_ENTRIES:
            self._known.clear()
        self._known[digest] = _Known(actor, follow.epoch, self._now() + self.max_age)

    def _start_following(self, workspace_id: uuid.UUID) -> None:
        follow = _Follow(last_used=self._now())
        self._follows[workspace_id] = follow
        follow.task = asyncio.create_task(
            self._follow(workspace_id, follow), name=f"key-cache-{workspace_id}"
        )

    def _changed(self, follow: _Follow) -> None:
        self._sequence += 1
        follow.epoch += 1
        follow.changed = self._sequence

    async def _follow(self, workspace_id: uuid.UUID, follow: _Follow) -> None:
        channel = channel_name(workspace_id, TOPIC_KEYS)
        stop_listening = self._echo.listen(channel, lambda _: self._changed(follow))
        try:
            async with self._bus.subscribe(channel, maxsize=16) as events:
                self._changed(follow)
                follow.trusted = True
                while self._now() - follow.last_used < self.linger:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(min(self.linger, 30.0)):
                            async for _ in events:  # a revocation, or a Resync
                                self._changed(follow)
                            return  # the bus stopped
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("following the API keys of workspace %s failed", workspace_id)
        finally:
            follow.trusted = False
            stop_listening()
            if self._follows.get(workspace_id) is follow:
                del self._follows[workspace_id]

    async def close(self) -> None:
        tasks = [f.task for f in self._follows.values() if f.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._known.clear()
