"""``CacheInfo``: what ``cache_info()`` reports for a decorated function."""

from __future__ import annotations

import itertools
from typing import NamedTuple

__all__ = ["CacheInfo", "Counters", "count_value"]


class CacheInfo(NamedTuple):
    """Counts for one decorated function since decoration or ``cache_clear()``.

    ``hits`` = ``memory_hits + disk_hits + shared_hits``: calls answered without
    calling the function (``shared_hits`` waited for a concurrent identical call).
    ``misses`` counts the calls that ran the function; ``stale_hits`` counts those
    that failed and were answered with an expired value (stale-on-error).
    """

    hits: int
    misses: int
    memory_hits: int
    disk_hits: int
    shared_hits: int
    stale_hits: int


def count_value(counter: itertools.count[int]) -> int:
    # ``next(count)`` is atomic under the GIL, unlike ``x += 1``; its repr is the
    # only public view of the current value: "count(N)".
    return int(repr(counter)[6:-1])


class Counters:
    """Thread-safe counters (``itertools.count``) so the hit path takes no lock."""

    __slots__ = ("disk_hits", "memory_hits", "misses", "shared_hits", "stale_hits")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.memory_hits = itertools.count()
        self.disk_hits = itertools.count()
        self.shared_hits = itertools.count()
        self.misses = itertools.count()
        self.stale_hits = itertools.count()

    def snapshot(self) -> CacheInfo:
        memory, disk, shared = (
            count_value(self.memory_hits),
            count_value(self.disk_hits),
            count_value(self.shared_hits),
        )
        return CacheInfo(
            memory + disk + shared,
            count_value(self.misses),
            memory,
            disk,
            shared,
            count_value(self.stale_hits),
        )
