"""``get_or_compute``: the one read-through path, and its async twin as a thin shell.

[Intent]
Every cached read in the library goes through here: the decorator, the Bedrock
layer's refreshes and any user of :class:`~dbp.cache.TieredCache`.

[Implementation details]
1. Look up the tiers nearest first; a hit in a farther tier is promoted.
2. Join the in-process flight for the key: one leader per key per process
   (threads share a :class:`~dbp.cache.locks.flights.FlightTable`; for tasks the
   call runs in a task of its own, see :class:`~dbp.cache.locks.flights.AsyncFlightTable`);
   the others wait for its outcome.
3. The leader takes each tier's lock in order (host file lock, then a fleet
   lease), re-checking the tiers after each (:func:`.steps.fill`).
4. Call, write through, or serve stale on error.
5. A hit late in its lifetime starts one background refresh (refresh-ahead).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..budget import call_scope
from ..keys import check_key
from ..locks.flights import outcome_of
from ..sentinel import MISS
from . import steps
from .ops import adrive, drive
from .steps import Policy

if TYPE_CHECKING:
    from ..tiered import TieredCache

__all__ = ["Compute", "ReadThrough"]

#: What computes a value: the user's function with its arguments bound.
Compute = Callable[[], Any]


class ReadThrough:
    """The read-through path of one :class:`~dbp.cache.TieredCache`."""

    def __init__(self, cache: TieredCache) -> None:
        self.cache = cache
        self._refresh_lock = threading.Lock()
        self._refreshing: set[str] = set()

    # -- the caller's path -------------------------------------------------------------
    def get_or_compute(
        self, key: str, compute: Compute, policy: Policy | None = None, *, force: bool = False
    ) -> Any:
        """The cached value of ``key``, or ``compute()``'s, stored (see the module steps).

        ``force`` computes anew even when a fresh value is cached (a forced refresh),
        still single-flighted and still serving stale on error when allowed.
        ``policy`` defaults to the cache's lifetimes, owner ``None``.
        """
        key, policy = check_key(key), policy or self.cache.plain_policy
        with call_scope():  # one budget for the call's waits on remote tiers
            if not force:
                found = drive(steps.lookup(self.cache, key, policy))
                if found is not MISS:
                    return self._hit(key, found, compute, policy, is_async=False)
            flights = self.cache.flights
            flight, leader = flights.join(key)
            if not leader:
                return drive(steps.shared(self.cache, key, policy, *flight.outcome()))
            with self._leading(flights, key, flight) as outcome:
                outcome[0] = drive(self._fill(key, compute, policy, force))
                return outcome[0]

    async def aget_or_compute(
        self, key: str, compute: Compute, policy: Policy | None = None, *, force: bool = False
    ) -> Any:
        """:meth:`get_or_compute` for coroutine functions (``compute()`` returns an awaitable).

        The call runs in a task of its own that every concurrent caller awaits
        through ``asyncio.shield`` (see :class:`~dbp.cache.locks.flights.AsyncFlightTable`):
        a cancelled caller gets ``CancelledError`` at once, the others still get
        the value, and the task runs to its end (and is cached) even when every
        caller has left.
        """
        import asyncio

        key, policy = check_key(key), policy or self.cache.plain_policy
        with call_scope():  # one budget for the call's waits on remote tiers (its task too)
            if not force:
                found = await adrive(steps.lookup(self.cache, key, policy))
                if found is not MISS:
                    return self._hit(key, found, compute, policy, is_async=True)

            def start() -> Coroutine[Any, Any, Any]:
                return adrive(self._fill(key, compute, policy, force))

            task, started = self.cache.async_flights.join(key, start)
            if task is None:  # the computation of ``key`` calls itself: compute inline
                return await start()
            if started:  # the task's outcome is this caller's: its value, or its error
                return await asyncio.shield(task)
            await asyncio.wait((task,))  # cancelling this caller leaves the task running
            return await adrive(steps.shared(self.cache, key, policy, *outcome_of(task)))

    # -- shared pieces ------------------------------------------------------------------
    def _fill(
        self, key: str, compute: Callable[[], Any], policy: Policy, force: bool
    ) -> steps.Plan:
        """The leader re-checks the tiers (another flight may just have filled them), then fills."""
        if not force:  # (a remote tier is looked up again by its lock, in the same round trip)
            found = yield from steps.lookup(self.cache, key, policy, remote=False)
            if found is not MISS:
                steps.count_hit(policy, found.tier)
                return found.value
        return (yield from steps.fill(self.cache, key, compute, policy, recheck=not force))

    def _hit(
        self,
        key: str,
        found: steps.Found,
        compute: Callable[[], Any],
        policy: Policy,
        is_async: bool,
    ) -> Any:
        steps.count_hit(policy, found.tier)
        if found.refresh_due:
            self.refresh_soon(key, compute, policy, is_async=is_async)
        return found.value

    @staticmethod
    @contextmanager
    def _leading(table: Any, key: str, flight: Any) -> Iterator[list[Any]]:
        """Publish the leader's outcome (value or exception) to the flight's waiters."""
        outcome: list[Any] = [None]
        error: BaseException | None = None
        try:
            yield outcome
        except BaseException as exc:
            error = exc
            raise
        finally:
            table.finish(key, flight, outcome[0], error)

    # -- refresh-ahead ---------------------------------------------------------------------
    def refresh_soon(
        self, key: str, compute: Callable[[], Any], policy: Policy, *, is_async: bool
    ) -> None:
        """Start one background refresh of ``key`` (a thread, or a task for coroutines).

        A failed refresh is logged and the current value stays: it is not the
        moment to serve a stale one, so the refresh runs without stale-on-error.
        """
        policy = policy._replace(stale_on=None)
        with self._refresh_lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)
        if is_async:
            task, started = self.cache.async_flights.join(
                key, lambda: adrive(self._refreshing_plan(key, compute, policy))
            )
            if not started or task is None:  # a caller computes the key already
                self._refreshed(key)
            return
        threading.Thread(
            target=self._refresh,
            args=(key, compute, policy),
            name=f"dbp-refresh {key}",
            daemon=True,
        ).start()

    def _refresh(self, key: str, compute: Callable[[], Any], policy: Policy) -> None:
        flights = self.cache.flights
        flight, leader = flights.join(key)
        if not leader:  # a caller computes the key already
            self._refreshed(key)
            return
        try:
            with self._leading(flights, key, flight) as outcome:
                outcome[0] = drive(self._refreshing_plan(key, compute, policy))
        except Exception:  # logged by the plan; the flight's waiters got it
            pass

    def _refreshing_plan(self, key: str, compute: Callable[[], Any], policy: Policy) -> steps.Plan:
        """A background refresh: fill; a failure is logged (the current value stays) and
        raised to the callers that joined the refresh's flight meanwhile."""
        try:
            with call_scope():  # a refresh's own budget on remote tiers
                return (yield from steps.fill(self.cache, key, compute, policy, due_is_miss=True))
        except Exception as exc:
            self.cache.logger.warning(
                "dbp cache: refresh-ahead of %r for %s failed (%s: %s); the current value "
                "stays until it expires",
                key,
                policy.owner or key,
                type(exc).__name__,
                exc,
            )
            raise
        finally:
            self._refreshed(key)

    def _refreshed(self, key: str) -> None:
        with self._refresh_lock:
            self._refreshing.discard(key)
