"""``CacheInfo``: what ``cache_info()`` reports for a decorated function."""

from __future__ import annotations

import itertools
import threading
from typing import Any, NamedTuple

__all__ = ["CacheInfo", "Counters", "count_value"]


class CacheInfo(NamedTuple):
    """Counts for one decorated function since decoration or ``cache_clear()``.

    ``hits`` = every tier's hits + ``flight_hits``: calls answered without calling
    the function. ``flight_hits`` waited for a concurrent identical call in this
    process (``shared_hits`` is its old name). Tiers beyond memory and disk (a
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


class Counters:
    """Thread-safe counters (``itertools.count``) so the hit path takes no lock.

    ``memory_hits`` is an attribute of its own: the generated hit path bumps it.
    Other tiers' counters are made on first use, by the tier's name.
    """

    __slots__ = ("_guard", "_tiers", "flight_hits", "memory_hits", "misses", "stale_hits")

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.memory_hits = itertools.count()
        self.flight_hits = itertools.count()
        self.misses = itertools.count()
        self.stale_hits = itertools.count()
        self._tiers: dict[str, itertools.count[int]] = {"memory": self.memory_hits}

    def tier(self, name: str) -> itertools.count[int]:
        """The hit counter of the tier called ``name``."""
        counter = self._tiers.get(name)
        if counter is None:
            with self._guard:
                counter = self._tiers.setdefault(name, itertools.count())
        return counter

    def snapshot(self) -> CacheInfo:
        tiers = {name: count_value(c) for name, c in list(self._tiers.items())}
        memory, disk = tiers.pop("memory", 0), tiers.pop("disk", 0)
        flight = count_value(self.flight_hits)
        return CacheInfo(
            memory + disk + sum(tiers.values()) + flight,
            count_value(self.misses),
            memory,
            disk,
            flight,
            count_value(self.stale_hits),
            tuple(sorted(tiers.items())),
        )
