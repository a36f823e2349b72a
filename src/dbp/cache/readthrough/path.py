"""``get_or_compute``: the one read-through path, and its async twin as a thin shell.

[Intent]
Every cached read in the library goes through here: the decorator, the Bedrock
layer's refreshes and any user of :class:`~dbp.cache.TieredCache`.

[Implementation details]
1. Look up the tiers nearest first; a hit in a farther tier is promoted.
2. Join the in-process flight for the key: one leader per key per process
   (threads share a :class:`~dbp.cache.locks.flights.FlightTable`, tasks an
   :class:`~dbp.cache.locks.flights.AsyncFlightTable`); the others wait for its outcome.
3. The leader takes each tier's lock in order (host file lock, then a fleet
   lease), re-checking the tiers after each (:func:`.steps.fill`).
4. Call, write through, or serve stale on error.
5. A hit late in its lifetime starts one background refresh (refresh-ahead).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..budget import call_scope
from ..keys import check_key
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
        self._tasks: set[Any] = set()  # strong references to running async refreshes

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
                return self._joined(key, policy, flight.result)
            with self._leading(flights, key, flight) as outcome:
                outcome[0] = drive(self._fill(key, compute, policy, force))
                return outcome[0]

    async def aget_or_compute(
        self, key: str, compute: Compute, policy: Policy | None = None, *, force: bool = False
    ) -> Any:
        """:meth:`get_or_compute` for coroutine functions (``compute()`` returns an awaitable)."""
        import asyncio

        key, policy = check_key(key), policy or self.cache.plain_policy
        with call_scope():  # one budget for the call's waits on remote tiers
            if not force:
                found = await adrive(steps.lookup(self.cache, key, policy))
                if found is not MISS:
                    return self._hit(key, found, compute, policy, is_async=True)
            flights = self.cache.async_flights
            while True:
                future, leader = flights.join(key)
                if leader:
                    break
                try:
                    shielded = asyncio.shield(future)
                    return self._joined(key, policy, lambda: None, await shielded)
                except asyncio.CancelledError:
                    if future.cancelled():  # the leader was cancelled: take over
                        continue
                    raise
                except Exception as exc:  # the leader (perhaps a refresh-ahead) failed
                    return await adrive(steps.stale_or_raise(self.cache, key, policy, exc))
            with self._leading(flights, key, future) as outcome:
                outcome[0] = await adrive(self._fill(key, compute, policy, force))
                return outcome[0]

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

    def _joined(
        self, key: str, policy: Policy, result: Callable[[], Any], value: Any = MISS
    ) -> Any:
        """A waiter's answer: the leader's value, or stale/raise when the leader failed."""
        if value is MISS:
            try:
                value = result()
            except Exception as exc:  # the leader (perhaps a refresh-ahead) failed
                return drive(steps.stale_or_raise(self.cache, key, policy, exc))
        if policy.counters is not None:
            next(policy.counters.flight_hits)
        return value

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
            import asyncio

            task = asyncio.get_running_loop().create_task(self._arefresh(key, compute, policy))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        threading.Thread(
            target=self._refresh,
            args=(key, compute, policy),
            name=f"dbp-refresh {key}",
            daemon=True,
        ).start()

    def _refresh(self, key: str, compute: Callable[[], Any], policy: Policy) -> None:
        with call_scope(), self._refreshing_flight(self.cache.flights, key, policy) as outcome:
            if outcome is not None:
                outcome[0] = drive(steps.fill(self.cache, key, compute, policy, due_is_miss=True))

    async def _arefresh(self, key: str, compute: Callable[[], Any], policy: Policy) -> None:
        flights = self.cache.async_flights
        with call_scope(), self._refreshing_flight(flights, key, policy) as outcome:
            if outcome is not None:
                outcome[0] = await adrive(
                    steps.fill(self.cache, key, compute, policy, due_is_miss=True)
                )

    @contextmanager
    def _refreshing_flight(
        self, table: Any, key: str, policy: Policy
    ) -> Iterator[list[Any] | None]:
        """Lead ``key``'s flight for a background refresh, whatever the flight table.

        Yields ``[value]`` to fill in, or ``None`` when a caller already computes the
        key. A failure is logged, not raised: the current value stays. Waiters get
        the outcome either way.
        """
        try:
            flight, leader = table.join(key)
            if not leader:
                yield None
                return
            try:
                with self._leading(table, key, flight) as outcome:
                    yield outcome
            except Exception as exc:
                self.cache.logger.warning(
                    "dbp cache: refresh-ahead of %r for %s failed (%s: %s); the current value "
                    "stays until it expires",
                    key,
                    policy.owner or key,
                    type(exc).__name__,
                    exc,
                )
        finally:
            with self._refresh_lock:
                self._refreshing.discard(key)
