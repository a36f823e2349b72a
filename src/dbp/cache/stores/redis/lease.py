"""The fleet lease: one host computes a key while the others wait for its result.

[Intent]
Single flight across a fleet without the known failures: a lease always has an
expiry (``SET NX PX``; a crashed holder blocks nobody for longer than the lease),
is released only by compare-and-delete (a holder whose lease lapsed cannot free
the next holder's), and its write is fenced (see :class:`Fence`).

[Design principles]
- ``acquire`` answers ``True`` (held), ``False`` (busy past ``timeout``) or
  ``None`` (Redis unusable: error or breaker open). ``None`` comes at once, so no
  one waits on a dead Redis; the caller computes locally.
- Waiting polls with short, jittered, growing sleeps (5 ms to 100 ms), so waiters
  on many hosts do not poll in lock step.
- Round trips: a lease made with ``find`` looks the key up in the same script
  (a fresh entry is :attr:`RedisLease.found` instead of the lease: another host
  filled it), and a fenced write releases the lease in its own script, so a miss
  costs three round trips in all: look up, find-or-lease, write-and-release.
  Polls after the first are waits on another host's call, not on Redis: they
  are not charged to the call's Redis budget.
- A holder whose call failed changes the key's failure mark as it lets go
  (``release(failed=True)``); a waiter that sees the mark changed between its first
  busy answer and the lease (``holder_failed``) calls at once rather than waiting
  its turn: hosts behind a failing holder are not served one after another.
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import time
from typing import Any, NamedTuple, Protocol

from ...entry import Entry
from ...sentinel import MISS, Miss

__all__ = ["Acquired", "Busy", "Fence", "LeaseOps", "RedisLease", "Taken"]

_FIRST_POLL = 0.005
_MAX_POLL = 0.1


class Fence(NamedTuple):
    """What a lease holder passes to ``RedisStore.set(..., fence=)``.

    The write lands only if the lease still holds ``token`` (or nobody holds it and
    the stored entry is not newer) and no ``clear`` rotated the generations
    captured when the lease was taken (``owner_generation`` "" = not checked).
    """

    token: str
    generation: str
    owner_generation: str
    owner: str | None
    lease: Any = None  # the RedisLease: a fenced write releases it (see ``written``)


class Taken(NamedTuple):
    """The lease is ours: the generations our write is checked against, the failure mark."""

    generation: str
    owner_generation: str
    failure_mark: str


class Busy(NamedTuple):
    """Another holder has the lease; the key's failure mark as it stands."""

    failure_mark: str


#: One attempt's answer: Taken, Busy, a fresh entry found (``find``), ``MISS`` (a value
#: found that is not ours to serve: ask again without ``find``) or None (Redis unusable).
Acquired = Taken | Busy | Entry | Miss | None


class LeaseOps(Protocol):
    """The Redis side of a lease, provided by the store (fail-open, breaker-guarded)."""

    def try_acquire(
        self, key: str, token: str, owner: str | None, ms: int, find: bool, charge: bool
    ) -> Acquired: ...

    async def try_acquire_async(
        self, key: str, token: str, owner: str | None, ms: int, find: bool, charge: bool
    ) -> Acquired: ...

    def release_lease(self, key: str, token: str, failed: bool, ms: int) -> bool: ...

    async def release_lease_async(self, key: str, token: str, failed: bool, ms: int) -> bool: ...


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"lease acquire timeout must be a number of seconds, not {timeout!r}")
    if not timeout >= 0 or math.isinf(timeout):
        raise ValueError(f"lease acquire timeout must be finite and >= 0, got {timeout!r}")
    return float(timeout)


