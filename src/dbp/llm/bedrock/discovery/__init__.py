"""dbp discovery cache: tiered memoization for slow, rate-limited discovery calls.

``@discovery_cached(key="bedrock_models:<region>")`` caches a function's result in
an in-process LRU and an on-disk tier shared by the processes of a host;
:class:`DiscoveryCache` is the imperative API underneath. The Bedrock helpers
(``BedrockModelDiscovery`` ...) load boto3 only when first used.
"""

from __future__ import annotations

from dbp.cache import defaults
from dbp.cache.lazy import lazy_exports

# typing.TYPE_CHECKING without importing typing (about 7 ms at start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dbp.cache import (
        MISS,
        CachedFunction,
        CacheInfo,
        Clock,
        ManualClock,
        SystemClock,
        discovery_cached,
    )

    from .bedrock.access import BedrockModelAccess, ModelAccess
    from .bedrock.errors import ModelNotAvailableError, TargetNotUsableError
    from .bedrock.latency import RegionLatencyTracker
    from .bedrock.models import BedrockModelDiscovery
    from .bedrock.profiles import BedrockProfileDiscovery
    from .bedrock.resolution import Resolution
    from .bedrock.resolver import BedrockResolver
    from .bedrock.targets import BedrockTargetDiscovery
    from .cache import DiscoveryCache, default_cache, set_default_cache

# Every public name loads its module on first access (PEP 562): ``import
# dbp.llm.bedrock.discovery`` costs next to nothing and works without boto3 (the Bedrock
# helpers import it); the engine is loaded when a program first decorates or builds a cache.
_LAZY = {
    "MISS": "dbp.cache",
    "CacheInfo": "dbp.cache",
    "CachedFunction": "dbp.cache",
    "Clock": "dbp.cache",
    "ManualClock": "dbp.cache",
    "SystemClock": "dbp.cache",
    "discovery_cached": "dbp.cache",
    "DiscoveryCache": ".cache",
    "default_cache": ".cache",
    "set_default_cache": ".cache",
    "BedrockClients": ".bedrock.clients",
    "BedrockDiscoveryError": ".bedrock.errors",
    "BedrockModelAccess": ".bedrock.access",
    "BedrockModelDiscovery": ".bedrock.models",
    "BedrockProfileDiscovery": ".bedrock.profiles",
    "BedrockResolver": ".bedrock.resolver",
    "BedrockTargetDiscovery": ".bedrock.targets",
    "ModelAccess": ".bedrock.access",
    "ModelNotAvailableError": ".bedrock.errors",
    "RegionLatencyTracker": ".bedrock.latency",
    "RegionUnavailableError": ".bedrock.errors",
    "Resolution": ".bedrock.resolution",
    "RetryPolicy": ".bedrock.errors",
    "TargetNotUsableError": ".bedrock.errors",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


class _DiscoveryCacheFactory:
    """Builds the default cache (a :class:`DiscoveryCache`, with ``$DBP_REDIS_IAM``'s
    sign-in: ``cache._DefaultDiscoveryCache``), loading the engine on first use."""

    #: Where the default cache logs, known before it is built (``cache.LOGGER_NAME``).
    DEFAULT_LOGGER_NAME = __name__

    def __call__(self, **options: Any) -> DiscoveryCache:
        from .cache import _DefaultDiscoveryCache

        return _DefaultDiscoveryCache()(**options)


# ``@discovery_cached`` without ``cache=`` uses a DiscoveryCache once this layer is loaded.
defaults.set_default_factory(_DiscoveryCacheFactory())

__all__ = [
    "MISS",
    "BedrockModelAccess",
    "BedrockModelDiscovery",
    "BedrockProfileDiscovery",
    "BedrockResolver",
    "BedrockTargetDiscovery",
    "CacheInfo",
    "CachedFunction",
    "Clock",
    "DiscoveryCache",
    "ManualClock",
    "ModelAccess",
    "ModelNotAvailableError",
    "RegionLatencyTracker",
    "Resolution",
    "SystemClock",
    "TargetNotUsableError",
    "default_cache",
    "discovery_cached",
    "set_default_cache",
]
