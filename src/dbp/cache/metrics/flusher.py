"""Each process adds its counts to the shared statistics every few seconds and at exit.

[Intent]
``cache_info()`` answers for one process; an operator asks about the host and
the fleet. A background thread per process takes what each decorated function
counted since the last flush and adds it to this host's file (:mod:`.host`) and
the fleet's Redis buckets (:mod:`.fleet`) of every cache the function used.

[Design principles]
- Nothing on the hit path: hits are the counts ``cache_info()`` keeps anyway; a
  function joins a cache's record once, when its policy for that cache is made.
- A failed flush never blocks or fails a call: it runs on its own thread, is
  logged at debug level and dropped (the host file keeps its buckets in memory,
  so the next write has them), never retried in a loop.
- At exit one last flush; a killed process loses at most its last interval.
- ``DBP_STATS_INTERVAL`` (seconds, default 5; 0 turns the statistics off), and
  :func:`configure_stats` for an injected clock and interval in tests.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from ..clock import SYSTEM_CLOCK, Clock
from ..info import Counters
from .counts import KEEP_SECONDS, Counts, Hours, add_counts, add_hours, hour_of
from .fleet import add_to_fleet
from .host import HostFile

if TYPE_CHECKING:
    from ..tiered import TieredCache

__all__ = ["ENV_STATS_INTERVAL", "configure_stats", "flush_stats", "track"]

ENV_STATS_INTERVAL = "DBP_STATS_INTERVAL"
DEFAULT_INTERVAL = 5.0
logger = logging.getLogger("dbp.cache")


def _interval_from_env() -> float:
    text = os.environ.get(ENV_STATS_INTERVAL, "").strip()
    if not text:
        return DEFAULT_INTERVAL
    try:
        value = float(text)
    except ValueError:
        logger.warning(
            "dbp cache: %s=%r is not a number of seconds; using 5", ENV_STATS_INTERVAL, text
        )
        return DEFAULT_INTERVAL
    return max(value, 0.0)


class _Record:
    """One shared record (a host folder, or a Redis store) and what was sent to it."""

    def __init__(self) -> None:
        self._members_lock = threading.Lock()  # joins (a caller's miss) never wait for a flush
        self.counters: weakref.WeakSet[Counters] = weakref.WeakSet()
        self.sent: weakref.WeakKeyDictionary[Counters, dict[str, int]] = weakref.WeakKeyDictionary()

    def delta(self) -> Counts:
        """What the functions counted since the last call, by function name."""
        counts: Counts = {}
        for counters in self.members():
            totals = counters.totals()
            last = self.sent.get(counters, {})
            changed = {f: v - last.get(f, 0) for f, v in totals.items() if v != last.get(f, 0)}
            self.sent[counters] = totals
            if changed:
                add_counts(counts, {counters.name: changed})
        return counts

    def join(self, counters: Counters) -> None:
        with self._members_lock:
            self.counters.add(counters)

    def members(self) -> list[Counters]:
        with self._members_lock:
            return list(self.counters)

    def flush(self, now: float) -> None:
        raise NotImplementedError

    def forked(self) -> None:
        """In a forked child: the parent's counts are the parent's to send."""
        self._members_lock = threading.Lock()
        for counters in self.members():
            self.sent[counters] = counters.totals()


class _HostRecord(_Record):
    def __init__(self, cache_dir: str) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self.file = HostFile(cache_dir)
        self.hours: Hours = {}
        self.adopted = False

    def flush(self, now: float) -> None:
        delta = self.delta()
        if not delta:
            return
        if not self.adopted:  # the first write takes over the files of dead processes
            self.adopted = True
            add_hours(self.hours, self.file.adopt_dead())
        add_counts(self.hours.setdefault(hour_of(now), {}), delta)
        for hour in [h for h in self.hours if h < now - KEEP_SECONDS]:
            del self.hours[hour]
        try:
            self.file.write(self.hours)
        except OSError as exc:  # kept in memory: the next flush writes them
            logger.debug("dbp cache: could not write statistics %s: %s", self.file.path, exc)

    def forked(self) -> None:
        """In a forked child: a file of its own, and none of the parent's counts."""
        super().forked()
        self.file = HostFile(self.cache_dir)
        self.hours = {}
        self.adopted = False


