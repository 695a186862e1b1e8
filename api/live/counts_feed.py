"""Live stage counts for every local subscriber, at the cost of one read per burst.

For each workspace with subscribers on this process there is one feed: one bus subscription
to the workspace's counts channel and one task that reads a snapshot (all channels at once)
whenever a newer version is announced, the bus asks for a resync, a new subscriber needs a
fresh snapshot, or a poll is due. Events that arrive while a read is in flight cause exactly
one more read afterwards; events the last read already covers cause none. Every subscriber
keeps only a pointer to the newest snapshot, so a slow websocket skips versions instead of
queueing them. Queries of `stageCounts` are answered from the same snapshot while it is
current (nothing newer announced, the bus linked), and may keep the answers they computed
from it (`Snapshot.responses`). Events this process publishes itself are heard at once
through the local echo, so a change is never followed here by an answer that misses it.
The feed ends when its last subscriber has left and no query has asked for `linger` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from api.live.shared_results import share
from api.types.counts import StageCounts
from desk.analytics import StageCountsView
from desk.events import TOPIC_COUNTS, channel_name
from desk.live_counts import LiveCounts, read_live_counts
from desk.service import Desk
from models import Channel
from subscriptions.backoff import Backoff
from subscriptions.bus import Bus, Resync, Subscription
from subscriptions.echo import LocalEcho

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Polling:
    """How often a feed re-reads without being asked."""

    connected: float = 30.0  # safety net: now and then even when all looks well
    offline: float = 1.0  # while the bus has no link, changes are seen by polling
    linger: float = 60.0  # how long a feed outlives its last subscriber for queries


@dataclass(frozen=True, slots=True)
class ChannelCounts:
    """One channel's view of a snapshot, built once and shared by its subscribers."""

    view: StageCountsView
    content: tuple[object, ...]  # what a subscriber sees, version and time aside
    graphql: StageCounts  # the same object for every subscriber: its results are shared


MAX_RESPONSES = 256


@dataclass(frozen=True, slots=True)
class Snapshot:
    generation: int  # number of the read that produced it (reads are numbered from 1)
    counts: LiveCounts
    _channels: dict[Channel | None, ChannelCounts] = field(default_factory=dict, compare=False)
    # answers to queries computed from this snapshot alone, by (role, document, variables)
    responses: dict[tuple[str, ...], bytes] = field(default_factory=dict, compare=False)

    def keep_response(self, key: tuple[str, ...], body: bytes) -> None:
        if len(self.responses) < MAX_RESPONSES:
            self.responses[key] = body

    def channel(self, channel: Channel | None) -> ChannelCounts:
        found = self._channels.get(channel)
        if found is None:
            view = self.counts.view(channel)
            content = tuple(
                (s.id, s.name, s.position, s.kind, s.auto_close, count) for s, count in view.counts
            )
            found = ChannelCounts(view, content, share(StageCounts.from_view(view)))
            self._channels[channel] = found
        return found


