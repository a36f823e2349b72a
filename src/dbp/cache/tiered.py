"""``DiscoveryCache``: the two-tier (memory LRU + disk) cache behind everything.

This is the module the original plan named (``dbp.llm.bedrock.discovery.cache``);
the decorator, the Bedrock helpers and the CLI all go through this class.
"""

from __future__ import annotations

import errno
import itertools
import logging
import math
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from . import codec
from .clock import SYSTEM_CLOCK, Clock
from .entry import Entry
from .info import count_value
from .locations import default_base_dir
from .locks.flights import AsyncFlightTable, FlightTable
from .sentinel import MISS, Miss
from .stores.disk import FORMAT_VERSION, DiskStore, EntryFile, file_name, make_private_dirs
from .stores.memory import MemoryStore
from .ttl import SECONDS_PER_DAY, TTLArg, check_max_entries, ttl_seconds

__all__ = ["TieredCache", "default_cache", "set_default_cache"]

LOGGER_NAME = "dbp.cache"


def check_key(key: object) -> str:
    """A cache key is a non-empty ``str``; anything else is a clear error."""
    if not isinstance(key, str):
        raise TypeError(f"cache key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("cache key must be a non-empty string")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"cache key {key!r} is not valid Unicode text: {exc.reason}") from None
    return key


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
    - A disk hit is promoted to memory for at most its remaining disk lifetime,
      and never rewrites or extends the disk entry.
    - ``clock`` is injectable (see :class:`~.clock.ManualClock`) for tests.
    """

    #: Logger used when none is given.
    DEFAULT_LOGGER_NAME = LOGGER_NAME
    #: Format version of the disk records; a file of another version is a miss.
    CACHE_VERSION = FORMAT_VERSION
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
            logger: where warnings go (default ``dbp.llm.bedrock.discovery``).
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
        self.lock_timeout = float(lock_timeout)
        self.base_dir = os.fspath(base_dir) if base_dir is not None else default_base_dir()
        self.cache_dir = os.path.join(self.base_dir, "cache")
        self.logger = logger or logging.getLogger(self.DEFAULT_LOGGER_NAME)
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.memory = MemoryStore(self.max_memory_entries, self.clock)
        self.disk = DiskStore(self.cache_dir, self.clock, self.logger, durable=durable)
        self.flights = FlightTable()
        self.async_flights = AsyncFlightTable()
        self._lock_holders: dict[str, int] = {}
        # Bound once: the decorator's hit path reads these directly.
        self._memory_data = self.memory.data
        self._monotonic = self.clock.monotonic
        self._hits = itertools.count()  # next() is atomic: no lock on the read path
        self._misses = itertools.count()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(cache_dir={self.cache_dir!r}, "
            f"memory_ttl_seconds={self.memory_ttl_seconds:g}, "
            f"disk_ttl_days={self.disk_ttl_days:g}, max_memory_entries={self.max_memory_entries})"
        )

    @property
    def hits(self) -> int:
        """``get()`` calls answered from either tier, in this process."""
        return count_value(self._hits)

    @property
    def misses(self) -> int:
        """``get()`` calls that found nothing fresh, in this process."""
        return count_value(self._misses)

    @property
    def disk_ttl_days(self) -> float:
        return self.disk_ttl_seconds / SECONDS_PER_DAY

    # -- core operations ---------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """
        [Method intent]
        The cached value for ``key`` if fresh in either tier, else ``default``.

        [Design principles]
        Memory first, then disk. A stored ``None`` is returned as ``None``, never
        confused with a miss. Corrupt or unreadable files are misses, not errors.

        [Implementation details]
        A disk hit is copied into memory for ``min(memory TTL, remaining disk
        lifetime)``; the disk file is left untouched.
        """
        value = self.lookup(check_key(key), self.memory_ttl_seconds)
        if value is MISS:
            next(self._misses)
            return default
        next(self._hits)
        return value[0]

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
        Store ``value`` under ``key`` in both tiers (write-through).

        [Design principles]
        The value is validated before anything is stored, so a value that could
        not come back equal from disk is refused (``TypeError``/``ValueError``
        naming the key) instead of differing between tiers. A failing disk is
        logged once and the value still lands in memory.

        [Implementation details]
        ``memory_ttl``/``disk_ttl`` are seconds or ``timedelta`` (``None`` = this
        cache's defaults, ``0`` = skip that tier).
        """
        check_key(key)
        self.store(
            key,
            value,
            memory_ttl=ttl_seconds(memory_ttl, "memory_ttl", default=self.memory_ttl_seconds),
            disk_ttl=ttl_seconds(disk_ttl, "disk_ttl", default=self.disk_ttl_seconds),
        )

    def invalidate(self, key: str | None = None) -> int:
        """
        [Method intent]
        Drop ``key`` from both tiers, or every entry when ``key`` is ``None``.

        [Implementation details]
        Only this cache's own files (``*.dbpc``) are removed from the folder.
        Returns how many entries went: the larger of the memory and disk counts,
        since most entries live in both.
        """
        if key is None:
            return max(self.memory.clear(), self.disk.clear())
        check_key(key)
        in_memory = self.memory.delete(key)
        on_disk = self.disk.delete(key)
        return int(in_memory or on_disk)

    def cleanup(self) -> int:
        """
        [Method intent]
        Periodic maintenance: remove what can never be served again.

        [Implementation details]
        Removes disk entries past their lifetime (and past any stale-on-error
        window), corrupt, truncated, foreign-version and misplaced files, and temp
        files abandoned by dead writers, reading only each file's header line.
        Expired memory entries are dropped too. Returns the number of files removed.
        """
        self.memory.cleanup()
        removed = self.disk.cleanup()
        self.logger.debug("dbp cache: cleanup removed %d files from %s", removed, self.cache_dir)
        return removed

    # -- building blocks for the decorator and the CLI ----------------------
    def lookup(
        self, key: str, memory_ttl: float, refresh_ahead: float = 0.0
    ) -> tuple[Any, str, bool] | Miss:
        """``(value, tier, refresh_due)`` for a fresh entry, else ``MISS``.

        ``tier`` is ``"memory"`` or ``"disk"``. A disk hit is promoted to memory for
        ``min(memory_ttl, remaining disk life)``. ``refresh_due`` tells whether the
        entry is in the last ``refresh_ahead`` fraction of its lifetime.
        """
        slot = self._memory_data.get(key)
        if slot is not None:
            now = self._monotonic()
            if slot[1] > now:
                self.memory.touch(key)
                return slot[0], "memory", slot[4] <= now
        entry = self.disk.get(key)
        if entry is MISS:
            return MISS
        refresh_from = self.promote(key, entry, memory_ttl, refresh_ahead)
        return entry.value, "disk", refresh_from <= self.clock.time()

    def promote(self, key: str, entry: Entry, memory_ttl: float, refresh_ahead: float) -> float:
        """Copy a disk ``entry`` to memory for at most its remaining disk lifetime.

        Returns when refresh-ahead begins for it (wall clock; infinity if off).
        """
        refresh_from = refresh_start(entry.created, entry.expires, refresh_ahead)
        if memory_ttl > 0 and self.max_memory_entries > 0:
            expires = min(entry.expires, self.clock.time() + memory_ttl)
            self.memory.set(
                key,
                Entry(entry.value, entry.created, expires, entry.stale_until, entry.owner),
                refresh_from,
            )
        return refresh_from

    def lookup_stale(self, key: str, max_stale: float) -> Entry | Miss:
        """An entry expired no more than ``max_stale`` seconds ago (or fresh), else ``MISS``."""
        entry = self.memory.get_stale(key)
        now = self.clock.time()
        if entry is not MISS and now < entry.expires + max_stale:
            return entry
        entry = self.disk.get_stale(key)
        if entry is not MISS and now < entry.expires + max_stale:
            return entry
        return MISS

    def store(
        self,
        key: str,
        value: Any,
        *,
        memory_ttl: float,
        disk_ttl: float,
        owner: str | None = None,
        max_stale: float = 0.0,
        refresh_ahead: float = 0.0,
    ) -> bool:
        """Validate and write ``value`` to the enabled tiers; False if the disk write failed.

        ``max_stale`` keeps the entry (for stale-on-error) that long after expiry;
        ``refresh_ahead`` marks when memory hits should start a background refresh
        (that fraction of the longest tier lifetime before it ends).
        """
        now = self.clock.time()
        encoded = None
        if disk_ttl > 0:
            disk_entry = Entry(value, now, now + disk_ttl, now + disk_ttl + max_stale, owner)
            encoded = self.disk.encode(key, disk_entry)  # validates; raises on bad values
        else:
            codec.encode(key, value)  # same validation, so every tier accepts the same values
        # A tier that is skipped for this write must not keep serving the old value.
        if memory_ttl > 0:
            lifetime = max(memory_ttl, disk_ttl)
            self.memory.set(
                key,
                Entry(value, now, now + memory_ttl, now + memory_ttl + max_stale, owner),
                refresh_start(now, now + lifetime, refresh_ahead),
            )
        else:
            self.memory.delete(key)
        if encoded is None:
            self.disk.delete(key)
            return True
        return self.disk.set(key, disk_entry, encoded)

    def clear_owner(self, owner: str) -> int:
        """Remove every entry (both tiers, any process) written for ``owner``."""
        return max(self.memory.clear(owner), self.disk.clear(owner))

    def entries(self) -> Iterator[EntryFile]:
        """Headers of the disk entries (for ``cache ls`` / ``cache info``)."""
        return self.disk.scan()

    def file_for(self, key: str) -> str:
        """Path of the disk file that holds (or would hold) ``key``."""
        return os.path.join(self.cache_dir, file_name(check_key(key)))

    def _lock_file(self, key: str) -> Any:
        import filelock

        path = os.path.join(self.cache_dir, ".locks", file_name(key)[: -len(".dbpc")] + ".lock")
        return filelock.FileLock(path, mode=0o600, thread_local=False)

    def _try_lock(self, lock: Any, timeout: float) -> bool | None:
        """Take ``lock`` within ``timeout`` seconds: True, False (busy) or None (unusable)."""
        import filelock

        folder = os.path.dirname(lock.lock_file)
        try:
            if os.path.islink(folder):  # planted: never create lock files elsewhere
                raise OSError(errno.ELOOP, "lock folder is a symbolic link", folder)
            try:
                lock.acquire(timeout=timeout, poll_interval=0.01)
            except FileNotFoundError:
                make_private_dirs(folder)
                lock.acquire(timeout=timeout, poll_interval=0.01)
        except filelock.Timeout:
            return False
        except OSError as exc:
            self.disk.faults.report(
                "lock", lock.lock_file, exc, "computing without a cross-process lock"
            )
            return None
        self.disk.faults.recovered("lock")
        return True

    @contextmanager
    def _holding(self, key: str, lock: Any, held: bool | None) -> Iterator[bool]:
        """After an acquisition attempt: warn on a timeout, release what was taken."""
        if held is False:
            self.logger.warning(
                "dbp cache: waited %.0fs for another process computing %r; computing it here",
                self.lock_timeout,
                key,
            )
        try:
            yield bool(held)
        finally:
            if held:
                lock.release()

    @contextmanager
    def process_lock(self, key: str) -> Iterator[bool]:
        """Hold the per-key lock file so one process on the host computes ``key``.

        Yields whether the lock is held. Waits at most ``lock_timeout`` seconds:
        a live but stuck holder cannot block others forever, and a dead holder's
        ``flock`` is released by the kernel at once. If the lock cannot be taken
        at all (read-only folder), the caller just computes. Re-entrant for the
        thread (or task) that holds it.
        """
        with self._held(key, threading.get_ident()) as reentered:
            if reentered:
                yield True
                return
            lock = self._lock_file(key)
            with self._holding(key, lock, self._try_lock(lock, self.lock_timeout)) as held:
                yield held

    @contextmanager
    def _held(self, key: str, holder: int) -> Iterator[bool]:
        """Record ``holder`` as owning ``key``'s lock; True if it already did."""
        if self._lock_holders.get(key) == holder:
            yield True
            return
        self._lock_holders[key] = holder
        try:
            yield False
        finally:
            if self._lock_holders.get(key) == holder:
                del self._lock_holders[key]

    @asynccontextmanager
    async def process_lock_async(self, key: str) -> AsyncIterator[bool]:
        """:meth:`process_lock` for coroutines: polls instead of blocking the loop."""
        import asyncio
        import time

        with self._held(key, id(asyncio.current_task())) as reentered:
            if reentered:
                yield True
                return
            lock = self._lock_file(key)
            deadline = time.monotonic() + self.lock_timeout
            while (taken := self._try_lock(lock, 0)) is False and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            with self._holding(key, lock, taken) as held:
                yield held


def refresh_start(created: float, expires: float, refresh_ahead: float) -> float:
    """When, in the last ``refresh_ahead`` fraction of a lifetime, refresh-ahead begins."""
    if refresh_ahead <= 0:
        return math.inf
    return expires - refresh_ahead * (expires - created)


_default_lock = threading.Lock()
_default_factory: Callable[[], TieredCache] = TieredCache
_default: TieredCache | None = None


def default_cache() -> TieredCache:
    """The process-wide cache used by ``@discovery_cached`` without ``cache=``.

    Created on first use (so importing creates nothing) from ``$DBP_CACHE_DIR``
    or the platform cache folder.
    """
    global _default
    cache = _default
    if cache is None:
        with _default_lock:
            if _default is None:
                _default = _default_factory()
            cache = _default
    return cache


def set_default_cache(cache: TieredCache | None) -> None:
    """Replace the process-wide default cache (``None``: build a new one on next use)."""
    global _default
    with _default_lock:
        _default = cache


def set_default_factory(factory: Callable[[], TieredCache]) -> None:
    """What :func:`default_cache` builds on first use (a layer above may register a subclass)."""
    global _default_factory
    _default_factory = factory
