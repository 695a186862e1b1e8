"""The single pub/sub connection of a process, supervised: it reconnects, re-subscribes and
tells every subscriber to resync, whatever broke (reset, restart, a frozen server)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from subscriptions.backoff import Backoff
from subscriptions.encoding import PayloadError, decode
from subscriptions.hub import Hub
from subscriptions.metrics import DROP_UNDECODABLE, MetricsEmitter
from subscriptions.tasks import cancel_and_wait
from subscriptions.tuning import RedisTuning

logger = logging.getLogger(__name__)

_CHUNK = 500  # channels per SUBSCRIBE / UNSUBSCRIBE command


class LinkSilent(ConnectionError):
    """Redis stopped answering on an open connection (e.g. the server is frozen)."""


class _Link:
    """State of one connection: the channels asked for, and commands not yet confirmed."""

    __slots__ = ("pending", "requested")

    def __init__(self) -> None:
        self.requested: set[str] = set()
        self.pending: dict[str, int] = {}


class Listener:
    """Keeps the hub's channels subscribed on one connection and feeds messages to the hub.

    A session is: connect, subscribe every channel with local subscribers, then a reader
    (messages, confirmations, and a read deadline: silence longer than heartbeat_timeout is a
    break) and a writer (SUBSCRIBE/UNSUBSCRIBE as subscribers come and go, PING every
    heartbeat_interval). Any error ends the session; ``run`` logs it, waits with backoff and
    starts a new one. Subscribers get ``Resync("reconnect")`` as soon as their channel is
    confirmed again (see Hub.mark_ready).
    """

    def __init__(
        self,
        hub: Hub,
        connect: Callable[[], AbstractConnection],
        metrics: MetricsEmitter,
        tuning: RedisTuning,
        *,
        where: str,
    ) -> None:
        self._hub = hub
        self._make_connection = connect
        self._metrics = metrics
        self._tuning = tuning
        self._where = where
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._connected = False
        self._sessions = 0

    @property
    def connected(self) -> bool:
        return self._connected

    def channel_changed(self, channel: str) -> None:
        """Hub callback: a channel got its first local subscriber or lost its last one."""
        self._dirty.add(channel)
        self._wake.set()

    async def run(self) -> None:
        """The supervising loop; returns only by cancellation."""
        loop = asyncio.get_running_loop()
        backoff = Backoff(self._tuning.backoff_initial, self._tuning.backoff_max)
        failures = 0
        while True:
            began = loop.time()
            sessions_before = self._sessions
            try:
                await self._session()
                error: BaseException = RuntimeError("listener session ended without an error")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
            established = self._sessions > sessions_before
            if established:
                failures = 0
                if loop.time() - began >= backoff.cap:
                    backoff.reset()
            failures += 1
            delay = backoff.next_delay()
            self._log_break(error, established, failures, delay)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        connection = self._make_connection()
        workers: list[asyncio.Task[None]] = []
        try:
            async with asyncio.timeout(self._tuning.connect_timeout + self._tuning.socket_timeout):
                await connection.connect()
            link = _Link()
            self._dirty = set(self._hub.channel_names())
            self._wake.set()
            self._connected = True
            self._sessions += 1
            if self._sessions > 1:
                self._metrics.reconnect()
                logger.info(
                    "pub/sub link to Redis at %s is back; re-subscribing %d channel(s)",
                    self._where,
                    len(self._dirty),
                )
            workers = [
                asyncio.create_task(self._read(connection, link), name="bus-listener-read"),
                asyncio.create_task(self._write(connection, link), name="bus-listener-write"),
            ]
            done, _running = await asyncio.wait(workers, return_when=asyncio.FIRST_COMPLETED)
            for worker in done:
                worker.result()  # raises the error that ended the session
            raise ConnectionError("the pub/sub session ended")
        finally:
            self._connected = False
            self._hub.mark_all_unready()
            try:
                # Disconnect first: a worker that missed its cancellation fails its next I/O.
                await connection.disconnect(nowait=True)
            except Exception as exc:
                logger.debug("closing the pub/sub connection failed: %r", exc)
            await cancel_and_wait(workers)

    async def _read(self, connection: AbstractConnection, link: _Link) -> None:
        deadline = self._tuning.heartbeat_timeout
        while True:
            response = await connection.read_response(timeout=deadline)
            if response is None:
                raise LinkSilent(f"no reply from Redis for {deadline:.1f}s")
            if not isinstance(response, list) or len(response) < 2:
                continue  # PONG outside subscribed mode: only proof of life
            kind = response[0]
            if kind == b"message" and len(response) == 3:
                self._dispatch(_text(response[1]), response[2])
            elif kind in (b"subscribe", b"unsubscribe"):
                self._confirmed(_text(response[1]), link)

    async def _write(self, connection: AbstractConnection, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        interval = self._tuning.heartbeat_interval
        next_ping = loop.time() + interval
        while connection.is_connected:
            self._wake.clear()
            await self._sync_channels(connection, link)
            if loop.time() >= next_ping:
                await _send(connection, "PING")
                next_ping = loop.time() + interval
            if not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_ping - loop.time())):
                        await self._wake.wait()
        raise ConnectionError("the pub/sub connection is closed")

    async def _sync_channels(self, connection: AbstractConnection, link: _Link) -> None:
        dirty, self._dirty = self._dirty, set()
        subscribe: list[str] = []
        unsubscribe: list[str] = []
        for channel in dirty:
            wanted = self._hub.has_channel(channel)
            asked = channel in link.requested
            if wanted and not asked:
                subscribe.append(channel)
            elif asked and not wanted:
                unsubscribe.append(channel)
            elif wanted and channel not in link.pending:
                self._hub.mark_ready(channel)  # came back before we unsubscribed it
        for chunk in _chunks(subscribe, _CHUNK):
            link.requested.update(chunk)
            _expect_confirmations(link, chunk)
            await _send(connection, "SUBSCRIBE", *chunk)
        for chunk in _chunks(unsubscribe, _CHUNK):
            link.requested.difference_update(chunk)
            _expect_confirmations(link, chunk)
            await _send(connection, "UNSUBSCRIBE", *chunk)

    def _confirmed(self, channel: str, link: _Link) -> None:
        remaining = link.pending.get(channel, 0) - 1
        if remaining > 0:
            link.pending[channel] = remaining
            return
        link.pending.pop(channel, None)
        if channel in link.requested:
            self._hub.mark_ready(channel)

    def _dispatch(self, channel: str, data: bytes) -> None:
        if not self._hub.has_channel(channel):
            return
        try:
            payload = decode(data)
        except PayloadError as exc:
            logger.warning("dropping a message on %s: %s", channel, exc)
            self._metrics.dropped(DROP_UNDECODABLE)
            return
        self._hub.deliver(channel, payload)

    def _log_break(
        self, error: BaseException, established: bool, failures: int, delay: float
    ) -> None:
        expected = isinstance(error, (RedisError, OSError, TimeoutError))
        if established:
            level, what = logging.WARNING, "lost the pub/sub link to"
        else:
            level = logging.WARNING if failures % 10 == 1 else logging.DEBUG
            what = "cannot open the pub/sub link to"
        if not expected:
            level, what = logging.ERROR, "unexpected error in the pub/sub listener for"
        logger.log(
            level,
            "%s Redis at %s (attempt %d, %d channel(s), %d subscriber(s)): %s: %s; "
            "reconnecting in %.2fs",
            what,
            self._where,
            failures,
            self._hub.channel_count,
            self._hub.subscriber_count,
            type(error).__name__,
            error,
            delay,
            exc_info=error if not expected else None,
        )


async def _send(connection: AbstractConnection, *args: str) -> None:
    if not connection.is_connected:  # never let redis-py reconnect behind our back
        raise ConnectionError("the pub/sub connection is closed")
    await connection.send_command(*args, check_health=False)


def _expect_confirmations(link: _Link, channels: Sequence[str]) -> None:
    for channel in channels:
        link.pending[channel] = link.pending.get(channel, 0) + 1


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
