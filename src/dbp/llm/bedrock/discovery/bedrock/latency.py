"""``RegionLatencyTracker``: how fast each region answers, remembered across runs.

[Intent]
When a model is offered in several regions, call the fastest. Discovery calls
are the measurement: every one is timed, folded into a per-region moving
average, and persisted through the :class:`DiscoveryCache` so the next process
starts informed.

[Design principles]
- Its own key (``bedrock_latency:v1``) with its own long disk lifetime: clearing
  or expiring model and profile data never wipes it.
- Several processes may record at once: a save is a read-modify-write under the
  cache's per-key process lock, applying only this process's new samples to what
  is on disk, so no process's measurements are lost.
- Memory tier skipped for this key (``memory_ttl=0`` on reads and writes): every
  save and reload sees other processes' writes.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Iterable
from typing import Any, NamedTuple

from dbp.cache.sentinel import MISS
from dbp.cache.ttl import TTLArg, ttl_seconds

from ..cache import DiscoveryCache, default_cache

__all__ = ["LATENCY_KEY", "RegionLatency", "RegionLatencyTracker"]

from .keys import LATENCY_KEY


class RegionLatency(NamedTuple):
    """Moving average of one region's call latency (seconds)."""

    region: str
    average: float
    samples: int
    updated: float  # epoch seconds of the last sample


class RegionLatencyTracker:
    """
    [Class intent]
    Record per-region latency of discovery calls and order candidate regions
    fastest first (unmeasured regions last, in the order given).

    [Design principles]
    Exponentially weighted moving average (``alpha`` = weight of a new sample):
    recent behaviour matters more than last week's, one outlier does not dominate.

    [Implementation details]
    State loads lazily from the cache on first use. ``record`` saves at once
    (``autosave=True``) or on :meth:`save`. The stored value is
    ``{"regions": {region: {"avg", "n", "updated"}}}``, kept ``ttl`` (30 days).
    """

    def __init__(
        self,
        cache: DiscoveryCache | None = None,
        *,
        alpha: float = 0.3,
        ttl: TTLArg = _dt.timedelta(days=30),
        autosave: bool = True,
        key: str = LATENCY_KEY,
    ) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self.cache = cache if cache is not None else default_cache()
        self.alpha = alpha
        self.ttl_seconds = ttl_seconds(ttl, "ttl", default=30 * 86_400.0)
        self.autosave = autosave
        self.key = key
        self._lock = threading.RLock()
        self._stats: dict[str, RegionLatency] | None = None
        self._pending: dict[str, list[tuple[float, float]]] = {}

    def __repr__(self) -> str:
        return f"RegionLatencyTracker(key={self.key!r}, regions={len(self.stats())})"

    # -- reading -------------------------------------------------------------------
    def stats(self) -> dict[str, RegionLatency]:
        """Every measured region's moving average."""
        with self._lock:
            return dict(self._loaded())

    def average(self, region: str) -> float | None:
        """Average latency of ``region`` in seconds, or ``None`` if never measured."""
        with self._lock:
            found = self._loaded().get(region)
        return None if found is None else found.average

    def order(self, regions: Iterable[str]) -> list[str]:
        """``regions`` fastest first; unmeasured ones last, in their given order."""
        candidates = list(dict.fromkeys(regions))
        with self._lock:
            stats = self._loaded()
        measured = sorted((r for r in candidates if r in stats), key=lambda r: stats[r].average)
        return measured + [r for r in candidates if r not in stats]

    def fastest(self, regions: Iterable[str]) -> str | None:
        """The fastest measured region among ``regions`` (else the first; None if empty)."""
        ordered = self.order(regions)
        return ordered[0] if ordered else None

    # -- writing -------------------------------------------------------------------
    def record(self, region: str, seconds: float) -> None:
        """Fold one call's latency into ``region``'s average (and save if autosave)."""
        if seconds < 0:
            raise ValueError(f"latency must be >= 0, got {seconds!r}")
        now = self.cache.clock.time()
        with self._lock:
            stats = self._loaded()
            stats[region] = self._fold(stats.get(region), region, seconds, now)
            self._pending.setdefault(region, []).append((seconds, now))
            if self.autosave:
                self.save()

    def save(self) -> None:
        """Merge this process's new samples into the stored averages."""
        with self._lock:
            if not self._pending or not self._shared():
                self._pending.clear()
                return
            pending, self._pending = self._pending, {}
            with self.cache.locked(self.key):
                merged = self._read()
                for region, samples in pending.items():
                    for seconds, when in samples:
                        merged[region] = self._fold(merged.get(region), region, seconds, when)
                self._write(merged)
            self._stats = merged

    def _shared(self) -> bool:
        """Is there a tier other processes read (disk, or a fleet tier)?"""
        return any(ttl > 0 for ttl in self.cache.ttls({"memory": 0}))

    def reload(self) -> None:
        """Forget the in-process view; the next read loads what is stored."""
        with self._lock:
            self._stats = None

    def reset(self, region: str | None = None) -> None:
        """Forget ``region``'s measurements (or all), here and on disk."""
        with self._lock, self.cache.locked(self.key):
            stored = self._read()
            if region is None:
                stored.clear()
                self._pending.clear()
            else:
                stored.pop(region, None)
                self._pending.pop(region, None)
            self._write(stored)
            self._stats = stored

    # -- internals -----------------------------------------------------------------
    def _fold(
        self, previous: RegionLatency | None, region: str, seconds: float, when: float
    ) -> RegionLatency:
        if previous is None:
            return RegionLatency(region, seconds, 1, when)
        average = self.alpha * seconds + (1.0 - self.alpha) * previous.average
        return RegionLatency(region, average, previous.samples + 1, max(when, previous.updated))

    def _loaded(self) -> dict[str, RegionLatency]:
        if self._stats is None:
            self._stats = self._read()
            for region, samples in self._pending.items():  # not yet saved
                for seconds, when in samples:
                    self._stats[region] = self._fold(self._stats.get(region), region, seconds, when)
        return self._stats

    def _read(self) -> dict[str, RegionLatency]:
        found = self.cache.get(self.key, MISS, memory_ttl=0)  # always the shared copy
        if found is MISS:
            return {}
        return _parse(found)

    def _write(self, stats: dict[str, RegionLatency]) -> None:
        value = {
            "regions": {
                s.region: {"avg": s.average, "n": s.samples, "updated": s.updated}
                for s in stats.values()
            },
            "saved": self.cache.clock.time(),
        }
        ttl = self.ttl_seconds
        self.cache.set(self.key, value, memory_ttl=0, disk_ttl=ttl, redis_ttl=ttl)


def _parse(value: Any) -> dict[str, RegionLatency]:
    """Tolerate anything: a malformed stored value is an empty history, not an error."""
    result: dict[str, RegionLatency] = {}
    regions = value.get("regions") if isinstance(value, dict) else None
    if not isinstance(regions, dict):
        return result
    for region, item in regions.items():
        try:
            average, samples, updated = float(item["avg"]), int(item["n"]), float(item["updated"])
        except (KeyError, TypeError, ValueError):
            continue
        if average >= 0 and samples > 0:
            result[region] = RegionLatency(region, average, samples, updated)
    return result
