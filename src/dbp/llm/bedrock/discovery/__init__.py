"""dbp discovery cache: two-tier memoization for slow, rate-limited discovery calls.

``@discovery_cached(key="bedrock_models:<region>")`` caches a function's result in
an in-process LRU and an on-disk tier shared by the processes of a host;
:class:`DiscoveryCache` is the imperative API underneath. The Bedrock helpers
(``BedrockModelDiscovery`` ...) load boto3 only when first used.
"""

from __future__ import annotations

from .cache import DiscoveryCache, default_cache, set_default_cache
from .clock import Clock, ManualClock, SystemClock
from .decorator import CachedFunction, discovery_cached
from .info import CacheInfo
from .sentinel import MISS

__all__ = [
    "MISS",
    "CacheInfo",
    "CachedFunction",
    "Clock",
    "DiscoveryCache",
    "ManualClock",
    "SystemClock",
    "default_cache",
    "discovery_cached",
    "set_default_cache",
]
