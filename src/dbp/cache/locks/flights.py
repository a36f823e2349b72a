"""Single flight: concurrent misses on one key make one underlying call.

Threads share a :class:`Flight` per key; the first to arrive (the leader)
computes, the rest wait for its value or its exception. Keys never wait on each
other. Across processes the leader also holds a per-key lock file (see
:meth:`DiscoveryCache.process_lock`).
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Flight", "FlightTable"]


class Flight:
    """One in-progress computation; waiters block on ``done``."""

    __slots__ = ("done", "error", "leader", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.leader = threading.get_ident()

    def result(self) -> Any:
        """Wait for the leader; return its value or raise its exception."""
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class FlightTable:
    """The in-progress computations of one cache, by key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Flight] = {}

    def join(self, key: str) -> tuple[Flight, bool]:
        """The flight for ``key`` and whether the caller leads it.

        A thread re-entering its own flight (a cached function calling itself
        with the same key) is told to lead a fresh one rather than deadlock.
        """
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None and flight.leader != threading.get_ident():
                return flight, False
            flight = Flight()
            self._flights[key] = flight
            return flight, True

    def finish(self, key: str, flight: Flight, value: Any, error: BaseException | None) -> None:
        """Publish the leader's outcome and retire the flight."""
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        flight.value = value
        flight.error = error
        flight.done.set()

    def __len__(self) -> int:
        return len(self._flights)


class AsyncFlightTable:
    """The asyncio counterpart of :class:`FlightTable`: one future per key and loop."""

    def __init__(self) -> None:
        self._flights: dict[str, Any] = {}  # key -> asyncio.Future
        self._leaders: dict[str, Any] = {}  # key -> the task computing it

    def join(self, key: str) -> tuple[Any, bool]:
        """The future for ``key`` on the running loop and whether the caller leads it."""
        import asyncio

        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        future = self._flights.get(key)
        if (
            future is not None
            and not future.done()
            and future.get_loop() is loop
            and self._leaders.get(key) is not task  # a task awaiting itself would deadlock
        ):
            return future, False
        future = loop.create_future()
        self._flights[key] = future
        self._leaders[key] = task
        return future, True

    def finish(self, key: str, future: Any, value: Any, error: BaseException | None) -> None:
        """Publish the leader's outcome; a cancelled leader cancels the future."""
        import asyncio

        if self._flights.get(key) is future:
            del self._flights[key]
            self._leaders.pop(key, None)
        if future.done():
            return
        if isinstance(error, asyncio.CancelledError):
            future.cancel()  # waiters notice and take over
        elif error is not None:
            future.set_exception(error)
            future.exception()  # mark retrieved: the leader re-raises it itself
        else:
            future.set_result(value)
