"""Single flight: concurrent misses on one key make one underlying call.

Threads share a :class:`Flight` per key; the first to arrive (the leader)
computes, the rest wait for its value or its exception. Keys never wait on each
other. Across processes the leader also holds a per-key lock file (see
:meth:`DiscoveryCache.process_lock`).
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["AsyncFlightTable", "Flight", "FlightTable", "outcome_of"]


class Flight:
    """One in-progress computation; waiters block on ``done``."""

    __slots__ = ("done", "error", "leader", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.leader = threading.get_ident()

    def outcome(self) -> tuple[Any, BaseException | None]:
        """Wait for the leader; its value and its exception (``None`` if it succeeded)."""
        self.done.wait()
        return self.value, self.error


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
    """The asyncio counterpart of :class:`FlightTable`: the call runs in a task of its own.

    The first caller of a key starts a task that makes the call; it and every
    other caller (later ones too, until the task ends) await it through
    ``asyncio.shield``, as ``async-lru`` does. So a cancelled caller gets its
    ``CancelledError`` at once and nothing changes for the others, and a caller's
    timeout never restarts the call. A task whose callers all left still runs to
    its end and its value is cached: the call's cost is already paid, and the next
    caller (often the same one, retrying) finds the value instead of starting over.
    """

    def __init__(self) -> None:
        self._flights: dict[str, Any] = {}  # key -> the asyncio.Task computing it
        self._running: set[Any] = set()  # strong references: the loop keeps weak ones

    def join(self, key: str, start: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[Any, bool]:
        """The task computing ``key`` on the running loop and whether this caller started it.

        ``start()`` makes the coroutine of a new task. ``(None, True)`` means the
        caller runs inside the computation of ``key`` itself (a cached function
        calling itself with the same key): awaiting the task would deadlock, so
        the caller computes inline.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        task = self._flights.get(key)
        if (id(self), key) in _computing.get():
            return None, True
        if task is not None and not task.done() and task.get_loop() is loop:
            return task, False
        task = loop.create_task(self._run(key, start()), name=f"dbp-fill {key}")
        self._flights[key] = task
        self._running.add(task)
        task.add_done_callback(functools.partial(self._finished, key))
        return task, True

    async def _run(self, key: str, work: Coroutine[Any, Any, Any]) -> Any:
        _computing.set(_computing.get() | {(id(self), key)})  # this task's own context
        return await work

    def _finished(self, key: str, task: Any) -> None:
        self._running.discard(task)
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved: its callers got it, or all of them left

    def __len__(self) -> int:
        return len(self._flights)


#: The keys (per table) the current task computes, inherited by the tasks it starts.
_computing: contextvars.ContextVar[frozenset[tuple[int, str]]] = contextvars.ContextVar(
    "dbp_cache_computing", default=frozenset()
)


def outcome_of(task: Any) -> tuple[Any, BaseException | None]:
    """A finished task's value and exception, as :meth:`Flight.outcome` gives them."""
    if task.cancelled():
        import asyncio

        return None, asyncio.CancelledError()
    error = task.exception()
    return (None, error) if error is not None else (task.result(), None)
