"""dbp.cache: the generic engine of the dbp discovery cache.

Tiered memoization for slow, rate-limited calls: stores (memory, disk), locks
(in-process flights, host file locks), one read-through path and the
``@cached`` decorator. It knows nothing of Bedrock; :mod:`dbp.llm.bedrock.discovery`
builds on it.
"""

from __future__ import annotations

from .clock import Clock, ManualClock, SystemClock
from .decorator import CachedFunction, discovery_cached
from .defaults import default_cache, set_default_cache
from .info import CacheInfo
from .metrics import enable_from_env, enable_metrics
from .sentinel import MISS, Miss
from .tiered import TieredCache

__all__ = [
    "MISS",
    "CacheInfo",
    "CachedFunction",
    "Clock",
    "ManualClock",
    "Miss",
    "SystemClock",
    "TieredCache",
    "default_cache",
    "discovery_cached",
    "enable_metrics",
    "set_default_cache",
]

enable_from_env()  # DBP_OTEL_METRICS=1: the only case where OpenTelemetry is imported
