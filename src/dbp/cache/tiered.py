"""``TieredCache``: stores composed nearest first, with one read-through path.

The decorator, the Bedrock layer and the CLI all go through this class (the
Bedrock layer's ``DiscoveryCache`` subclasses it with the seed's helpers).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .clock import SYSTEM_CLOCK, Clock
from .envelope import FORMAT_VERSION, DataVersion, check_data_version
from .info import count_value
from .keys import check_key
from .locations import default_base_dir
from .locks.flights import AsyncFlightTable, FlightTable
from .readthrough.ops import drive
from .readthrough.path import ReadThrough
from .readthrough.steps import Policy, lookup, write
from .sentinel import MISS
from .stores.contract import Store
from .stores.disk import DiskStore, EntryFile, file_name
from .stores.memory import HitView, MemoryStore
from .ttl import SECONDS_PER_DAY, TTLArg, check_max_entries, tier_overrides, ttl_seconds

__all__ = ["LOGGER_NAME", "TieredCache"]

LOGGER_NAME = "dbp.cache"


class TieredCache:
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
        self.disk = DiskStore(
            self.cache_dir, self.clock, self.logger, durable=durable, data_version=self._version
        )
        #: The tiers, nearest first.
        self.stores: tuple[Store, ...] = (self.memory, self.disk)
        self.flights = FlightTable()
        self.async_flights = AsyncFlightTable()
        self.read_through = ReadThrough(self)
        #: Bumped by every clear: a fill that began before it does not write back.
        self.epoch = 0
        self._unstorable_warned: set[str] = set()
        self._hits = itertools.count()  # next() is atomic: no lock on the read path
        self._misses = itertools.count()

    def _version(self) -> DataVersion:
        return check_data_version(self.CACHE_VERSION)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(cache_dir={self.cache_dir!r}, "
            f"memory_ttl_seconds={self.memory_ttl_seconds:g}, "
            f"disk_ttl_days={self.disk_ttl_days:g}, max_memory_entries={self.max_memory_entries})"
        )

    @property
    def hits(self) -> int:
        """``get()`` calls answered from any tier, in this process."""
        return count_value(self._hits)

    @property
    def misses(self) -> int:
        """``get()`` calls that found nothing fresh, in this process."""
        return count_value(self._misses)

    @property
    def disk_ttl_days(self) -> float:
        return self.disk_ttl_seconds / SECONDS_PER_DAY

    @property
    def hit_view(self) -> HitView:
        """The memory tier as the generated hit path of ``@discovery_cached`` reads it."""
        return self.memory.view

    # -- lifetimes -----------------------------------------------------------------------
    def ttls(self, overrides: Mapping[str, float | None] | None = None) -> tuple[float, ...]:
        """Each tier's lifetime in seconds, nearest first: ``overrides[name]`` or the default.

        A memory tier bounded to 0 entries is off whatever its lifetime.
        """
        defaults = {"memory": self.memory_ttl_seconds, "disk": self.disk_ttl_seconds}
        result = []
        for store in self.stores:
            ttl = None if overrides is None else overrides.get(store.name)
            result.append(defaults[store.name] if ttl is None else ttl)
        if self.max_memory_entries <= 0:
            result[0] = 0.0
        return tuple(result)

    # -- core operations ---------------------------------------------------
    def get(
        self,
        key: str,
        default: Any = None,
        *,
        memory_ttl: TTLArg = None,
        disk_ttl: TTLArg = None,
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
            if memory_ttl is None and disk_ttl is None  # the usual call: no dict to build
            else tier_overrides(memory_ttl=memory_ttl, disk_ttl=disk_ttl)
        )
        found = drive(lookup(self, check_key(key), Policy(self.ttls(overrides))))
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
        ``memory_ttl``/``disk_ttl`` are seconds or ``timedelta`` (``None`` = this
        cache's defaults, ``0`` = skip that tier, dropping what it held for the key).
        """
        check_key(key)
        ttls = self.ttls(tier_overrides(memory_ttl=memory_ttl, disk_ttl=disk_ttl))
        drive(write(self, key, value, Policy(ttls, drop_skipped=True)))

    def get_or_compute(
        self,
        key: str,
        compute: Callable[[], Any],
        policy: Policy | None = None,
        *,
        force: bool = False,
    ) -> Any:
        """The cached value of ``key``, else ``compute()``'s, stored: see :mod:`.readthrough`."""
        return self.read_through.get_or_compute(
            check_key(key), compute, policy or Policy(self.ttls()), force=force
        )

    async def aget_or_compute(
        self,
        key: str,
        compute: Callable[[], Any],
        policy: Policy | None = None,
        *,
        force: bool = False,
    ) -> Any:
        """:meth:`get_or_compute` for a ``compute`` returning an awaitable."""
        return await self.read_through.aget_or_compute(
            check_key(key), compute, policy or Policy(self.ttls()), force=force
        )

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
        """Headers of the disk entries (for ``cache ls`` / ``cache info``)."""
        return self.disk.scan()

    def file_for(self, key: str) -> str:
        """Path of the disk file that holds (or would hold) ``key``."""
        return os.path.join(self.cache_dir, file_name(check_key(key)))

    @contextmanager
    def locked(self, key: str) -> Iterator[bool]:
        """Hold every tier's lock of ``key`` (host, then fleet) for a read-modify-write.

        Yields whether all were taken; a busy or unusable lock is waited for at most
        ``lock_timeout`` and then skipped, as on a miss.
        """
        held = []
        try:
            for store in self.stores:
                lock = store.lock(key)
                if lock is not None:
                    taken = lock.acquire(self.lock_timeout)
                    if taken:
                        held.append(lock)
                    else:
                        yield False
                        return
            yield True
        finally:
            for lock in reversed(held):
                lock.release()

    def unstorable(self, owner: str, key: str, error: BaseException) -> None:
        """A result that can't be cached: warn once per owner, then at debug level."""
        first = owner not in self._unstorable_warned
        self._unstorable_warned.add(owner)
        self.logger.log(
            logging.WARNING if first else logging.DEBUG,
            "dbp cache: result of %s for %r not cached (%s: %s)%s",
            owner,
            key,
            type(error).__name__,
            error,
            "; further such results are logged at debug level" if first else "",
        )
