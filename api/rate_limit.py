"""Requests per minute per API key: a sliding-window counter over a shared or local store."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Protocol

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

WINDOW_SECONDS = 60


# a key past this share of its limit is counted exactly (a shared store may estimate below it)
EXACT_FROM = 0.5


class CounterStore(Protocol):
    async def hit(self, key: str, window: int, exact_above: int) -> tuple[int, int] | None:
        """Count one request in `window`; return (this window's count, the previous window's).

        A store shared by several processes may answer from what it knows in this process
        while the current count is at most `exact_above`, and must be exact above it.
        None when the store cannot answer (the request is then let through)."""


class LocalCounterStore:
    """Counts in this process: right for the embedded single-process default."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}

    async def hit(self, key: str, window: int, exact_above: int) -> tuple[int, int] | None:
        current = self._counts.get((key, window), 0) + 1
        self._counts[(key, window)] = current
        if len(self._counts) > 100_000:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window - 1}
        return current, self._counts.get((key, window - 1), 0)


class RateLimiter:
    def __init__(
        self, per_minute: int, store: CounterStore, now: Callable[[], float] = time.time
    ) -> None:
        self.per_minute = per_minute
        self.store = store
        self.now = now

    async def retry_after(self, key: str) -> float | None:
        """Seconds to wait when `key` is over its limit, else None (and the request counts)."""
        moment = self.now()
        window = int(moment // WINDOW_SECONDS)
        counts = await self.store.hit(key, window, int(self.per_minute * EXACT_FROM))
        if counts is None:
            return None
        current, previous = counts
        elapsed = (moment % WINDOW_SECONDS) / WINDOW_SECONDS
        weighted = previous * (1 - elapsed) + current
        if weighted <= self.per_minute:
            return None
        if current > self.per_minute:
            return WINDOW_SECONDS - (moment % WINDOW_SECONDS)
        # the previous window's share decays linearly: wait until it has decayed enough
        needed = (weighted - self.per_minute) / max(previous, 1) * WINDOW_SECONDS
        return max(1.0, min(needed, WINDOW_SECONDS - (moment % WINDOW_SECONDS)))


def key_of(authorization: bytes) -> str | None:
    scheme, _, secret = authorization.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return hashlib.sha256(secret.strip().encode()).hexdigest()[:32]


class RateLimit:
    """429 with Retry-After once an API key has made more requests than its minute allows."""

    def __init__(self, app: ASGIApp, limiter_of: Callable[[], RateLimiter | None]) -> None:
        self.app = app
        self.limiter_of = limiter_of
        self._keys: dict[bytes, str | None] = {}  # Authorization header -> its key

    def _key_of(self, authorization: bytes) -> str | None:
        if authorization not in self._keys:
            if len(self._keys) >= 10_000:
                self._keys.clear()
            self._keys[authorization] = key_of(authorization)
        return self._keys[authorization]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.limiter_of()
        if scope["type"] != "http" or limiter is None:
            await self.app(scope, receive, send)
            return
        key = None
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                key = self._key_of(value)
        if key is not None:
            wait = await limiter.retry_after(key)
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                response = JSONResponse(
                    {
                        "errors": [
                            {
                                "message": f"rate limit of {limiter.per_minute} requests "
                                f"per minute "
                                f"reached: retry in {seconds} s",
                                "extensions": {"code": "RATE_LIMITED", "retryAfter": seconds},
                            }
                        ]
                    },
                    status_code=429,
                    headers={"Retry-After": str(seconds)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
