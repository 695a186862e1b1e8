"""Exponential backoff with jitter for reconnect loops."""

from __future__ import annotations

import random


class Backoff:
    """Delays grow ``initial * 2**n`` up to ``cap``; each is drawn from [delay/2, delay]."""

    def __init__(self, initial: float, cap: float, *, rng: random.Random | None = None) -> None:
        if not 0 < initial <= cap:
            raise ValueError(f"need 0 < initial <= cap, got initial={initial}, cap={cap}")
        self.initial = initial
        self.cap = cap
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.initial * 2 ** min(self._attempt, 30))
        self._attempt += 1
        return self._rng.uniform(delay / 2, delay)

    def reset(self) -> None:
        self._attempt = 0
