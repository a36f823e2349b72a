"""dbp discovery cache: tiered memoization for slow, rate-limited discovery calls.

``@discovery_cached(key="bedrock_models:<region>")`` caches a function's result in
an in-process LRU and an on-disk tier shared by the processes of a host;
:class:`DiscoveryCache` is the imperative API underneath. The Bedrock helpers
(``BedrockModelDiscovery`` ...) load boto3 only when first used.
"""

from __future__ import annotations

from dbp.cache import (
    MISS,
    CachedFunction,
    CacheInfo,
    Clock,
    ManualClock,
    SystemClock,
    discovery_cached,
)

from .cache import DiscoveryCache, default_cache, set_default_cache

# Bedrock helpers import boto3; they are loaded on first access (PEP 562), so
# ``import dbp.llm.bedrock.discovery`` stays cheap and works without boto3.
_LAZY = {
    "BedrockClients": "bedrock.clients",
    "BedrockDiscoveryError": "bedrock.errors",
    "BedrockModelAccess": "bedrock.access",
    "BedrockModelDiscovery": "bedrock.models",
    "BedrockProfileDiscovery": "bedrock.profiles",
    "BedrockResolver": "bedrock.resolver",
    "BedrockTargetDiscovery": "bedrock.targets",
    "ModelAccess": "bedrock.access",
    "ModelNotAvailableError": "bedrock.errors",
    "RegionLatencyTracker": "bedrock.latency",
    "RegionUnavailableError": "bedrock.errors",
    "Resolution": "bedrock.resolution",
    "RetryPolicy": "bedrock.errors",
    "TargetNotUsableError": "bedrock.errors",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
