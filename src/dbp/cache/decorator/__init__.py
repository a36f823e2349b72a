"""``@discovery_cached``: memoize a discovery function in a :class:`~dbp.cache.TieredCache`.

[Intent]
One line on a slow, rate-limited call (``list_foundation_models`` for a region)
gives an in-process LRU hit, a disk hit shared by every process on the host and
across restarts, one upstream call per key however many threads or processes
miss at once, and, optionally, a stale value instead of an error when the
upstream call fails and a background refresh shortly before expiry.

[Implementation details]
:mod:`.core` fixes the key, cache and policy at decoration time; :mod:`.hit_path`
generates the lean memory-hit ``__call__``; :mod:`.wrapper` holds the wrapt
proxies; every miss goes to the cache's read-through path.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast

from ..info import CacheInfo
from ..ttl import TTLArg
from .core import CacheSpec, Core
from .hit_path import hit_path
from .options import DEFAULT_MAX_STALE_SECONDS, ErrorSpec
from .wrapper import CachedFunction, bound_hit_get

__all__ = [
    "DEFAULT_MAX_STALE_SECONDS",
    "BoundCachedCallable",
    "CachedCallable",
    "CachedFunction",
    "discovery_cached",
]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class BoundCachedCallable(Protocol[R_co]):
    """Static type of a cached method accessed through an instance or class."""

    def __call__(self, *args: Any, **kwargs: Any) -> R_co: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_clear(self) -> int: ...
    def cache_key(self, *args: Any, **kwargs: Any) -> str: ...
    def invalidate(self, *args: Any, **kwargs: Any) -> int: ...
    def refresh(self, *args: Any, **kwargs: Any) -> R_co: ...


class CachedCallable(Protocol, Generic[P, R_co]):
    """Static type of what ``@discovery_cached`` returns: the function plus its cache API."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def __get__(self, instance: object, owner: type | None = None) -> BoundCachedCallable[R_co]: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_clear(self) -> int: ...
    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str: ...
    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> int: ...
    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


def discovery_cached(
    key: str | Callable[..., str] | None = None,
    *,
    memory_ttl: TTLArg = None,
    disk_ttl: TTLArg = None,
    redis_ttl: TTLArg = None,
    cache: CacheSpec = None,
    serve_stale_on_error: ErrorSpec = False,
    max_stale: TTLArg = None,
    refresh_ahead: float | None = None,
) -> Callable[[Callable[P, R]], CachedCallable[P, R]]:
    """
    [Intent]
    Cache a discovery function's result in memory and on disk, keyed by a
    template such as ``"bedrock_models:<region>"``.

    [Design principles]
    - Template keys are plain cache keys: what ``@discovery_cached(key=
      "bedrock_models:<region>")`` stores is what ``TieredCache.get_model_cache``
      reads.
    - Mistakes surface at decoration time (a placeholder naming no parameter is a
      ``ValueError``); failures at call time never turn a working call into an error.

    [Implementation details]
    Args:
        key: template with ``<param>`` / ``<param.attr>`` placeholders, a callable
            taking the function's arguments, or ``None`` for a key derived from the
            module, qualified name and arguments.
        memory_ttl / disk_ttl / redis_ttl: seconds or ``timedelta``; ``None`` = the
            cache's defaults, ``0`` = skip that tier for this function (neither
            read nor written).
        cache: a :class:`TieredCache`, a callable returning one (called with the
            instance for methods, e.g. ``lambda self: self.cache``), or ``None`` for
            the process-wide default cache.
        serve_stale_on_error: ``True`` (any ``Exception``), an exception class, a
            tuple of them, or a predicate ``f(exc) -> bool`` (e.g. "is this a
            ThrottlingException?"): when the call raises such an error, serve an expired value
            (from either tier, from any earlier process) up to ``max_stale`` past
            its expiry, with a warning, instead of raising.
        max_stale: seconds or ``timedelta`` (default one day).
        refresh_ahead: a fraction such as ``0.1``: a hit in the last 10 % of the
            value's lifetime (its longest tier) returns the value at once and starts
            one background refresh (a thread, or a task for coroutines; single
            flight per key, and across processes through the key's lock file).
            Failures are logged and the current value stays until it expires.

    The wrapper has ``cache_info()``, ``cache_clear()``, ``cache_key(...)``,
    ``invalidate(...)`` and ``refresh(...)`` (call anew and store). It pickles by
    reference, like a plain function, so it can be sent to process pools.
    """

    def decorate(func: Callable[P, R]) -> CachedCallable[P, R]:
        ttls = {"memory_ttl": memory_ttl, "disk_ttl": disk_ttl, "redis_ttl": redis_ttl}
        core = Core(func, key, ttls, cache, serve_stale_on_error, max_stale, refresh_ahead)
        cls: type[CachedFunction] = CachedFunction
        if core.unstable_name is None:
            fast: dict[str, Any] = {"__call__": hit_path(core)}
            if inspect.isfunction(core.wrapped) and _takes_self(core.wrapped):  # a method, maybe
                fast["__get__"] = bound_hit_get(core, hit_path(core, method=True))
            cls = cast("type[CachedFunction]", type("CachedFunction", (CachedFunction,), fast))
        return cast("CachedCallable[P, R]", cls(core.wrapped, core))

    return decorate


def _takes_self(func: Callable[..., Any]) -> bool:
    """Whether a first positional parameter can receive the instance (not ``*args``)."""
    first = next(iter(inspect.signature(func).parameters.values()), None)
    return first is not None and first.kind in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD)
