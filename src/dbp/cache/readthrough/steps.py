"""The read-through algorithm's steps, written once for sync and async callers.

[Intent]
Look up the tiers, promote, take the locks, call, write through, serve stale:
each step is a generator that *yields* the operations that may block (a store
read on a network tier, a lock acquisition, the call itself) and does everything
else inline. A sync driver performs the yielded operations directly, an async
driver awaits their async form; neither repeats a step (sans-I/O style).

[Design principles]
- A value found in a farther tier is copied into the nearer ones for at most its
  remaining farther lifetime, never extending it (:func:`promote`), for any
  number of tiers.
- A tier whose lifetime is 0 for this call is neither read nor written.
- A fill that began before a clear does not write its result back (the cache's
  ``epoch`` moved), so a clear is never undone by a slow fill.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import codec
from ..entry import Entry
from ..info import Counters
from ..sentinel import MISS
from .ops import Call, Io, Op, on_store

if TYPE_CHECKING:
    from ..stores.contract import KeyLock, Store
    from ..tiered import TieredCache

__all__ = [
    "Found",
    "Plan",
    "Policy",
    "fill",
    "lookup",
    "lookup_stale",
    "promote",
    "refresh_start",
    "shared",
    "write",
]

#: A step: yields operations, receives their results, returns its own result.
Plan = Generator[Op, Any, Any]


class Policy(NamedTuple):
    """How one read-through call treats the tiers (fixed per decorated function)."""

    ttls: tuple[float, ...]  # per tier, nearest first; 0 = skip that tier
    owner: str | None = None  # who wrote the entries (cache_clear() removes by owner)
    max_stale: float = 0.0  # how long past expiry a value may serve on error
    stale_on: Callable[[BaseException], bool] | None = None
    refresh_ahead: float = 0.0  # fraction of the lifetime before expiry
    counters: Counters | None = None
    drop_skipped: bool = False  # set(): a tier at 0 must not keep the old value


class Found(NamedTuple):
    """A fresh value, the tier that had it and whether a refresh-ahead is due."""

    value: Any
    tier: str
    refresh_due: bool


#: ``Found(...)`` without the Python frame of a NamedTuple's ``__new__`` (on every hit).
_found: Callable[[tuple[Any, str, bool]], Found] = functools.partial(tuple.__new__, Found)


def refresh_start(created: float, expires: float, refresh_ahead: float) -> float:
    """When, in the last ``refresh_ahead`` fraction of a lifetime, refresh-ahead begins."""
    if refresh_ahead <= 0:
        return math.inf
    return expires - refresh_ahead * (expires - created)


def lookup(
    cache: TieredCache,
    key: str,
    policy: Policy,
    *,
    due_is_miss: bool = False,
    upto: int | None = None,
    remote: bool = True,
) -> Plan:
    """The nearest fresh value as :class:`Found`, promoted into nearer tiers, or ``MISS``.

    With ``due_is_miss`` an entry already due for refresh-ahead counts as a miss
    (a background refresh uses this to notice that another process refreshed).
    ``upto`` looks at the nearest tiers only; ``remote=False`` skips network tiers
    (a re-check whose remote answer comes with the lock, in the same round trip).
    Every hit runs through here, so it does only what a hit needs: a store is read
    by :func:`~.ops.on_store`'s rule written inline (no frame of its own), and the
    enabled tiers passed over are the nearer ones that get a copy.
    """
    ttls = policy.ttls
    nearer = False  # an enabled nearer tier had nothing fresh (or was not read)
    for index, store in enumerate(cache.stores[:upto]):
        if ttls[index] <= 0:
            continue
        if remote or not store.remote:
            entry = (yield Io(store, "get", key)) if store.remote else store.get(key)
            if entry is not MISS and (judged := judge(cache, entry, index, policy, due_is_miss)):
                if nearer:
                    yield from promote(cache, key, entry, index, policy, judged[1])
                return judged[0]
        nearer = True
    return MISS


def judge(
    cache: TieredCache, entry: Entry, index: int, policy: Policy, due_is_miss: bool
) -> tuple[Found, float] | None:
    """``entry`` (fresh, from tier ``index``) as (:class:`Found`, refresh time), or None if due
    and ``due_is_miss``."""
    if index == 0:
        refresh_at = entry.refresh_at
    elif policy.refresh_ahead > 0:
        refresh_at = refresh_start(entry.created, entry.expires, policy.refresh_ahead)
    else:  # the usual case: no refresh-ahead, no call
        refresh_at = math.inf
    due = refresh_at != math.inf and refresh_at <= cache.clock.time()  # no clock read usually
    if due and due_is_miss:
        return None
    return _found((entry.value, cache.stores[index].name, due)), refresh_at


def promote(
    cache: TieredCache, key: str, entry: Entry, found_in: int, policy: Policy, refresh_at: float
) -> Plan:
    """Copy ``entry`` (found in tier ``found_in``) into the nearer enabled tiers.

    Each copy lives ``min(that tier's lifetime, the entry's remaining life)`` and
    keeps the entry's own created time and stale window: a copy never outlives
    the original, so promotion can't extend a lifetime.
    """
    now = cache.clock.time()
    body: bytes | None = None  # encoded once, for the serializing tiers only
    for store, ttl in zip(cache.stores[:found_in], policy.ttls[:found_in], strict=True):
        if ttl > 0:
            expires = min(entry.expires, now + ttl)
            copy = Entry(
                entry.value, entry.created, expires, entry.stale_until, entry.owner, refresh_at
            )
            if body is None and store.name != "memory":
                body = codec.encode(key, entry.value)
            yield from on_store(store, "set", key, copy, body=body)


def lookup_stale(cache: TieredCache, key: str, policy: Policy) -> Plan:
    """An entry expired no more than ``max_stale`` ago (or fresh) from any tier, or ``MISS``."""
    now = cache.clock.time()
    for store, ttl in zip(cache.stores, policy.ttls, strict=True):
        if ttl <= 0:
            continue
        entry = yield from on_store(store, "get", key, stale=True)
        if entry is not MISS and now < entry.expires + policy.max_stale:
            return entry
    return MISS


def write(
    cache: TieredCache,
    key: str,
    value: Any,
    policy: Policy,
    fences: Sequence[object | None] = (),
    epoch: int | None = None,
    created: float | None = None,
) -> Plan:
    """Validate ``value`` and write it to every enabled tier; False if a tier failed.

    Raises ``TypeError``/``ValueError`` (naming the key) for a value that could
    not come back equal from every tier, before anything is stored. Skips the
    write when a clear happened since ``epoch`` (the value is still returned to
    the caller, just not cached). ``created`` is when the call that produced
    ``value`` began (default: now): a shared tier refuses to replace an entry
    created later, so a slow call can't overwrite a newer call's result.
    """
    body = codec.encode(key, value)
    if epoch is not None and epoch != cache.epoch:
        return True
    now = cache.clock.time()
    lifetime = max(policy.ttls, default=0.0)
    refresh_at = refresh_start(now, now + lifetime, policy.refresh_ahead)
    stored = True
    tiers = list(enumerate(zip(cache.stores, policy.ttls, strict=True)))
    for index, (store, ttl) in reversed(tiers):  # farthest first: see below
        if ttl <= 0:
            if policy.drop_skipped:
                yield from on_store(store, "delete", key)
            continue
        entry = Entry(
            value,
            now if created is None else created,
            now + ttl,
            now + ttl + policy.max_stale,
            policy.owner,
            refresh_at,
        )
        fence = fences[index] if index < len(fences) else None
        if (yield from on_store(store, "set", key, entry, fence=fence, body=body)):
            continue
        stored = False
        if fence is not None and (yield from _newer_won(store, key, entry)):
            # Our lease lapsed and the next holder stored a newer value: this host's
            # nearer tiers must not keep serving our older one.
            return False
    return stored


def _newer_won(store: Store, key: str, ours: Entry) -> Plan:
    """After a refused fenced write: does ``store`` hold an entry newer than ``ours``?"""
    found = yield from on_store(store, "get", key)
    return found is not MISS and found.created > ours.created


def fill(
    cache: TieredCache,
    key: str,
    compute: Callable[[], Any],
    policy: Policy,
    *,
    due_is_miss: bool = False,
    recheck: bool = True,
) -> Plan:
    """The leader's work on a miss: lock tier by tier, re-check, call, write through.

    Each tier's own lock (none for memory, the host lock for disk, a lease for a
    shared server) is taken nearest first, and the tiers are looked up again after
    each, since another process may have filled the key meanwhile. A lock that is
    busy past the timeout or unusable means "compute here", never "fail"; a lock
    whose holder failed while we waited (``holder_failed``) means "call now, beside
    its other waiters" (a failing upstream is called at most once per process, in
    parallel, never N times in series). A holder whose call raised says so as it
    releases. On an error, a stale value is served when the policy allows it. A forced
    refresh (``recheck=False``) takes the locks but computes whatever it finds.
    """
    epoch = cache.epoch
    held: list[KeyLock] = []
    fences: list[object | None] = []
    failed = False
    try:
        for index, (store, ttl) in enumerate(zip(cache.stores, policy.ttls, strict=True)):
            # A remote tier's lock looks the key up in the same round trip.
            finds = recheck and not due_is_miss and store.remote
            lock = store.lock(key, policy.owner, find=finds) if ttl > 0 else None
            fences.append(None)
            if lock is None:
                continue
            taken = yield Io(lock, "acquire", cache.lock_timeout)
            entry = lock.found
            if isinstance(entry, Entry) and (judged := judge(cache, entry, index, policy, False)):
                # another host filled it meanwhile: served, promoted, counted as a hit
                if index and max(policy.ttls[:index]) > 0:
                    yield from promote(cache, key, entry, index, policy, judged[1])
                count_hit(policy, judged[0].tier)
                return judged[0].value
            if taken is False:
                cache.logger.warning(
                    "dbp cache: waited %.0fs for another process computing %r; computing it here",
                    cache.lock_timeout,
                    key,
                )
            if not taken:
                continue
            held.append(lock)
            fences[-1] = lock.fence
            if recheck:
                upto = index if finds else index + 1  # (this tier's answer came with its lock)
                found = yield from lookup(cache, key, policy, due_is_miss=due_is_miss, upto=upto)
                if found is not MISS:
                    count_hit(policy, found.tier)
                    return found.value
            if lock.holder_failed:
                # The call we waited for failed: call now, beside its other waiters,
                # not after them one by one (a failing upstream is never worse cached);
                # the locks we let go say so too, for whoever waits on them behind us.
                yield from _release(held, failed=True)
                fences = []
                break
        if policy.counters is not None:
            next(policy.counters.misses)
        started = cache.clock.time()  # the value is as old as the call: fences late writers
        began = time.perf_counter()
        try:
            value = yield Call(compute)
        except Exception as exc:
            failed = True
            if policy.counters is not None:
                policy.counters.record_call(began, exc)
            return (yield from stale_or_raise(cache, key, policy, exc))
        if policy.counters is not None:
            policy.counters.record_call(began, None)
        yield from save(cache, key, value, policy, fences, epoch, started)
        return value
    finally:
        yield from _release(held, failed=failed)


def _release(held: list[KeyLock], *, failed: bool = False) -> Plan:
    """Release the locks taken, farthest first; ``failed``: the call raised."""
    while held:
        yield Io(held.pop(), "release", failed=failed)


def save(
    cache: TieredCache,
    key: str,
    value: Any,
    policy: Policy,
    fences: Sequence[object | None],
    epoch: int,
    created: float | None = None,
) -> Plan:
    """Write a fresh result; a value that can't be stored is returned uncached (warned once)."""
    try:
        yield from write(cache, key, value, policy, fences, epoch, created)
    except (TypeError, ValueError) as exc:
        cache.unstorable(policy.owner or key, key, exc)


