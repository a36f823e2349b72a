"""What one decorated function needs, fixed at decoration time.

The core builds keys, chooses the cache, states the function's policy and hands
every miss to the cache's one read-through path (:mod:`dbp.cache.readthrough`).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, cast

from ..defaults import default_cache
from ..info import Counters
from ..keys import UnstableKeyError, explain_unstable, key_expression, key_parts, signature_source
from ..metrics.flusher import track
from ..readthrough.steps import Policy
from ..tiered import LOGGER_NAME, TieredCache
from ..ttl import TTLArg, tier_overrides, ttl_seconds
from .options import DEFAULT_MAX_STALE_SECONDS, ErrorSpec, refresh_fraction, stale_predicate
from .target import target_of

__all__ = ["CacheSpec", "Core"]

CacheSpec = TieredCache | Callable[..., TieredCache] | None
KEY_ERRORS = (UnstableKeyError, AttributeError)

logger = logging.getLogger(LOGGER_NAME)


class Core:
    """Key, cache, policy and counters of one decorated function."""

    def __init__(
        self,
        func: Callable[..., Any],
        key: str | Callable[..., Any] | None,
        ttls: dict[str, TTLArg],
        cache: CacheSpec,
        serve_stale_on_error: ErrorSpec,
        max_stale: TTLArg,
        refresh_ahead: float | None = None,
    ) -> None:
        target = target_of(func)
        raw = target.func
        self.func: Callable[..., Any] = raw
        #: What the wrapt proxy wraps (binds as the decorated object would).
        self.wrapped: Any = target.wrapped
        self.name = target.name
        # Functions made by one factory share module and qualified name: what tells
        # them apart is their closure (and a partial's bound arguments). That text
        # joins the owner (so cache_clear() of one keeps the other's entries) and so
        # the derived key (key=None); a derived key without it would mix such
        # functions up, so those calls bypass the cache (one warning). A template
        # key is kept as written.
        self.unstable_name = target.unstable if key is None else None
        self.owner = target.stable or self.name
        self.signature = signature_source(raw)
        self.key_source, self.key_namespace = key_expression(
            key, raw, self.signature, prefix=self.owner
        )
        self.key = cast(
            "Callable[..., str]",
            self.signature.define(
                "cache_key", f"    return {self.key_source}", dict(self.key_namespace)
            ),
        )
        if self.unstable_name is not None:  # cache_key() and invalidate() say why, too
            self.key = functools.partial(_refuse, self.unstable_name)
        #: What the key is made of, for naming the argument a key cannot be built from.
        self.key_parts = key_parts(key, self.signature)
        self.templated = isinstance(key, str)
        #: The attribute name and (module, qualified name) it is reachable by: the
        #: function's own until a class body assigns it (``__set_name__``) elsewhere.
        self.attribute: str = getattr(raw, "__name__", "")
        self.reachable_as: tuple[str, str] | None = None
        self.overrides = tier_overrides(**ttls)
        if cache is not None and not isinstance(cache, TieredCache) and not callable(cache):
            raise TypeError(
                "cache must be a TieredCache (such as a DiscoveryCache), a callable returning "
                f"one, or None, not {type(cache).__name__}"
            )
        self.cache = cache if isinstance(cache, TieredCache) else None
        self.cache_provider = None if isinstance(cache, TieredCache) else cache
        self.stale_on = stale_predicate(serve_stale_on_error)
        if max_stale is not None and self.stale_on is None:
            raise ValueError("max_stale only applies with serve_stale_on_error")
        self.max_stale = (
            ttl_seconds(max_stale, "max_stale", default=DEFAULT_MAX_STALE_SECONDS, zero=None)
            if self.stale_on is not None
            else 0.0
        )
        self.refresh_ahead = refresh_fraction(refresh_ahead)
        self.stats = Counters(self.name)
        self.warned_key_failure = False
        self.is_async = inspect.iscoroutinefunction(raw)
        #: (the cache's plain policy when made, this function's policy): see policy().
        self._policy_memo: tuple[object, Policy | None] = (None, None)

    # -- resolution -------------------------------------------------------------------
    def resolve_cache(self, instance: Any) -> TieredCache:
        if self.cache is not None:
            return self.cache
        provider = self.cache_provider
        if provider is None:
            return default_cache()
        if instance is not None:
            cache = provider(instance)
        else:
            try:
                cache = provider()
            except TypeError as exc:
                raise TypeError(
                    f"the cache of {self.name} is chosen per instance (cache= is a callable "
                    "of the instance): call it, or its cache_clear(), through an instance"
                ) from exc
        if not isinstance(cache, TieredCache):
            raise TypeError(
                f"cache provider of {self.name} returned {type(cache).__name__}, "
                "not a TieredCache (such as a DiscoveryCache)"
            )
        return cache

    def logger(self, instance: Any) -> logging.Logger:
        """The cache's logger (where its users look), or the engine's if it can't be had."""
        try:
            return self.resolve_cache(instance).logger
        except Exception:  # a broken provider is reported by the call itself
            return logger

    def policy(self, cache: TieredCache) -> Policy:
        """This function's policy against ``cache``'s tiers and defaults.

        Kept while ``cache.plain_policy`` is the same object: it is a new one for
        another cache, or once that cache's lifetimes changed.
        """
        made_for = cache.plain_policy
        kept_for, policy = self._policy_memo
        if policy is not None and kept_for is made_for:
            return policy
        policy = Policy(
            cache.ttls(self.overrides),
            self.owner,
            self.max_stale,
            self.stale_on,
            self.refresh_ahead,
            self.stats,
        )
        self._policy_memo = (made_for, policy)
        track(self.stats, cache)  # its counts join cache's host and fleet statistics
        return policy

    def build_key(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        """The key, or ``None`` when it can't be built (then the call bypasses the cache)."""
        try:
            return self.key(*args, **kwargs)
        except KEY_ERRORS as exc:
            if not self.warned_key_failure:
                self.warned_key_failure = True
                self.logger(instance).warning(
                    "dbp cache: %s is called without caching: %s",
                    self.name,
                    self._why_no_key(exc, args, kwargs),
                )
            return None

    def _why_no_key(self, exc: Exception, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        if isinstance(exc, UnstableKeyError) and exc is not self.unstable_name:
            advice = explain_unstable(self.func, self.key_parts, self.templated, args, kwargs)
            if advice is not None:
                return advice
        return f"cannot build its key ({exc})"

    # -- calls ------------------------------------------------------------------------------
    def call(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A full call (``args`` are the function's own arguments)."""
        key = self.build_key(instance, args, kwargs)
        if key is None:
            return self.func(*args, **kwargs)
        return self.miss(self.cache or self.resolve_cache(instance), key, args, kwargs)

    def miss(
        self, cache: TieredCache, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Everything after the generated hit path found nothing in memory."""
        compute = functools.partial(self.func, *args, **kwargs)
        return cache.read_through.get_or_compute(key, compute, self.policy(cache))

    async def acall(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """:meth:`call` of an ``async def`` function."""
        key = self.build_key(instance, args, kwargs)
        if key is None:
            return await self.func(*args, **kwargs)
        return await self.amiss(self.cache or self.resolve_cache(instance), key, args, kwargs)

    async def amiss(
        self, cache: TieredCache, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """:meth:`miss` of an ``async def`` function."""
        compute = functools.partial(self.func, *args, **kwargs)
        return await cache.read_through.aget_or_compute(key, compute, self.policy(cache))

    def refresh_soon(
        self, cache: TieredCache, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """From the generated hit path: a memory hit due for refresh-ahead."""
        compute = functools.partial(self.func, *args, **kwargs)
        cache.read_through.refresh_soon(key, compute, self.policy(cache), is_async=self.is_async)

    def refresh(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Compute anew and store, single-flighted; stale on error when allowed."""
        key = self.build_key(instance, args, kwargs)
        if key is None:
            return self.func(*args, **kwargs)
        cache = self.cache or self.resolve_cache(instance)
        compute = functools.partial(self.func, *args, **kwargs)
        if self.is_async:
            return cache.read_through.aget_or_compute(key, compute, self.policy(cache), force=True)
        return cache.read_through.get_or_compute(key, compute, self.policy(cache), force=True)

    # -- management -------------------------------------------------------------------------
    def clear(self, instance: Any) -> int:
        removed = self.resolve_cache(instance).clear_owner(self.owner)
        self.stats.reset()
        return removed

    def invalidate(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
        return self.resolve_cache(instance).invalidate(self.key(*args, **kwargs))


def _refuse(error: Exception, *args: Any, **kwargs: Any) -> str:
    """The key of a function whose name has no stable text: there is none."""
    raise error.with_traceback(None)  # not a traceback that grows with every call