class RedisLease:
    """A :class:`~dbp.cache.stores.contract.KeyLock` over one cache key, fleet-wide.

    One object per fill: ``acquire`` (or ``acquire_async``), re-check the tiers,
    compute, ``store.set(key, entry, fence=lease.fence)``, ``release``.
    """

    def __init__(
        self, ops: LeaseOps, key: str, owner: str | None, seconds: float, *, find: bool = False
    ) -> None:
        self._ops = ops
        self.key = key
        self.owner = owner
        self._ms = max(1, math.ceil(seconds * 1000))
        self._fence: Fence | None = None
        #: Set by acquire: this caller waited and the holder it waited for failed.
        self.holder_failed = False
        self._find = find
        self._found: Entry | Miss = MISS
        self._released = False  # by a fenced write's script

    @property
    def found(self) -> Entry | Miss:
        """With ``find``: the fresh entry acquiring found instead of the lease (else MISS)."""
        return self._found

    def written(self) -> None:
        """A fenced write released the lease in the same round trip: nothing left to free."""
        self._released = True

    @property
    def fence(self) -> Fence | None:
        """The write fence while held (``None`` when not held)."""
        return self._fence

    @property
    def held(self) -> bool:
        """Whether ``acquire`` succeeded and ``release`` was not called (it may have lapsed)."""
        return self._fence is not None

    def _start(self) -> str:
        if self._fence is not None:
            raise RuntimeError(f"lease for {self.key!r} is already held by this object")
        self.holder_failed = False
        return secrets.token_hex(16)

    def acquire(self, timeout: float) -> bool | None:
        """Take the lease, polling up to ``timeout`` seconds; see the module docstring."""
        tries, ops = _Tries(self, timeout), self._ops
        while pause := tries.pause(
            ops.try_acquire(self.key, tries.token, self.owner, self._ms, self._find, tries.charge)
        ):
            time.sleep(pause)
        return tries.result

    async def acquire_async(self, timeout: float) -> bool | None:
        """The asyncio twin of :meth:`acquire` (sleeps with ``asyncio.sleep``)."""
        tries = _Tries(self, timeout)
        ops, key, owner, ms = self._ops, self.key, self.owner, self._ms
        while pause := tries.pause(
            await ops.try_acquire_async(key, tries.token, owner, ms, self._find, tries.charge)
        ):
            await asyncio.sleep(pause)
        return tries.result

    def release(self, *, failed: bool = False) -> None:
        """Compare-and-delete: frees the lease only if it still holds our token.

        ``failed``: the holder's call raised; its waiters then call at once.
        """
        fence, self._fence = self._fence, None
        if fence is not None and not self._released:
            self._ops.release_lease(self.key, fence.token, failed, self._ms)

    async def release_async(self, *, failed: bool = False) -> None:
        """The asyncio twin of :meth:`release`."""
        fence, self._fence = self._fence, None
        if fence is not None and not self._released:
            await self._ops.release_lease_async(self.key, fence.token, failed, self._ms)

    def __repr__(self) -> str:
        return f"RedisLease({self.key!r}, held={self.held})"


class _Tries:
    """One ``acquire``'s decisions, written once for the sync and the async loop."""

    __slots__ = ("charge", "deadline", "first", "lease", "poll", "result", "token")

    def __init__(self, lease: RedisLease, timeout: float) -> None:
        self.deadline = time.monotonic() + _check_timeout(timeout)
        self.lease = lease
        self.token = lease._start()
        self.poll = _FIRST_POLL
        self.first: Taken | Busy | None = None
        self.result: bool | None = None
        self.charge = True  # the first try waits on Redis; later ones on another host's call

    def pause(self, got: Acquired) -> float:
        """Seconds to sleep before trying again, or 0: done, :attr:`result` says how."""
        if got is None:  # Redis unusable: at once, so no one waits on a dead server
            self.result = None
            return 0.0
        if isinstance(got, Entry):  # a fresh entry: another host filled the key
            self.lease._found, self.result = got, False
            return 0.0
        if got is MISS:  # a value we may not serve (another version): take the lease
            self.lease._find = False
            return 1e-6
        assert isinstance(got, (Taken, Busy))
        self.first = self.first or got
        if isinstance(got, Taken):
            lease = self.lease
            lease._released = False
            lease._fence = Fence(
                self.token, got.generation, got.owner_generation, lease.owner, lease
            )
            lease.holder_failed = (
                isinstance(self.first, Busy) and got.failure_mark != self.first.failure_mark
            )
            self.result = True
            return 0.0
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.result = False
            return 0.0
        pause = min(remaining, self.poll * random.uniform(0.5, 1.5))
        self.poll, self.charge = min(self.poll * 2, _MAX_POLL), False
        return pause
