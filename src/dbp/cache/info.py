"""``CacheInfo``: what ``cache_info()`` reports for a decorated function."""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["CALL_OBSERVERS", "CacheInfo", "Counters", "all_counters", "count_value"]

#: Called after each upstream call with (function, seconds, error type or None); empty
#: unless OpenTelemetry metrics are on (:func:`dbp.cache.metrics.enable_metrics`).
CALL_OBSERVERS: list[Callable[[str, float, str | None], None]] = []
_ALL: weakref.WeakSet[Counters] = weakref.WeakSet()
_ALL_LOCK = threading.Lock()  # a reader's thread lists them while functions are decorated


class CacheInfo(NamedTuple):
    """Counts for one decorated function since decoration or ``cache_clear()``.

    ``hits`` = every tier's hits + ``flight_hits``: calls answered without calling
    the function. ``flight_hits`` shared a concurrent identical call in this
    process, whether it succeeded or failed (``shared_hits`` is its old name).
    Tiers beyond memory and disk (a
    shared Redis tier) are in ``other_tier_hits`` as ``(name, count)`` pairs and
    read as ``info.<name>_hits`` (``info.redis_hits``). ``misses`` counts the
    calls that ran the function; ``stale_hits`` those that failed and were
    answered with an expired value (stale-on-error).
    """

    hits: int
    misses: int
    memory_hits: int
    disk_hits: int
    flight_hits: int
    stale_hits: int
    other_tier_hits: tuple[tuple[str, int], ...] = ()

    @property
    def shared_hits(self) -> int:
        """Old name of :attr:`flight_hits`."""
        return self.flight_hits

    @property
    def tier_hits(self) -> dict[str, int]:
        """Hits per tier by the store's name."""
        return {"memory": self.memory_hits, "disk": self.disk_hits, **dict(self.other_tier_hits)}

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_hits"):
            return dict(self.other_tier_hits).get(name[: -len("_hits")], 0)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def count_value(counter: itertools.count[int]) -> int:
    # ``next(count)`` is atomic under the GIL, unlike ``x += 1``; its repr is the
    # only public view of the current value: "count(N)".
    return int(repr(counter)[6:-1])


def all_counters() -> list[Counters]:
    """The counters of every decorated function alive in this process."""
    with _ALL_LOCK:
        return list(_ALL)


class Counters:
    """Thread-safe counters (``itertools.count``) so the hit path takes no lock.

    ``memory_hits`` is an attribute of its own: the generated hit path bumps it.
    Other tiers' counters are made on first use, by the tier's name. The counts
    only grow for the life of the process (:meth:`totals`, what metrics and the
    shared statistics read); ``reset()`` moves the baseline ``cache_info()`` starts at.
    Upstream calls (slow anyway) are counted under a lock, with their time.
    """

    __slots__ = (
        "__weakref__",
        "_baseline",
        "_calls",
        "_guard",
        "_tiers",
        "flight_hits",
        "memory_hits",
        "misses",
        "name",
        "stale_hits",
    )

    def __init__(self, name: str = "") -> None:
        self.name = name  # the function's, for metrics and the shared statistics
        self._guard = threading.Lock()
        self.memory_hits = itertools.count()
        self.flight_hits = itertools.count()
        self.misses = itertools.count()
        self.stale_hits = itertools.count()
        self._tiers: dict[str, itertools.count[int]] = {"memory": self.memory_hits}
        #: "call", "call_us" (microseconds) and "error.<type>" for each upstream call.
        self._calls: dict[str, int] = {}
        self._baseline: dict[str, int] = {}
        with _ALL_LOCK:
            _ALL.add(self)

    def reset(self) -> None:
        """``cache_info()`` counts from zero again (the totals keep growing)."""
        self._baseline = self.totals()

    def record_call(self, started: float, error: BaseException | None) -> None:
        """One upstream call that began at ``started`` (``time.perf_counter()``) has ended."""
        seconds = time.perf_counter() - started
        kind = None if error is None else type(error).__name__
        with self._guard:
            calls = self._calls
            calls["call"] = calls.get("call", 0) + 1
            calls["call_us"] = calls.get("call_us", 0) + round(seconds * 1e6)
            if kind is not None:
                calls["error." + kind] = calls.get("error." + kind, 0) + 1
        for observer in CALL_OBSERVERS:
            observer(self.name, seconds, kind)

    def totals(self) -> dict[str, int]:
        """Every count since the process began: ``hit.<tier>`` (``flight`` too), ``miss``,
        ``stale``, ``call``, ``call_us`` and ``error.<type>``; zeros left out."""
        with self._guard:  # tiers and calls are added under it (not the hits themselves)
            tiers, calls = list(self._tiers.items()), dict(self._calls)
        found = {"hit." + name: count_value(c) for name, c in tiers}
        found["hit.flight"] = count_value(self.flight_hits)
        found["miss"] = count_value(self.misses)
        found["stale"] = count_value(self.stale_hits)
        found.update(calls)
        return {name: value for name, value in found.items() if value}

    def tier(self, name: str) -> itertools.count[int]:
        """The hit counter of the tier called ``name``."""
        counter = self._tiers.get(name)
        if counter is None:
            with self._guard:
                counter = self._tiers.setdefault(name, itertools.count())
        return counter

    def snapshot(self) -> CacheInfo:
        base = self._baseline
        now = {name: value - base.get(name, 0) for name, value in self.totals().items()}
        tiers = {n[4:]: v for n, v in now.items() if n.startswith("hit.") and n != "hit.flight"}
        memory, disk = tiers.pop("memory", 0), tiers.pop("disk", 0)
        flight = now.get("hit.flight", 0)
        return CacheInfo(
            memory + disk + sum(tiers.values()) + flight,
            now.get("miss", 0),
            memory,
            disk,
            flight,
            now.get("stale", 0),
            tuple(sorted(t for t in tiers.items() if t[1])),
        )
