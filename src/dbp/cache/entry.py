"""The record every tier stores: a value plus the wall-clock facts about it."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Entry"]


class Entry(NamedTuple):
    """A cached value and its lifetime, in wall-clock seconds since the epoch.

    ``expires`` ends freshness; ``stale_until`` (>= ``expires``) is how long an
    expired value may still be served when the refresh fails (stale-on-error).
    ``owner`` names the decorated function that computed it (``None`` for
    values stored with :meth:`DiscoveryCache.set`), so ``cache_clear()`` removes
    exactly that function's entries.
    """

    value: Any
    created: float
    expires: float
    stale_until: float
    owner: str | None = None
