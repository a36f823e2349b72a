"""The record every tier stores: a value plus the wall-clock facts about it."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

__all__ = ["Entry"]


class Entry(NamedTuple):
    """A cached value and its lifetime, in wall-clock seconds since the epoch.

    ``expires`` ends freshness; ``stale_until`` (>= ``expires``) is how long an
    expired value may still be served when the refresh fails (stale-on-error).
    ``owner`` names the decorated function that computed it (``None`` for
    values stored with :meth:`DiscoveryCache.set`), so ``cache_clear()`` removes
    exactly that function's entries. ``refresh_at`` is when a hit should start a
    background refresh (refresh-ahead; infinity: never); only the memory tier keeps
    it, the others derive it from the lifetime when read.
    """

    value: Any
    created: float
    expires: float
    stale_until: float
    owner: str | None = None
    refresh_at: float = math.inf