def stale_or_raise(cache: TieredCache, key: str, policy: Policy, error: Exception) -> Plan:
    """After the call raised: an expired value within ``max_stale``, else re-raise."""
    if policy.stale_on is None or not policy.stale_on(error):
        raise error
    entry = yield from lookup_stale(cache, key, policy)
    if entry is MISS:
        raise error
    if policy.counters is not None:
        next(policy.counters.stale_hits)
    cache.logger.warning(
        "dbp cache: %s failed (%s: %s); serving the value for %r that expired %.0fs ago",
        policy.owner or key,
        type(error).__name__,
        error,
        key,
        max(0.0, cache.clock.time() - entry.expires),
    )
    return entry.value


def shared(
    cache: TieredCache, key: str, policy: Policy, value: Any, error: BaseException | None
) -> Plan:
    """A waiter's answer from the call it shared: its value, or stale/raise on its error.

    Either way the waiter made no call of its own: a flight hit.
    """
    if policy.counters is not None:
        next(policy.counters.flight_hits)
    if error is None:
        return value
    if not isinstance(error, Exception):  # cancelled, interrupted: not the upstream's fault
        raise error
    return (yield from stale_or_raise(cache, key, policy, error))


def count_hit(policy: Policy, tier: str) -> None:
    if policy.counters is not None:
        next(policy.counters.tier(tier))
