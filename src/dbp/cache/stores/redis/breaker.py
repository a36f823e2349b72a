"""A per-process circuit breaker: stop asking a Redis that does not answer.

[Intent]
A dead or frozen Redis must cost each call at most one short time-out, and after
a few failures nothing at all: the cache computes locally instead. Every so often
exactly one call probes Redis again; its success closes the breaker.

[Design principles]
- The lock guards only state changes, never the guarded call: pybreaker holds its
  lock across the call, which would serialize every Redis operation of a process
  behind one slow request.
- Open -> half-open after a back-off that doubles up to ``max_backoff``, with
  jitter, so a fleet does not probe a recovering server in lock step.
- Half-open lets exactly ONE caller through (the probe); the others are refused
  until it reports.
- One warning per outage (the first failure), one INFO line on recovery; the rest
  is DEBUG.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable

__all__ = ["CircuitBreaker", "all_breakers"]

_CLOSED, _OPEN, _HALF_OPEN = "closed", "open", "half-open"
_ALL: weakref.WeakSet[CircuitBreaker] = weakref.WeakSet()
_ALL_LOCK = threading.Lock()


def all_breakers() -> list[CircuitBreaker]:
    """Every breaker alive in this process (read by the ``dbp.cache.redis.*`` metrics)."""
    with _ALL_LOCK:
        return list(_ALL)


class CircuitBreaker:
    """Closed (calls pass) -> open (calls skipped) -> half-open (one probe) -> closed."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        what: str,
        threshold: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise ValueError(f"breaker threshold must be an int >= 1, not {threshold!r}")
        if not 0 < backoff <= max_backoff:
            raise ValueError(
                f"breaker backoff must satisfy 0 < backoff <= max_backoff, "
                f"got {backoff!r} and {max_backoff!r}"
            )
        self._logger, self._what, self._now = logger, what, monotonic
        self.threshold = threshold
        self._base, self._max = backoff, max_backoff  # seconds: first and longest back-off
        self._lock = threading.Lock()
        self._state = _CLOSED
        self._failures = 0
        self._opens = 0  # consecutive openings: the back-off exponent
        self._retry_at = 0.0
        self._outage = False
        #: Failures so far, by exception class name (the ``dbp.cache.redis.faults`` metric).
        self.faults: dict[str, int] = {}
        with _ALL_LOCK:
            _ALL.add(self)

    @property
    def what(self) -> str:
        return self._what

    def fault_counts(self) -> dict[str, int]:
        """Failures so far by exception class name (a copy: a reader's thread takes it)."""
        with self._lock:
            return dict(self.faults)

    @property
    def state(self) -> str:
        return self._state

    def allow(self) -> bool:
        """Whether this call may use Redis now (half-open: only the one probe)."""
        if self._state == _CLOSED:  # the common case reads one attribute, no lock
            return True
        with self._lock:
            if self._state == _CLOSED:
                return True
            now = self._now()
            # (a probe that never reported, e.g. its thread died, is replaced in time)
            if now >= self._retry_at:
                self._state = _HALF_OPEN  # this caller is the probe
                self._retry_at = now + self._max
                return True
            return False

    def success(self) -> None:
        """The guarded call worked: close, and say so once if there was an outage."""
        if self._state == _CLOSED and not self._failures and not self._outage:
            return
        with self._lock:
            recovered = self._outage
            self._state, self._failures, self._opens, self._outage = _CLOSED, 0, 0, False
        if recovered:
            self._logger.info("dbp cache: %s works again", self._what)

    def failure(self, exc: BaseException) -> None:
        """The guarded call failed: count it, open at the threshold or when the probe fails."""
        with self._lock:
            first = not self._outage
            self._outage = True
            self._failures += 1
            self.faults[type(exc).__name__] = self.faults.get(type(exc).__name__, 0) + 1
            opened = False
            if self._state == _HALF_OPEN or self._failures >= self.threshold:
                delay = min(self._max, self._base * 2**self._opens)
                self._retry_at = self._now() + delay * random.uniform(0.5, 1.0)
                self._opens = min(self._opens + 1, 30)
                self._state = _OPEN
                opened = True
        if first:
            self._logger.warning(
                "dbp cache: %s failed (%s: %s); computing locally, retrying in the background",
                self._what,
                type(exc).__name__,
                exc,
            )
        else:
            self._logger.debug(
                "dbp cache: %s still failing (%s)%s", self._what, exc, " (open)" if opened else ""
            )
