"""The store contract: what every tier (memory, disk, Redis) offers the tiered cache.

[Intent]
A tier is a store plus a lifetime. The read-through path (:mod:`dbp.cache.readthrough`)
and the tiered cache (:mod:`dbp.cache.tiered`) only ever talk to this contract, so a
new tier is a new store, not new code in the decorator.

[Design principles]
- Entries carry their own wall-clock times (:class:`~dbp.cache.entry.Entry`); a store
  never invents or extends a lifetime.
- A store never raises for a fault of its medium (I/O error, server down): reads
  miss, writes return ``False``, with one warning per condition. Bad input
  (an unstorable value) is the caller's error and raises.
- Each store has a per-key lock of its own scope: none for memory (the in-process
  flight covers it), a host file lock for disk, a lease for a shared server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from ..entry import Entry
from ..sentinel import Miss

__all__ = ["EntryInfo", "KeyLock", "Store"]


class EntryInfo(Protocol):
    """What a scan tells about one stored entry (``key`` None: unreadable or foreign)."""

    @property
    def key(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def created(self) -> float: ...
    @property
    def expires(self) -> float: ...
    @property
    def stale_until(self) -> float: ...
    @property
    def size(self) -> int: ...


class KeyLock(Protocol):
    """A per-key lock of one store's scope (host, fleet).

    ``acquire`` answers ``True`` (held), ``False`` (busy past ``timeout``) or
    ``None`` (the lock cannot be used at all: read-only folder, server down); the
    read-through path computes anyway on ``False``/``None``. ``fence`` is passed
    back to :meth:`Store.set` of the same store, so a holder whose lock lapsed
    cannot overwrite a newer value. A holder whose call raised releases with
    ``failed=True``; ``holder_failed`` then tells a caller that waited meanwhile,
    so the waiters of a failed call make their own at once, not one after another.
    """

    def acquire(self, timeout: float) -> bool | None: ...
    async def acquire_async(self, timeout: float) -> bool | None: ...
    def release(self, *, failed: bool = False) -> None: ...
    async def release_async(self, *, failed: bool = False) -> None: ...
    @property
    def fence(self) -> object | None: ...
    @property
    def holder_failed(self) -> bool: ...
    @property
    def found(self) -> Entry | Miss:
        """A fresh entry the lock found instead of being taken (made with ``find``), else MISS.

        Then another host filled the key: no need to compute it, nor to look again.
        """


@runtime_checkable
class Store(Protocol):
    """One tier's storage. ``name`` labels its hits in ``cache_info()``.

    ``remote`` says its operations cross a network: the read-through path yields
    them so that an async caller awaits their async form (``aget``). A local
    store's (memory, a file) run inline on both paths, costing no round trip
    through the driver (see ``readthrough.ops.on_store``).
    """

    name: str
    remote: bool

    def get(self, key: str, *, stale: bool = False) -> Entry | Miss:
        """The fresh entry (or, with ``stale``, one still within its stale window)."""
        ...

    def set(
        self, key: str, entry: Entry, *, fence: object | None = None, body: bytes | None = None
    ) -> bool:
        """Store ``entry``; ``False`` when the medium failed (warned about once).

        ``body`` is ``codec.encode(key, entry.value)`` made once by the caller for
        every tier (a serializing store wraps it in :mod:`dbp.cache.envelope`);
        ``fence`` is what this store's :meth:`lock` handed out, if held.
        """
        ...

    def delete(self, key: str) -> bool:
        """Remove ``key``; whether something was removed."""
        ...

    def clear(self, owner: str | None = None) -> int:
        """Remove every entry, or only those written for ``owner``; how many went.

        By owner it removes that owner's entries written by any process, and never
        one written after the clear judged it; readers meanwhile see misses, never
        errors. Its cost should grow with the owner's entries, not the store's.
        """
        ...

    def scan(self) -> Iterator[EntryInfo]:
        """Every stored entry's facts (not its value)."""
        ...

    def lock(self, key: str, owner: str | None = None, *, find: bool = False) -> KeyLock | None:
        """The per-key lock of this store's scope, or ``None`` if it needs none.

        ``owner`` is whose entry the holder will write: a store may refuse that
        write when ``clear(owner)`` ran meanwhile. ``find``: a remote store's lock
        looks the key up in the same round trip (see :attr:`KeyLock.found`).
        """
        ...

    def cleanup(self) -> int:
        """Remove what can never be served again; how many entries went."""
        ...