class _FleetRecord(_Record):
    def __init__(self, store: Any) -> None:
        super().__init__()
        self.store = weakref.ref(store)

    def flush(self, now: float) -> None:
        delta = self.delta()
        store = self.store()
        if not delta or store is None:
            return
        if not add_to_fleet(store, hour_of(now), delta):
            logger.debug("dbp cache: fleet statistics not written to %r; dropped", store)


class StatsRecorder:
    """The process's records and the thread that flushes them."""

    def __init__(self) -> None:
        self.interval = _interval_from_env()
        self.clock: Clock = SYSTEM_CLOCK
        self._lock = threading.Lock()  # the records; held briefly, never during a flush
        self._flushing = threading.Lock()
        self._records: dict[tuple[str, Any], _HostRecord | _FleetRecord] = {}
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._exit_hook = False

    def track(self, counters: Counters, cache: TieredCache) -> None:
        """From now on, flush ``counters`` to ``cache``'s host folder and fleet store."""
        if self.interval <= 0:
            return
        with self._lock:
            records: list[_HostRecord | _FleetRecord] = []
            if cache.disk_ttl_seconds > 0:
                key: tuple[str, Any] = ("host", cache.cache_dir)
                if key not in self._records:
                    self._records[key] = _HostRecord(cache.cache_dir)
                records.append(self._records[key])
            if cache.redis is not None:
                key = ("fleet", id(cache.redis))
                found = self._records.get(key)
                if not isinstance(found, _FleetRecord) or found.store() is not cache.redis:
                    found = self._records[key] = _FleetRecord(cache.redis)
                records.append(found)
            for record in records:
                record.join(counters)
            if records:
                self._start()

    def flush(self) -> None:
        """Add every count made since the last flush to the shared records (never raises)."""
        with self._flushing:  # one flush at a time; track() takes only the records' lock
            now = self.clock.time()
            with self._lock:
                records = list(self._records.values())
            for record in records:
                try:
                    record.flush(now)
                except Exception as exc:  # a statistics fault must never reach the caller
                    logger.debug("dbp cache: statistics flush failed: %s", exc)

    def _start(self) -> None:
        if not self._exit_hook:
            self._exit_hook = True
            atexit.register(self.flush)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="dbp-stats", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            woken = self._wake.wait(self.interval if self.interval > 0 else None)
            self._wake.clear()
            if not woken:  # the interval passed; a new interval only restarts the wait
                self.flush()

    def forked(self) -> None:
        self._lock, self._flushing = threading.Lock(), threading.Lock()
        self._thread = None
        self._wake = threading.Event()
        for record in self._records.values():
            record.forked()
        if self._records:
            self._start()


RECORDER = StatsRecorder()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=RECORDER.forked)


def track(counters: Counters, cache: TieredCache) -> None:
    """Flush ``counters`` (one decorated function's) to ``cache``'s shared records."""
    RECORDER.track(counters, cache)


def flush_stats() -> None:
    """Add this process's counts to the host and fleet statistics now (also done at exit)."""
    RECORDER.flush()


def configure_stats(*, interval: float | None = None, clock: Clock | None = None) -> None:
    """Set the flush interval in seconds (0: off) and the clock the buckets are read from."""
    if interval is not None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise ValueError(
                f"statistics interval must be a number of seconds >= 0, not {interval!r}"
            )
        RECORDER.interval = float(interval)
        RECORDER._wake.set()  # the thread picks up the new interval
    if clock is not None:
        RECORDER.clock = clock
