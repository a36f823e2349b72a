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
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import time
from typing import Any, Literal, NamedTuple, Protocol

from ...entry import Entry
from ...sentinel import MISS, Miss

__all__ = ["Acquired", "Fence", "LeaseOps", "RedisLease"]

_FIRST_POLL = 0.005
_MAX_POLL = 0.1


#: One attempt's answer: the generations (leased), a fresh entry found (``find``),
#: ``MISS`` (a value found that is not ours to serve: ask again without ``find``),
#: ``False`` (busy) or ``None`` (Redis unusable).
Acquired = tuple[str, str] | Entry | Miss | Literal[False] | None


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


class LeaseOps(Protocol):
    """The Redis side of a lease, provided by the store (fail-open, breaker-guarded)."""

    def try_acquire(
        self, key: str, token: str, owner: str | None, ms: int, find: bool, charge: bool
    ) -> Acquired: ...

    async def try_acquire_async(
        self, key: str, token: str, owner: str | None, ms: int, find: bool, charge: bool
    ) -> Acquired: ...

    def release_lease(self, key: str, token: str) -> bool: ...

    async def release_lease_async(self, key: str, token: str) -> bool: ...


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
        return secrets.token_hex(16)

    def acquire(self, timeout: float) -> bool | None:
        """Take the lease, polling up to ``timeout`` seconds; see the module docstring."""
        deadline = time.monotonic() + _check_timeout(timeout)
        token, poll, charge = self._start(), _FIRST_POLL, True
        while True:
            got = self._ops.try_acquire(self.key, token, self.owner, self._ms, self._find, charge)
            done = self._outcome(got, token, deadline)
            if done is not None:
                return done[0]
            if got is MISS:
                continue
            time.sleep(min(deadline - time.monotonic(), poll * random.uniform(0.5, 1.5)))
            poll, charge = min(poll * 2, _MAX_POLL), False

    async def acquire_async(self, timeout: float) -> bool | None:
        """The asyncio twin of :meth:`acquire` (sleeps with ``asyncio.sleep``)."""
        deadline = time.monotonic() + _check_timeout(timeout)
        token, poll, charge = self._start(), _FIRST_POLL, True
        while True:
            got = await self._ops.try_acquire_async(
                self.key, token, self.owner, self._ms, self._find, charge
            )
            done = self._outcome(got, token, deadline)
            if done is not None:
                return done[0]
            if got is MISS:
                continue
            await asyncio.sleep(min(deadline - time.monotonic(), poll * random.uniform(0.5, 1.5)))
            poll, charge = min(poll * 2, _MAX_POLL), False

    def _outcome(self, got: Acquired, token: str, deadline: float) -> tuple[bool | None] | None:
        """What one attempt means: ``(answer,)``, or ``None`` to poll again."""
        if isinstance(got, Entry):  # a fresh entry: another host filled the key
            self._found = got
            return (False,)
        if got is MISS:  # a value we may not serve (another version): take the lease
            self._find = False
            return None
        if isinstance(got, tuple):
            self._fence, self._released = Fence(token, got[0], got[1], self.owner, self), False
            return (True,)
        if got is None:
            return (None,)  # Redis unusable: compute here, at once
        return (False,) if deadline - time.monotonic() <= 0 else None

    def release(self) -> None:
        """Compare-and-delete: frees the lease only if it still holds our token."""
        fence, self._fence = self._fence, None
        if fence is not None and not self._released:
            self._ops.release_lease(self.key, fence.token)

    async def release_async(self) -> None:
        """The asyncio twin of :meth:`release`."""
        fence, self._fence = self._fence, None
        if fence is not None and not self._released:
            await self._ops.release_lease_async(self.key, fence.token)

    def __repr__(self) -> str:
        return f"RedisLease({self.key!r}, held={self.held})"
