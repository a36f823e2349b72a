"""The memory tier: a bounded LRU whose entries expire on the monotonic clock."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from ..clock import Clock
from ..entry import Entry
from ..sentinel import MISS, Miss

__all__ = ["MemoryStore"]

# A slot is a plain tuple so the hit path reads it with one index:
# (value, fresh_until_monotonic, stale_until_monotonic, entry, refresh_from_monotonic)
# The last is when a hit should start a refresh-ahead (infinity: never).
Slot = tuple[Any, float, float, Entry, float]


class MemoryStore:
    """In-process LRU tier holding at most ``max_entries`` entries.

    [Design principles]
    Expiry uses the monotonic clock: the wall-clock lifetime in an :class:`Entry`
    is converted to a monotonic deadline when stored, so a wall-clock jump can't
    extend or cut it. Reads take no lock (single dict operations are atomic);
    writes and evictions do.
    """

    def __init__(self, max_entries: int, clock: Clock) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self.data: OrderedDict[str, Slot] = OrderedDict()

    def __len__(self) -> int:
        return len(self.data)

    def get(self, key: str) -> Entry | Miss:
        """The fresh entry for ``key``, or ``MISS``; a hit becomes most recently used."""
        slot = self.data.get(key)
        if slot is None or slot[1] <= self._clock.monotonic():
            return MISS
        self.touch(key)
        return slot[3]

    def get_stale(self, key: str) -> Entry | Miss:
        """The entry for ``key`` while within its stale window (fresh or expired)."""
        slot = self.data.get(key)
        if slot is None or slot[2] <= self._clock.monotonic():
            return MISS
        return slot[3]

    def touch(self, key: str) -> None:
        """Mark ``key`` most recently used (it may have been evicted meanwhile)."""
        try:  # noqa: SIM105 - contextlib.suppress costs 250 ns on every hit
            self.data.move_to_end(key)
        except KeyError:
            pass

    def set(self, key: str, entry: Entry, refresh_from: float = math.inf) -> None:
        """Store ``entry``, evicting the least recently used beyond the bound.

        ``refresh_from`` (wall clock) is when hits should start a refresh-ahead.
        """
        if self.max_entries <= 0:
            return
        # Deadlines are taken relative to "now" on both clocks, then kept monotonic.
        offset = self._clock.monotonic() - self._clock.time()
        slot = (
            entry.value,
            entry.expires + offset,
            entry.stale_until + offset,
            entry,
            refresh_from + offset,
        )
        with self._lock:
            self.data[key] = slot
            self.data.move_to_end(key)
            while len(self.data) > self.max_entries:
                self.data.popitem(last=False)

    def delete(self, key: str) -> bool:
        with self._lock:
            return self.data.pop(key, None) is not None

    def clear(self, owner: str | None = None) -> int:
        """Drop every entry, or only those whose ``owner`` matches."""
        with self._lock:
            if owner is None:
                count = len(self.data)
                self.data.clear()
                return count
            doomed = [k for k, slot in self.data.items() if slot[3].owner == owner]
            for k in doomed:
                del self.data[k]
            return len(doomed)

    def cleanup(self) -> int:
        """Drop entries past their stale window; return how many."""
        now = self._clock.monotonic()
        with self._lock:
            doomed = [k for k, slot in self.data.items() if slot[2] <= now]
            for k in doomed:
                del self.data[k]
            return len(doomed)

    def items(self) -> Iterator[tuple[str, Entry]]:
        """Snapshot of (key, entry) pairs, least recently used first."""
        with self._lock:
            snapshot = [(k, slot[3]) for k, slot in self.data.items()]
        return iter(snapshot)
