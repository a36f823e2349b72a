"""The fleet tier: a Redis (or Valkey, ElastiCache, Redis Cluster) store.

[Intent]
Share results between the hosts of a fleet, so a slow, rate-limited discovery
call is made once per fleet rather than once per host, without ever making the
cache slower or less reliable than calling the function.

[Design principles]
- Same values, same bytes: a stored value is the disk tier's envelope (with the
  user's data version), optionally behind a 32-byte HMAC tag (:mod:`.integrity`).
  Redis's own expiry (PX) is the entry's hard end; freshness is in the envelope.
  A foreign-version, corrupt, other-key or untrusted value is a miss.
- Fail open, fast: one read-through call waits on Redis at most ``budget`` in all
  (100 ms by default; :mod:`dbp.cache.budget`), each operation at most the socket
  time-out (50 ms), and after its first time-out the call skips Redis. At most one
  immediate retry on a broken connection, and a circuit breaker that skips Redis
  entirely during an outage. Nothing raises out of the
  store for a fault of Redis: reads miss, writes return False.
- Fleet single flight through a fenced lease (:mod:`.lease`), clears fenced by
  random generations (:mod:`.scripts`), invalidations over pub/sub
  (:mod:`.invalidation`) that also reach hosts which were away, through the
  fleet generation (:mod:`.generation`). Keys are Redis Cluster ready (:mod:`.keys`).

[Implementation details]
Blocking calls are here; the asyncio twins are in :mod:`.aio`; the steps both
share are in :mod:`.core`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ...entry import Entry
from ...sentinel import MISS, Miss
from ..cleared import EVERYTHING, Cleared, check_pattern
from .aio import AsyncRedisOps
from .client import OP_TIMEOUT, build_sync
from .connection import Connection, Script, text
from .core import FAILED, REDIS_ERRORS, SCAN_BATCH, RedisEntryInfo, check_owner
from .generation import Drop, Follower, Marker
from .invalidation import Subscriber
from .lease import Acquired, RedisLease

__all__ = ["RedisStore"]

#: The subscriber's socket time-out: it waits for messages, it does not serve calls.
_SUBSCRIBER_TIMEOUT = 1.0


class RedisStore(AsyncRedisOps):
    """A :class:`~dbp.cache.stores.contract.Store` over Redis; see the module docstring.

    Keyword arguments (all but ``url`` keyword-only): ``clock``, ``logger``,
    ``default_ttl`` (Redis lifetime of an entry with no finite end),
    ``data_version`` (callable: the user's CACHE_VERSION), ``prefix`` ("dbp:"),
    ``socket_timeout``/``connect_timeout`` (0.05 s: the per-call budget),
    ``retries`` (0 or 1: immediate retry on a broken connection only),
    ``health_check_interval`` (0: off; redis-py's check is a PING before the first
    command of a connection and after every idle spell, a round trip charged to a
    call's budget; a broken pooled connection is retried once instead),
    ``secret`` (HMAC key, >= 16 bytes),
    ``lease_seconds`` (30 s: longer than the slowest fill), ``budget`` (one
    read-through call's total wait on Redis; default two socket time-outs, 100 ms:
    after it, or after a time-out, the call skips Redis), ``breaker_threshold``
    (2 consecutive failures: a call stops at its first, so two calls in a row),
    ``breaker_backoff``/``breaker_max_backoff`` (1 s
    doubling to 30 s, jittered).
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._lock = threading.Lock()
        self._sync: Connection | None = None
        self._subscriber: Subscriber | None = None

    # -- the fail-open guard -----------------------------------------------
    def _conn(self) -> Connection:
        conn = self._sync
        if conn is None:
            with self._lock:
                if self._sync is None:  # a cluster client connects here, so may raise
                    self._sync = Connection.of(build_sync(self.options))
                conn = self._sync
        return conn

    def _guard(self, call: Callable[[Connection], Any], *, charge: bool = True) -> Any:
        """``call(connection)``, or FAILED when Redis fails, the breaker is open or this
        call's Redis budget is spent (its wait is charged unless ``charge`` is false)."""
        budget = self.opening()
        if budget is False:
            return FAILED
        started = time.monotonic()
        limit = OP_TIMEOUT.set(self.limit(budget, charge))
        try:
            result = call(self._conn())
        except REDIS_ERRORS as exc:
            self.closing(budget, started, exc, charge)
            return FAILED
        finally:
            OP_TIMEOUT.reset(limit)
        self.closing(budget, started, None, charge)
        return result

    def command(self, call: Callable[[Any], Any], *, fail_open: bool = True) -> Any:
        """``call(client)`` for work beyond the store contract (statistics, listings).

        ``fail_open``: guarded like every store call (``FAILED`` when Redis fails or
        the breaker is open); else Redis's error is raised, for the CLI to report.
        """
        if fail_open:
            return self._guard(lambda c: call(c.client))
        return call(self._conn().client)

    # -- the Store contract --------------------------------------------------
    def get(self, key: str, *, stale: bool = False) -> Entry | Miss:
        """The fresh entry (with ``stale``: one within its stale window), else MISS."""
        if self.sync_due():  # before this process's first value from Redis
            self.sync()
        entry_key = self.namer.names(key).entry
        raw = self._guard(lambda c: c.client.get(entry_key))
        return MISS if raw is FAILED else self.unpack(key, raw, stale)

    def set(
        self, key: str, entry: Entry, *, fence: object | None = None, body: bytes | None = None
    ) -> bool:
        """Store ``entry`` until its ``stale_until``; False if Redis failed or the write was fenced.

        ``fence``: the holder's ``lease.fence``; the write is then refused if the lease
        was taken over by another holder, or a ``clear`` happened since it was taken.
        Any write is refused if Redis holds a newer entry (created later) for the key.
        """
        packed = self.pack(key, entry, body)
        if packed is None:
            return True  # already past its stale window: nothing worth storing
        keys, args = self.write_call(key, packed, entry.created, fence)
        result = self._guard(lambda c: c.set_entry(keys=keys, args=args))
        self.wrote(fence, result)
        if result not in (1, FAILED):
            self._logger.debug("dbp cache: Redis write of %r refused (%s)", key, result)
        return bool(result == 1)

    def delete(self, key: str) -> bool:
        """Remove ``key`` here and tell other hosts to drop their copies."""
        entry_key = self.namer.names(key).entry
        removed = self._guard(lambda c: c.client.delete(entry_key))
        self._announce(Cleared(key=key))
        return removed not in (FAILED, 0)

    def clear(self, owner: str | None = None) -> int:
        """Remove every entry under the prefix (or ``owner``'s) by SCAN; fence running fills.

        First the clear generations are rotated (a fill whose lease predates this
        clear can no longer write), then entries are deleted, then other hosts are
        told. Never KEYS, never FLUSHDB.
        """
        return self._clear(Cleared(owner=check_owner(owner)))

    def clear_matching(self, pattern: str) -> int:
        """Remove every entry whose key matches the glob ``pattern``, as :meth:`clear` does.

        Keys are hashed in Redis, so this SCANs the prefix's entries and reads each
        header (in batches); every running fill is fenced, and other hosts drop
        their local copies of the matching keys.
        """
        return self._clear(Cleared(match=check_pattern(pattern)))

    def _clear(self, cleared: Cleared) -> int:
        def run(conn: Connection) -> int:
            client = conn.client
            pipe = client.pipeline(transaction=False)
            for name in self.namer.generations(cleared.owner):
                pipe.set(name, self.fresh_generation())
            pipe.execute()
            removed = 0
            for batch in self._batches(client):
                removed += self._delete_batch(client, batch, cleared)
            return removed

        removed = self._guard(run)
        self._announce(cleared)
        return 0 if removed is FAILED else int(removed)

    def scan(self) -> Iterator[RedisEntryInfo]:
        """Facts about every entry under the prefix (read in batches; empty if Redis fails)."""

        def run(conn: Connection) -> list[RedisEntryInfo]:
            found: list[RedisEntryInfo] = []
            for batch in self._batches(conn.client):
                pipe = conn.client.pipeline(transaction=False)
                for name in batch:
                    pipe.get(name)
                found.extend(map(self.info, batch, pipe.execute()))
            return found

        infos = self._guard(run)
        return iter(() if infos is FAILED else infos)

    def lock(self, key: str, owner: str | None = None, *, find: bool = False) -> RedisLease:
        """A fresh fleet lease for ``key`` (one per fill); see :class:`.lease.RedisLease`.

        Pass the entry's ``owner`` so that ``clear(owner)`` also fences this fill;
        ``find``: a fresh entry is found instead of taking the lease, in one round trip.
        """
        if not isinstance(key, str):
            raise TypeError(f"cache key must be a str, not {key!r}")
        return RedisLease(self, key, check_owner(owner), self.lease_seconds, find=find)

    def cleanup(self) -> int:
        """Remove corrupt, foreign-version and untrusted values (Redis expires the rest)."""

        def run(conn: Connection) -> int:
            client, removed = conn.client, 0
            for batch in self._batches(client):
                pipe = client.pipeline(transaction=False)
                for name in batch:
                    pipe.get(name)
                doomed = [
                    i.redis_key for i in map(self.info, batch, pipe.execute()) if i.key is None
                ]
                removed += self._delete_batch(client, doomed, EVERYTHING)
            return removed

        removed = self._guard(run)
        return 0 if removed is FAILED else int(removed)

    # -- helpers -------------------------------------------------------------
    def _batches(self, client: Any) -> Iterator[list[str]]:
        batch: list[str] = []
        for found in client.scan_iter(match=self.namer.entry_pattern(), count=SCAN_BATCH):
            batch.append(found.decode() if isinstance(found, bytes) else found)
            if len(batch) >= SCAN_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _delete_batch(self, client: Any, batch: list[str], cleared: Cleared) -> int:
        if cleared != EVERYTHING:  # by owner or glob: read the headers first
            pipe = client.pipeline(transaction=False)
            for name in batch:
                pipe.get(name)
            batch = self.chosen(batch, pipe.execute(), cleared)
        if not batch:
            return 0
        pipe = client.pipeline(transaction=False)
        for name in batch:  # one key per command: entries live in different slots
            pipe.delete(name)
        return sum(pipe.execute())

    def _announce(self, cleared: Cleared) -> None:
        """Replace the fleet generation and tell the other hosts what was cleared."""
        keys, args = self.generation_call()

        def run(conn: Connection) -> object:
            replaced = conn.replace_generation(keys=keys, args=args)
            conn.client.publish(self.namer.channel, self.message(cleared, replaced, args[0]))
            return replaced

        self.announced(cleared, self._guard(run), args[0])

    # -- the lease's Redis side (see lease.LeaseOps) ---------------------------
    def try_acquire(
        self, key: str, token: str, owner: str | None, ms: int, find: bool, charge: bool
    ) -> Acquired:
        keys, args = self.acquire_call(key, token, owner, ms, find)
        reply = self._guard(lambda c: c.acquire(keys=keys, args=args), charge=charge)
        return self.acquire_result(key, reply)

    def release_lease(self, key: str, token: str, failed: bool, ms: int) -> bool:
        keys, args = self.release_call(key, token, failed, ms)
        return bool(self._guard(lambda c: c.release(keys=keys, args=args)) == 1)

    # -- fleet-wide invalidation -----------------------------------------------
    def listen(self, drop: Drop, marker: Marker | None = None) -> Subscriber:
        """Keep this host's local tiers in step with the fleet's clears.

        Starts a daemon thread that calls ``drop(cleared)`` for other stores'
        deletes and clears (:class:`~dbp.cache.stores.cleared.Cleared`: a key, an
        owner, a glob, or everything) and, after every (re)subscription, drops
        everything if a clear happened that this host did not hear of (see
        :mod:`.generation`). ``marker`` keeps the generation the host's disk copies
        are consistent with across restarts. Returns the subscriber (``.subscribed``
        is an Event set while subscribed). :meth:`close` stops it.
        """
        if not callable(drop):
            raise TypeError(f"listen callback must be callable, not {drop!r}")
        # No retry inside redis-py: its PubSub would reconnect and re-subscribe
        # silently, and the clears published in the gap would go unnoticed.
        options = dataclasses.replace(self.options, retries=0)
        with self._lock:
            if self._subscriber is not None and self._subscriber.alive:
                raise RuntimeError(f"{self!r} is already listening; close() it first")
            self._follower = Follower(drop, marker, self._logger)
            self._subscriber = Subscriber(
                lambda: build_sync(options, socket_timeout=_SUBSCRIBER_TIMEOUT),
                self._read_generation,
                self.namer.channel,
                self.source,
                self.signer,
                self._follower,
                self._logger,
                self,
            )
            self._subscriber.start()
            return self._subscriber

    def sync(self) -> bool:
        """Check the fleet generation now (one round trip) if no check succeeded yet.

        Call it before serving a local copy that may predate this process: the
        cache does on its first disk read or write, and this store on its first
        read. False when Redis cannot be reached (local copies are then served,
        as during any outage, until a check works).
        """
        if not self.sync_due():
            return self._follower is not None
        keys, args = self.generation_call()
        return self.synced(self._guard(lambda c: c.current_generation(keys=keys, args=args)))

    def _read_generation(self, client: Any) -> str:
        """The fleet generation through ``client`` (the subscriber's own)."""
        from .scripts import CURRENT_GENERATION

        keys, args = self.generation_call()
        return text(Script(client, CURRENT_GENERATION)(keys=keys, args=args))

    def close(self) -> None:
        """Stop the subscriber and close the blocking client (safe to call twice)."""
        with self._lock:
            subscriber, self._subscriber = self._subscriber, None
            conn, self._sync = self._sync, None
        if subscriber is not None:
            subscriber.stop()
        if conn is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                conn.client.close()