class Watcher:
    """One subscriber: iterate to get each newer snapshot (only the newest, never a backlog).

    The first snapshot comes from a read that started after the watcher joined.
    """

    __slots__ = ("_feed", "_last", "_min_generation", "_waiter")

    def __init__(self, feed: WorkspaceFeed, min_generation: int) -> None:
        self._feed = feed
        self._min_generation = min_generation
        self._last: Snapshot | None = None
        self._waiter: asyncio.Future[None] | None = None

    def notify(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> Watcher:
        return self

    async def __anext__(self) -> Snapshot:
        return await self._next(stop_on_failure=False)  # type: ignore[return-value]

    async def first_read(self) -> Snapshot | None:
        """The snapshot of the first read since joining; None if that read failed."""
        return await self._next(stop_on_failure=True)

    async def _next(self, stop_on_failure: bool) -> Snapshot | None:
        while True:
            latest = self._feed.latest
            if (
                latest is not None
                and latest is not self._last
                and latest.generation >= self._min_generation
            ):
                self._last = latest
                return latest
            if self._feed.ended:
                raise StopAsyncIteration
            if stop_on_failure and self._feed.failed_generation >= self._min_generation:
                return None
            # a bare future, not an Event: a thousand of these are set per snapshot
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


class WorkspaceFeed:
    def __init__(
        self,
        bus: Bus,
        desk: Desk,
        workspace_id: uuid.UUID,
        polling: Polling,
        on_read: Callable[[], object] | None = None,
        echo: LocalEcho | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.latest: Snapshot | None = None
        self.ended = False
        self.last_queried = -math.inf  # loop time of the last query
        self._bus = bus
        self._echo = echo
        self._desk = desk
        self._polling = polling
        self._on_read = on_read
        self._watchers: set[Watcher] = set()
        self._reads_started = 0
        self.failed_generation = 0  # the number of the last read that failed
        self._wake = asyncio.Event()
        # what asks for a read
        self._resync = True
        self._joined = False
        self._announced = -1  # highest version announced on the bus
        self._poll_due = False
        self.reads = 0  # completed reads, for tests and metrics
        self._last_read = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"counts-feed-{self.workspace_id}")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def join(self) -> Watcher:
        watcher = Watcher(self, self._reads_started + 1)
        self._watchers.add(watcher)
        self._joined = True
        self._wake.set()
        return watcher

    def leave(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def current(self) -> Snapshot | None:
        """The newest snapshot if it reflects every change this process has heard of."""
        latest = self.latest
        if latest is None or self._read_due() or not self._bus.connected:
            return None
        return latest

    def lingering(self) -> bool:
        """Whether a query asked recently enough to keep the feed without subscribers."""
        since = asyncio.get_running_loop().time() - self.last_queried
        return since < self._polling.linger

    def _publish(self, snapshot: Snapshot) -> None:
        self.latest = snapshot
        for watcher in self._watchers:
            watcher.notify()

    def _read_due(self) -> bool:
        newest = -1 if self.latest is None else self.latest.counts.version
        return self._resync or self._joined or self._poll_due or self._announced > newest

    async def _run(self) -> None:
        backoff = Backoff(0.1, 2.0)
        channel = channel_name(self.workspace_id, TOPIC_COUNTS)
        stop_listening = (
            self._echo.listen(channel, self._announce) if self._echo is not None else None
        )
        try:
            while True:
                try:
                    async with self._bus.subscribe(channel, maxsize=64) as events:
                        self._resync = True
                        await self._serve(events, backoff)
                    return  # the bus stopped, or nobody asks any more
                except asyncio.CancelledError:
                    raise
                except Exception:
                    delay = backoff.next_delay()
                    logger.exception(
                        "live counts feed of workspace %s failed; retrying in %.2fs",
                        self.workspace_id,
                        delay,
                    )
                    await asyncio.sleep(delay)
        finally:
            self.ended = True
            if stop_listening is not None:
                stop_listening()
            for watcher in self._watchers:
                watcher.notify()

    async def _serve(self, events: Subscription, backoff: Backoff) -> None:
        pump = asyncio.create_task(self._pump(events), name=f"counts-pump-{self.workspace_id}")
        try:
            while not pump.done():
                if not self._read_due():
                    if not self._watchers and not self.lingering():
                        return
                    await self._sleep_until_due(pump)
                    continue
                try:
                    await self._read()
                    backoff.reset()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self._resync = True
                    delay = backoff.next_delay()
                    logger.warning(
                        "reading the live counts of workspace %s failed; retrying in %.2fs",
                        self.workspace_id,
                        delay,
                        exc_info=True,
                    )
                    await asyncio.sleep(delay)
            pump.result()  # re-raise what ended the pump, if anything
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _sleep_until_due(self, pump: asyncio.Task[None]) -> None:
        """Wait to be woken; look at the bus link every `offline` seconds meanwhile."""
        self._wake.clear()
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait(
                {waiter, pump}, timeout=self._polling.offline, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if done:
            return
        since_read = asyncio.get_running_loop().time() - self._last_read
        if not self._bus.connected or since_read >= self._polling.connected:
            self._poll_due = True

    async def _read(self) -> None:
        self._resync = self._joined = self._poll_due = False
        self._reads_started += 1
        generation = self._reads_started
        self._last_read = asyncio.get_running_loop().time()
        try:
            counts = await read_live_counts(self._desk, self.workspace_id)
        except Exception:
            self.failed_generation = generation
            for watcher in self._watchers:
                watcher.notify()
            raise
        self.reads += 1
        if self._on_read is not None:
            self._on_read()
        if self.latest is not None and counts.version < self.latest.counts.version:
            counts = (
                self.latest.counts
            )  # never go back (a read cannot see less than an earlier one)
        self._publish(Snapshot(generation, counts))

    async def _pump(self, events: Subscription) -> None:
        async for item in events:
            if isinstance(item, Resync):
                self._resync = True
                if self._read_due():
                    self._wake.set()
            else:
                self._announce(item)

    def _announce(self, payload: dict[str, Any]) -> None:
        version = payload.get("version")
        if isinstance(version, int) and not isinstance(version, bool):
            self._announced = max(self._announced, version)
        else:
            self._resync = True
        if self._read_due():
            self._wake.set()


class CountsFeeds:
    """The feeds of one process, by workspace; a feed lives while it is watched or queried."""

    def __init__(
        self,
        bus: Bus,
        desk: Desk,
        polling: Polling | None = None,
        on_read: Callable[[], object] | None = None,
        echo: LocalEcho | None = None,
    ) -> None:
        self._bus = bus
        self._desk = desk
        self.polling = polling or Polling()
        self._on_read = on_read
        self._echo = echo
        self._feeds: dict[uuid.UUID, WorkspaceFeed] = {}

    def _feed_of(self, workspace_id: uuid.UUID) -> WorkspaceFeed:
        feed = self._feeds.get(workspace_id)
        if feed is None or feed.ended:
            feed = WorkspaceFeed(
                self._bus, self._desk, workspace_id, self.polling, self._on_read, self._echo
            )
            self._feeds[workspace_id] = feed
            feed.start()
            assert feed.task is not None
            feed.task.add_done_callback(lambda _: self._forget(feed))
        return feed

    def _forget(self, feed: WorkspaceFeed) -> None:
        if self._feeds.get(feed.workspace_id) is feed:
            del self._feeds[feed.workspace_id]

    def current(self, workspace_id: uuid.UUID) -> Snapshot | None:
        """The workspace's current snapshot if this process has one at hand, without waiting."""
        feed = self._feeds.get(workspace_id)
        if feed is None:
            return None
        feed.last_queried = asyncio.get_running_loop().time()
        return feed.current()

    async def snapshot(self, workspace_id: uuid.UUID, wait: float = 2.0) -> Snapshot | None:
        """A snapshot holding every change this process has heard of when it is asked.

        None when the bus has no link, or when the read it waits for fails or takes more
        than `wait` seconds: the caller then reads the database itself.
        """
        if not self._bus.connected:
            return None
        feed = self._feed_of(workspace_id)
        feed.last_queried = asyncio.get_running_loop().time()
        found = feed.current()
        if found is not None:
            return found
        watcher = feed.join()  # the next read starts after this moment
        try:
            async with asyncio.timeout(wait):
                return await watcher.first_read()
        except (TimeoutError, StopAsyncIteration):
            return None
        finally:
            feed.leave(watcher)

    async def close(self) -> None:
        feeds = list(self._feeds.values())
        self._feeds.clear()
        for feed in feeds:
            feed.stop()
        for feed in feeds:
            if feed.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await feed.task

    def feeds(self) -> list[WorkspaceFeed]:
        return list(self._feeds.values())

    def feed(self, workspace_id: uuid.UUID) -> WorkspaceFeed | None:
        return self._feeds.get(workspace_id)

    @contextlib.asynccontextmanager
    async def watch(self, workspace_id: uuid.UUID) -> AsyncIterator[Watcher]:
        feed = self._feed_of(workspace_id)
        watcher = feed.join()
        try:
            yield watcher
        finally:
            # synchronous, so it completes even while the subscriber is being cancelled
            feed.leave(watcher)
            if feed.watcher_count == 0 and not feed.lingering():
                self._forget(feed)
                feed.stop()
