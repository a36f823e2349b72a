"""The memory tier: a bounded LRU whose entries expire on the monotonic clock."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Final, NamedTuple

from ..clock import Clock
from ..entry import Entry
from ..sentinel import MISS, Miss

__all__ = ["EntryFacts", "HitView", "MemoryStore", "Slot"]

# A slot is a plain tuple so the hit path reads it with one index; the positions are
# named in :class:`HitView`, the only code that reads slots outside this module.
Slot = tuple[Any, float, float, Entry, float]


class HitView:
    """What the generated hit path of ``@discovery_cached`` reads, and how.

    ``slots`` maps key -> slot tuple (LRU order: last is most recently used);
    a slot holds the value at ``VALUE``, the monotonic deadline at ``FRESH_UNTIL``
    and when a hit should start a refresh-ahead at ``REFRESH_FROM``. ``monotonic``
    is the clock those deadlines are on. Writers hold the store's lock; a reader
    needs none (single dict operations are atomic).
    """

    VALUE: Final = 0
    FRESH_UNTIL: Final = 1
    STALE_UNTIL: Final = 2
    ENTRY: Final = 3
    REFRESH_FROM: Final = 4

    __slots__ = ("monotonic", "slots")

    def __init__(self, slots: OrderedDict[str, Slot], monotonic: Callable[[], float]) -> None:
        self.slots = slots
        self.monotonic = monotonic


class EntryFacts(NamedTuple):
    """One memory entry's facts, for ``scan`` (see the store contract)."""

    key: str | None
    owner: str | None
    created: float
    expires: float
    stale_until: float
    size: int = 0


class MemoryStore:
    """In-process LRU tier holding at most ``max_entries`` entries.

    [Design principles]
    Expiry uses the monotonic clock: the wall-clock lifetime in an :class:`Entry`
    is converted to a monotonic deadline when stored, so a wall-clock jump can't
    extend or cut it. Reads take no lock (single dict operations are atomic);
    writes and evictions do. It needs no key lock: the in-process flight is one.
    """

    name = "memory"
    remote = False

    def __init__(self, max_entries: int, clock: Clock) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: OrderedDict[str, Slot] = OrderedDict()
        self.view = HitView(self._slots, clock.monotonic)

    def __len__(self) -> int:
        return len(self._slots)

    def get(self, key: str, *, stale: bool = False) -> Entry | Miss:
        """The fresh entry for ``key`` (with ``stale``: within its stale window), or ``MISS``.

        A fresh hit becomes the most recently used.
        """
        slot = self._slots.get(key)
        if slot is None or (slot[2] if stale else slot[1]) <= self._clock.monotonic():
            return MISS
        if not stale:
            self.touch(key)
        return slot[3]

    def touch(self, key: str) -> None:
        """Mark ``key`` most recently used (it may have been evicted meanwhile)."""
        try:  # noqa: SIM105 - contextlib.suppress costs 250 ns on every hit
            self._slots.move_to_end(key)
        except KeyError:
            pass

    def set(
        self, key: str, entry: Entry, *, fence: object | None = None, body: bytes | None = None
    ) -> bool:
        """Store ``entry``, evicting the least recently used beyond the bound."""
        if self.max_entries <= 0:
            return True
        # Deadlines are taken relative to "now" on both clocks, then kept monotonic.
        offset = self._clock.monotonic() - self._clock.time()
        slot = (
            entry.value,
            entry.expires + offset,
            entry.stale_until + offset,
            entry,
            entry.refresh_at + offset,
        )
        with self._lock:
            self._slots[key] = slot
            self._slots.move_to_end(key)
            while len(self._slots) > self.max_entries:
                self._slots.popitem(last=False)
        return True

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._slots.pop(key, None) is not None

    def clear(self, owner: str | None = None) -> int:
        """Drop every entry, or only those whose ``owner`` matches."""
        with self._lock:
            if owner is None:
                count = len(self._slots)
                self._slots.clear()
                return count
            doomed = [k for k, slot in self._slots.items() if slot[3].owner == owner]
            for k in doomed:
                del self._slots[k]
            return len(doomed)

    def cleanup(self) -> int:
        """Drop entries past their stale window; return how many."""
        now = self._clock.monotonic()
        with self._lock:
            doomed = [k for k, slot in self._slots.items() if slot[2] <= now]
            for k in doomed:
                del self._slots[k]
            return len(doomed)

    def lock(self, key: str, owner: str | None = None, *, find: bool = False) -> None:
        """No lock of its own: the in-process flight already makes one caller compute."""
        return

    def items(self) -> Iterator[tuple[str, Entry]]:
        """Snapshot of (key, entry) pairs, least recently used first."""
        with self._lock:
            snapshot = [(k, slot[3]) for k, slot in self._slots.items()]
        return iter(snapshot)

    def scan(self) -> Iterator[EntryFacts]:
        """The facts of every entry, least recently used first."""
        for key, e in self.items():
            yield EntryFacts(key, e.owner, e.created, e.expires, e.stale_until)
