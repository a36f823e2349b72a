"""``TieredCache``: stores composed nearest first, with one read-through path.

The decorator, the Bedrock layer and the CLI all go through this class (the
Bedrock layer's ``DiscoveryCache`` subclasses it with the seed's helpers).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .clock import SYSTEM_CLOCK, Clock
from .envelope import FORMAT_VERSION, DataVersion, check_data_version
from .faults import OnceLog
from .info import count_value
from .keys import check_key
from .lifetimes import Lifetimes
from .locations import default_base_dir
from .locks.flights import AsyncFlightTable, FlightTable
from .locks.hold import hold_all
from .readthrough.ops import drive
from .readthrough.path import ReadThrough
from .readthrough.steps import Policy, lookup, write
from .sentinel import MISS
from .stores.cleared import Cleared, check_pattern, clear_matching
from .stores.disk import DiskStore, EntryFile, file_name
from .stores.memory import HitView, MemoryStore
from .ttl import SECONDS_PER_DAY, TTLArg, check_max_entries, tier_overrides, ttl_seconds

if TYPE_CHECKING:
    from .stores.contract import Store

__all__ = ["LOGGER_NAME", "TieredCache"]

LOGGER_NAME = "dbp.cache"


class TieredCache(Lifetimes):
    """
    [Class intent]
    Thread-safe, process-shared cache for discovery results (which Bedrock models
    and inference profiles exist where), so slow, rate-limited control-plane calls
    are made once per TTL instead of once per process start.

    [Design principles]
    - Two tiers: a bounded in-process LRU (monotonic expiry) in front of a disk
      tier (one atomically written, versioned orjson file per key) that survives
      restarts and is shared by the processes of the host.
    - The cache never fails a call that would succeed: disk faults degrade to
      memory-only with one warning per condition.
    - The cache never serves a wrong value: not another key's, not a torn one,
      not an expired one. ``None`` is a value like any other.
    - Nothing on disk can run code (JSON, never pickle); files are 0600, folders 0700.

    [Implementation details]
    - ``memory_ttl_seconds``/``disk_ttl_days``: ``None`` means the default, ``0``
      turns that tier off; a ``timedelta`` is accepted too.
    - ``stores`` are the tiers, nearest first, each satisfying
      :class:`~.stores.contract.Store`; a value found in a farther tier is copied
      into the nearer ones for at most its remaining lifetime there.
    - ``clock`` is injectable (see :class:`~.clock.ManualClock`) for tests.
    """

    #: Logger used when none is given.
    DEFAULT_LOGGER_NAME = LOGGER_NAME
    #: The version of the data you cache. Records written under another version are
    #: misses and ``cleanup()`` removes them: bump it (in a subclass, or on an
    #: instance) when the shape of what you cache changes with a deploy. An int or a
    #: str; the default is the library's record format version.
    CACHE_VERSION: DataVersion = FORMAT_VERSION
    DEFAULT_MEMORY_TTL_SECONDS = 3600
    DEFAULT_DISK_TTL_DAYS = 3
    DEFAULT_MAX_MEMORY_ENTRIES = 1024
    #: How long a cache miss waits for another process computing the same key.
    DEFAULT_LOCK_TIMEOUT_SECONDS = 60.0

    def __init__(
        self,
        base_dir: str | os.PathLike[str] | None = None,
        memory_ttl_seconds: TTLArg = None,
        disk_ttl_days: TTLArg = None,
        logger: logging.Logger | None = None,
        max_memory_entries: int = DEFAULT_MAX_MEMORY_ENTRIES,
        *,
        clock: Clock | None = None,
        durable: bool = True,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
        redis_url: str | None = None,
        redis_prefix: str = "dbp:",
        redis_ttl_seconds: TTLArg = None,
        redis_socket_timeout: float = 0.05,
        redis_connect_timeout: float = 0.05,
        redis_secret: str | bytes | None = None,
        redis_lease_seconds: float = 30.0,
        redis_ssl_ca_certs: str | os.PathLike[str] | None = None,
        redis_ssl_certfile: str | os.PathLike[str] | None = None,
        redis_ssl_keyfile: str | os.PathLike[str] | None = None,
        redis_credential_provider: object = None,
        redis_budget: float | None = None,
    ) -> None:
        """Configure the tiers; nothing is created on disk until the first write.

        Args:
            base_dir: parent of the ``cache`` folder; default ``$DBP_CACHE_DIR`` or
                the platform user cache dir for ``dbp`` (``~/.cache/dbp`` on Linux).
            memory_ttl_seconds: memory lifetime (default 3600; 0 = no memory tier).
            disk_ttl_days: disk lifetime in days (default 3; 0 = no disk tier).
            logger: where warnings go (default: :attr:`DEFAULT_LOGGER_NAME`).
            max_memory_entries: LRU bound of the memory tier (0 = no memory tier).
            clock: time source; inject a :class:`~.clock.ManualClock` in tests.
            durable: fsync each file before renaming it into place.
            lock_timeout: longest wait for another process computing the same key.
            redis_url: a shared Redis/Valkey tier after disk (``redis://``,
                ``rediss://`` for TLS, ``redis+cluster://``); ``None``: no fleet tier.
                With ``disk_ttl_days=0`` the tiers are memory then Redis.
            redis_prefix: every Redis key starts with it (default ``dbp:``).
            redis_ttl_seconds: the Redis tier's lifetime (default: 3 days; 0 = off).
            redis_socket_timeout / redis_connect_timeout: each Redis operation's time-out
                (default 50 ms); a slow or dead Redis never fails a call.
            redis_budget: one call's total wait on Redis (default 2 socket time-outs).
            redis_secret: HMAC key (>= 16 bytes) signing every Redis entry, so
                whoever can write to Redis without it cannot plant values.
            redis_lease_seconds: the fleet lock's lease; longer than the slowest call.
            redis_ssl_ca_certs / _certfile / _keyfile: ``rediss://``'s CA bundle, client cert, key.
            redis_credential_provider: a redis-py CredentialProvider (``dbp.aws.ElastiCacheIAM``).
        """
        self.memory_ttl_seconds = ttl_seconds(
            memory_ttl_seconds, "memory_ttl_seconds", default=self.DEFAULT_MEMORY_TTL_SECONDS
        )
        self.disk_ttl_seconds = ttl_seconds(
            disk_ttl_days,
            "disk_ttl_days",
            default=self.DEFAULT_DISK_TTL_DAYS * SECONDS_PER_DAY,
            unit=SECONDS_PER_DAY,
        )
        self.max_memory_entries = check_max_entries(max_memory_entries)
        if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, (int, float)):
            raise TypeError(
                f"lock_timeout must be a number of seconds, not {type(lock_timeout).__name__}"
            )
        if lock_timeout < 0:
            raise ValueError(f"lock_timeout must be >= 0, got {lock_timeout!r}")
        check_data_version(self.CACHE_VERSION)
        self.lock_timeout = float(lock_timeout)
        self.base_dir = os.fspath(base_dir) if base_dir is not None else default_base_dir()
        self.cache_dir = os.path.join(self.base_dir, "cache")
        self.logger = logger or logging.getLogger(self.DEFAULT_LOGGER_NAME)
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.memory = MemoryStore(self.max_memory_entries, self.clock)
        #: The memory tier as the generated hit path of ``@discovery_cached`` reads it.
        self.hit_view: HitView = self.memory.view
        self.disk = DiskStore(
            self.cache_dir, self.clock, self.logger, durable=durable,
            data_version=self.data_version, in_use=lambda: self.disk_ttl_seconds > 0,
        )  # fmt: skip
        from .fleet import FleetOptions, connect_fleet  # small, but only a fleet needs it

        fleet = FleetOptions.of(
            redis_url, redis_prefix, redis_ttl_seconds, redis_socket_timeout,
            redis_connect_timeout, redis_secret, redis_lease_seconds, redis_ssl_ca_certs,
            redis_ssl_certfile, redis_ssl_keyfile, redis_credential_provider, redis_budget,
        )  # fmt: skip
        self.redis_ttl_seconds = FleetOptions.lifetime(fleet, self.DEFAULT_DISK_TTL_DAYS)
        #: The tiers, nearest first.
        self.stores: tuple[Store, ...] = (self.memory, self.disk)
        self.flights = FlightTable()
        self.async_flights = AsyncFlightTable()
        self.read_through = ReadThrough(self)
        #: The one read-through path (:mod:`.readthrough`): ``get_or_compute(key, compute,
        #: policy=None, *, force=False)``, and ``aget_or_compute`` for a ``compute``
        #: returning an awaitable. The decorator and the Bedrock layer use it too.
        self.get_or_compute = self.read_through.get_or_compute
        self.aget_or_compute = self.read_through.aget_or_compute
        #: Bumped by every clear: a fill that began before it does not write back.
        self.epoch = 0
        self._unstorable = OnceLog(self.logger)
        self._hits = itertools.count()  # next() is atomic: no lock on the read path
        self._misses = itertools.count()
        #: The shared tier (a RedisStore), if any.
        self.redis: Store | None = None
        if fleet is not None:
            self.redis = connect_fleet(self, fleet)
            self.stores = (*self.stores, self.redis)

    def data_version(self) -> DataVersion:
        """``CACHE_VERSION`` as the stores check it (read on every use)."""
        return check_data_version(self.CACHE_VERSION)

    def drop_local(self, cleared: Cleared) -> None:
        """A clear (another host's, or one this host missed): drop our local copies.

        ``cleared`` names one key, one owner's entries, a glob, or everything.
        Fills in flight here do not write back (the epoch moves).
        """
        self.epoch += 1
        for store in (self.memory, self.disk):
            if cleared.key is not None:
                store.delete(cleared.key)
            elif cleared.match is not None:
                clear_matching(store, cleared.match)
            else:
                store.clear(cleared.owner)

    def close(self) -> None:
        """Stop the fleet tier's subscriber and close its connections (no-op without one)."""
        close = getattr(self.redis, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        fleet = "" if self.redis is None else f", redis={self.redis!r}"  # its URL is redacted
        return (
            f"{type(self).__name__}(cache_dir={self.cache_dir!r}, "
            f"memory_ttl_seconds={self.memory_ttl_seconds:g}, "
            f"disk_ttl_days={self.disk_ttl_days:g}, max_memory_entries={self.max_memory_entries}"
            f"{fleet})"
        )

    @property
    def hits(self) -> int:
        """``get()`` calls answered from any tier, in this process."""
        return count_value(self._hits)

    @property
    def misses(self) -> int:
        """``get()`` calls that found nothing fresh, in this process."""
        return count_value(self._misses)

    # -- core operations ---------------------------------------------------
    def get(
        self,
        key: str,
        default: Any = None,
        *,
        memory_ttl: TTLArg = None,
        disk_ttl: TTLArg = None,
        redis_ttl: TTLArg = None,
    ) -> Any:
        """
        [Method intent]
        The cached value for ``key`` if fresh in any tier, else ``default``.
        ``memory_ttl``/``disk_ttl`` as for :meth:`set`: ``0`` neither reads nor
        promotes into that tier (e.g. ``memory_ttl=0`` always reads the shared copy).

        [Design principles]
        Nearest tier first. A stored ``None`` is returned as ``None``, never
        confused with a miss. Corrupt or unreadable records are misses, not errors.

        [Implementation details]
        A hit in a farther tier is copied into the nearer ones for at most its
        remaining lifetime there; the farther record is left untouched.
        """
        overrides = (
            None
            if memory_ttl is None and disk_ttl is None and redis_ttl is None  # the usual call
            else tier_overrides(memory_ttl=memory_ttl, disk_ttl=disk_ttl, redis_ttl=redis_ttl)
        )
        policy = self.plain_policy if overrides is None else Policy(self.ttls(overrides))
        found = drive(lookup(self, check_key(key), policy))
        if found is MISS:
            next(self._misses)
            return default
        next(self._hits)
        return found.value

    def set(
        self,
        key: str,
        value: Any,
        *,
        memory_ttl: TTLArg = None,
        disk_ttl: TTLArg = None,
        redis_ttl: TTLArg = None,
    ) -> None:
        """
        [Method intent]
        Store ``value`` under ``key`` in every tier (write-through).

        [Design principles]
        The value is validated before anything is stored, so a value that could
        not come back equal from every tier is refused (``TypeError``/``ValueError``
        naming the key) instead of differing between tiers. A failing tier is
        logged once and the value still lands in the others.

        [Implementation details]
        ``memory_ttl``/``disk_ttl``/``redis_ttl`` are seconds or ``timedelta``
        (``None`` = this cache's defaults, ``0`` = skip that tier, dropping what it
        held for the key).
        """
        check_key(key)
        ttls = self.ttls(
            tier_overrides(memory_ttl=memory_ttl, disk_ttl=disk_ttl, redis_ttl=redis_ttl)
        )
        drive(write(self, key, value, Policy(ttls, drop_skipped=True)))

    def invalidate(self, key: str | None = None) -> int:
        """
        [Method intent]
        Drop ``key`` from every tier, or every entry when ``key`` is ``None``.

        [Implementation details]
        Only this cache's own records are removed. Returns how many entries went:
        the largest count of any tier, since most entries live in several. A fill
        in flight when this is called does not write its result back.
        """
        self.epoch += 1
        if key is None:
            return max(store.clear() for store in self.stores)
        check_key(key)
        removed = [store.delete(key) for store in self.stores]  # every tier, no short cut
        return int(any(removed))

    def invalidate_matching(self, pattern: str) -> int:
        """
        [Method intent]
        Drop every entry whose key matches the glob ``pattern`` (``*``, ``?``,
        ``[...]``, as :func:`fnmatch.fnmatchcase`) from every tier, e.g.
        ``"bedrock_models:*"``; with Redis, on every host.

        [Implementation details]
        Redis is scanned by the prefix (``SCAN``, never ``KEYS``), reading each
        entry's header; other hosts drop their local copies of the matching keys.
        Returns the largest count of any tier, as :meth:`invalidate` does.
        """
        pattern = check_pattern(pattern)
        self.epoch += 1
        return max(clear_matching(store, pattern) for store in self.stores)

    def clear_owner(self, owner: str) -> int:
        """Remove every entry (every tier, any process) written for ``owner``."""
        self.epoch += 1
        return max(store.clear(owner) for store in self.stores)

    def cleanup(self) -> int:
        """
        [Method intent]
        Periodic maintenance: remove what can never be served again.

        [Implementation details]
        Removes entries past their lifetime (and past any stale-on-error window),
        corrupt, truncated, foreign-version (another ``CACHE_VERSION``) and
        misplaced files, and temp files abandoned by dead writers, reading only
        each file's header line. Expired memory entries are dropped too. Returns
        the number of files removed.
        """
        removed = 0
        for store in self.stores:
            count = store.cleanup()
            if store is not self.memory:
                removed += count
        self.logger.debug("dbp cache: cleanup removed %d files from %s", removed, self.cache_dir)
        return removed

    # -- for the CLI and tests --------------------------------------------------------------
    def entries(self) -> Iterator[EntryFile]:
        """Disk entries for ``cache ls``/``info``; an undecodable body's has key None.

        With a fleet tier, the host first drops copies a clear it missed removed.
        """
        if self.disk.before_use is not None:
            self.disk.before_use()
        return self.disk.scan(bodies_up_to=float("inf"))

    def file_for(self, key: str) -> str:
        """Path of the disk file that holds (or would hold) ``key``."""
        return os.path.join(self.cache_dir, file_name(check_key(key)))

    def locked(self, key: str) -> AbstractContextManager[bool]:
        """Hold every tier's lock of ``key`` (host, then fleet) for a read-modify-write.

        Yields whether all were taken; a busy or unusable lock is waited for at most
        ``lock_timeout`` and then given up, as on a miss.
        """
        return hold_all(self.stores, key, self.lock_timeout)

    def unstorable(self, owner: str, key: str, error: BaseException) -> None:
        """A result that can't be cached: warned once per owner, then at debug level."""
        message = "dbp cache: result of %s for %r not cached (%s: %s)"
        self._unstorable.log(owner, message, owner, key, type(error).__name__, error)
