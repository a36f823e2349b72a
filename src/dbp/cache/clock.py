"""Clocks: the cache reads time only through a :class:`Clock` so tests can move it.

Two readings are needed. Wall time (``time``) is what disk and shared tiers store,
because other processes and later runs must agree on it. Monotonic time
(``monotonic``) bounds the memory tier, so a wall-clock jump can neither make a
memory entry immortal nor expire it early.
"""

from __future__ import annotations

import threading
import time as _time
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """What the cache needs from a clock: wall seconds and monotonic seconds."""

    def time(self) -> float:
        """Seconds since the epoch (may jump)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class SystemClock:
    """The real clocks: :func:`time.time` and :func:`time.monotonic`."""

    __slots__ = ()

    time = staticmethod(_time.time)
    monotonic = staticmethod(_time.monotonic)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that moves only when told to: for tests and simulations.

    [Intent]
    Lets a test expire a three-day disk entry in microseconds, without sleeping.

    [Design principles]
    ``advance`` moves both readings together, like real time passing;
    ``jump_wall`` moves only the wall clock, like an NTP step or a user changing
    the date, which is what the cache must survive.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._lock = threading.Lock()
        self._wall = float(start)
        self._mono = 1_000.0

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass on both clocks."""
        if seconds < 0:
            raise ValueError(f"ManualClock.advance: seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self._wall += seconds
            self._mono += seconds

    def jump_wall(self, seconds: float) -> None:
        """Step only the wall clock (negative moves it back), as NTP or a user might."""
        with self._lock:
            self._wall += seconds

    def __repr__(self) -> str:
        return f"ManualClock(wall={self._wall!r}, monotonic={self._mono!r})"
