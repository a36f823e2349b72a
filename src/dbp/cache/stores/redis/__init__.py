"""The fleet tier: a Redis store. Imported only when a Redis URL is configured.

Importing :mod:`dbp.cache` never imports this package (nor redis-py).
"""

from __future__ import annotations

from .core import RedisEntryInfo
from .generation import Follower, Marker
from .invalidation import Subscriber
from .lease import Fence, RedisLease
from .store import RedisStore

__all__ = [
    "Fence",
    "Follower",
    "Marker",
    "RedisEntryInfo",
    "RedisLease",
    "RedisStore",
    "Subscriber",
]
