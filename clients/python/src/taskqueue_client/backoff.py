"""Reconnect back-off: exponential with "equal jitter"."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """The n-th delay is drawn uniformly from [d/2, d] where d = min(max, initial·2ⁿ), so
    reconnecting workers spread out while still waiting at least half the nominal delay."""

    def __init__(self, initial: float, maximum: float, rand: Callable[[], float] = random.random) -> None:
        self._initial = initial
        self._max = max(initial, maximum)
        self._rand = rand
        #: Delays handed out since the last reset.
        self.attempts = 0

    def next(self) -> float:
        """Delay before the next attempt, in seconds."""
        nominal = min(self._max, self._initial * 2 ** min(self.attempts, 30))
        self.attempts += 1
        return nominal / 2 + self._rand() * nominal / 2

    def reset(self) -> None:
        """Starts again from the initial delay (after a session was welcomed)."""
        self.attempts = 0
