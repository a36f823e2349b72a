"""dbp.cache: the generic engine of the dbp discovery cache.

Tiered memoization for slow, rate-limited calls: stores (memory, disk), locks
(in-process flights, host file locks), one read-through path and the
``@cached`` decorator. It knows nothing of Bedrock; :mod:`dbp.llm.bedrock.discovery`
builds on it.

The names below load their module on first access (PEP 562), so ``import dbp.cache``
costs next to nothing; a program pays for the engine when it first decorates or builds
a cache, never on a hit.
"""

from __future__ import annotations

from .lazy import lazy_exports

# typing.TYPE_CHECKING without importing typing (about 7 ms at start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .clock import Clock, ManualClock, SystemClock
    from .decorator import CachedFunction, discovery_cached
    from .defaults import default_cache, set_default_cache
    from .info import CacheInfo
    from .metrics import enable_metrics
    from .sentinel import MISS, Miss
    from .tiered import TieredCache

#: Where each public name lives (relative module).
_LAZY = {
    "MISS": ".sentinel",
    "CacheInfo": ".info",
    "CachedFunction": ".decorator",
    "Clock": ".clock",
    "ManualClock": ".clock",
    "Miss": ".sentinel",
    "SystemClock": ".clock",
    "TieredCache": ".tiered",
    "default_cache": ".defaults",
    "discovery_cached": ".decorator",
    "enable_metrics": ".metrics",
    "set_default_cache": ".defaults",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


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


def _metrics_from_env() -> None:
    """``DBP_OTEL_METRICS`` set: metrics on at import (only then is the metrics code loaded)."""
    import os

    if os.environ.get("DBP_OTEL_METRICS"):  # .metrics.ENV_OTEL_METRICS, read without importing it
        from .metrics import enable_from_env

        enable_from_env()  # the only case where OpenTelemetry is imported


_metrics_from_env()
