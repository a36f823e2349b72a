"""``@discovery_cached``: memoize a discovery function in a :class:`TieredCache`.

[Intent]
One line on a slow, rate-limited call (``list_foundation_models`` for a region)
gives an in-process LRU hit, a disk hit shared by every process on the host and
across restarts, one upstream call per key however many threads or processes
miss at once, and, optionally, a stale value instead of an error when the
upstream call fails and a background refresh shortly before expiry.

[Implementation details]
Built on ``wrapt.FunctionWrapper`` so methods, classmethods and staticmethods
bind correctly and name, docstring, signature and ``__wrapped__`` are kept.
The unbound ``__call__`` is overridden with the lean hit path: a precompiled key
function, one dict lookup, one monotonic comparison. Everything else (single
flight, disk, locks, stale-on-error, refresh-ahead) is on the miss path.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar, cast

import wrapt

from .info import CacheInfo, Counters
from .keys import (
    UnstableKeyError,
    derived_key_prefix,
    key_expression,
    signature_source,
)
from .sentinel import MISS
from .tiered import LOGGER_NAME, TieredCache, default_cache, refresh_start
from .ttl import TTLArg, ttl_seconds

__all__ = ["DEFAULT_MAX_STALE_SECONDS", "discovery_cached"]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

if TYPE_CHECKING:
    _FunctionWrapper = wrapt.FunctionWrapper[..., Any]
    _BoundFunctionWrapper = wrapt.BoundFunctionWrapper[..., Any]
else:
    _FunctionWrapper = wrapt.FunctionWrapper
    _BoundFunctionWrapper = wrapt.BoundFunctionWrapper


class BoundCachedCallable(Protocol[R_co]):
    """Static type of a cached method accessed through an instance or class."""

    def __call__(self, *args: Any, **kwargs: Any) -> R_co: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_clear(self) -> int: ...
    def cache_key(self, *args: Any, **kwargs: Any) -> str: ...
    def invalidate(self, *args: Any, **kwargs: Any) -> int: ...


class CachedCallable(Protocol, Generic[P, R_co]):
    """Static type of what ``@discovery_cached`` returns: the function plus its cache API."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    def __get__(self, instance: object, owner: type | None = None) -> BoundCachedCallable[R_co]: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_clear(self) -> int: ...
    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str: ...
    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> int: ...


CacheSpec = TieredCache | Callable[..., TieredCache] | None
ErrorSpec = (
    bool | type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
)

#: How long past expiry a value may be served on error when ``max_stale`` is not given.
DEFAULT_MAX_STALE_SECONDS = 86_400.0

logger = logging.getLogger(LOGGER_NAME)


class _Core:
    """Everything one decorated function needs, fixed at decoration time."""

    def __init__(
        self,
        func: Callable[..., Any],
        key: str | Callable[..., Any] | None,
        memory_ttl: TTLArg,
        disk_ttl: TTLArg,
        cache: CacheSpec,
        serve_stale_on_error: ErrorSpec,
        max_stale: TTLArg,
        refresh_ahead: float | None = None,
    ) -> None:
        raw = func.__func__ if isinstance(func, (classmethod, staticmethod)) else func
        if not callable(raw):
            raise TypeError(
                f"discovery_cached must decorate a function, not {type(func).__name__}; "
                "did you write @discovery_cached without parentheses?"
            )
        self.func: Callable[..., Any] = raw
        self.owner = derived_key_prefix(raw)
        self.signature = signature_source(raw)
        self.key_source, self.key_namespace = key_expression(key, raw, self.signature)
        self.key = cast(
            "Callable[..., str]",
            self.signature.define(
                "cache_key", f"    return {self.key_source}", dict(self.key_namespace)
            ),
        )
        self.memory_ttl = (
            None if memory_ttl is None else ttl_seconds(memory_ttl, "memory_ttl", default=0)
        )
        self.disk_ttl = None if disk_ttl is None else ttl_seconds(disk_ttl, "disk_ttl", default=0)
        if cache is not None and not isinstance(cache, TieredCache) and not callable(cache):
            raise TypeError(
                "cache must be a TieredCache, a callable returning one, or None, "
                f"not {type(cache).__name__}"
            )
        self.cache = cache if isinstance(cache, TieredCache) else None
        self.cache_provider = None if isinstance(cache, TieredCache) else cache
        self.stale_on = _stale_predicate(serve_stale_on_error)
        if max_stale is not None and self.stale_on is None:
            raise ValueError("max_stale only applies with serve_stale_on_error")
        self.max_stale = (
            ttl_seconds(max_stale, "max_stale", default=DEFAULT_MAX_STALE_SECONDS)
            if self.stale_on is not None
            else 0.0
        )
        self.refresh_ahead = _refresh_fraction(refresh_ahead)
        self.refresh_lock = threading.Lock()
        self.refreshing: set[tuple[int, str]] = set()  # (id(cache), key) being refreshed
        self.tasks: set[Any] = set()  # strong references to running async refreshes
        self.stats = Counters()
        self.warned_key_failure = False
        self.is_async = inspect.iscoroutinefunction(raw)

    # -- resolution ----------------------------------------------------------
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
                    f"the cache of {self.owner} is chosen per instance (cache= is a callable "
                    "of the instance): call it, or its cache_clear(), through an instance"
                ) from exc
        if not isinstance(cache, TieredCache):
            raise TypeError(
                f"cache provider of {self.owner} returned {type(cache).__name__}, not a TieredCache"
            )
        return cache

    def ttls(self, cache: TieredCache) -> tuple[float, float]:
        memory = cache.memory_ttl_seconds if self.memory_ttl is None else self.memory_ttl
        disk = cache.disk_ttl_seconds if self.disk_ttl is None else self.disk_ttl
        return memory, disk

    def build_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        """The key, or ``None`` when it can't be built (then the call bypasses the cache)."""
        try:
            return self.key(*args, **kwargs)
        except (UnstableKeyError, AttributeError) as exc:
            if not self.warned_key_failure:
                self.warned_key_failure = True
                logger.warning(
                    "dbp cache: %s is called without caching: cannot build its key (%s)",
                    self.owner,
                    exc,
                )
            return None

    # -- the shared steps of a miss ------------------------------------------
    def memory_hit(
        self, cache: TieredCache, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """A fresh memory value (counted; may start a refresh-ahead), or ``MISS``."""
        slot = cache._memory_data.get(key)
        if slot is None:
            return MISS
        now = cache._monotonic()
        if slot[1] <= now:
            return MISS
        next(self.stats.memory_hits)
        cache.memory.touch(key)
        if slot[4] <= now:
            self.refresh_soon(cache, key, args, kwargs)
        return slot[0]

    def found(
        self,
        cache: TieredCache,
        key: str,
        memory_ttl: float,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """A fresh value from either tier (counted; may start a refresh-ahead), or ``MISS``."""
        found = cache.lookup(key, memory_ttl, self.refresh_ahead)
        if found is MISS:
            return MISS
        value, tier, refresh_due = found
        next(self.stats.memory_hits if tier == "memory" else self.stats.disk_hits)
        if refresh_due:
            self.refresh_soon(cache, key, args, kwargs)
        return value

    def stale_or_raise(self, cache: TieredCache, key: str, error: BaseException) -> Any:
        """After the call raised: an expired value within ``max_stale``, else re-raise."""
        if self.stale_on is None or not self.stale_on(error):
            raise error
        entry = cache.lookup_stale(key, self.max_stale)
        if entry is MISS:
            raise error
        next(self.stats.stale_hits)
        cache.logger.warning(
            "dbp cache: %s failed (%s: %s); serving the value for %r that expired %.0fs ago",
            self.owner,
            type(error).__name__,
            error,
            key,
            max(0.0, cache.clock.time() - entry.expires),
        )
        return entry.value

    def save(
        self, cache: TieredCache, key: str, value: Any, memory_ttl: float, disk_ttl: float
    ) -> None:
        """Store a fresh result; a value that can't be stored is returned uncached."""
        try:
            cache.store(
                key,
                value,
                memory_ttl=memory_ttl,
                disk_ttl=disk_ttl,
                owner=self.owner,
                max_stale=self.max_stale,
                refresh_ahead=self.refresh_ahead,
            )
        except (TypeError, ValueError) as exc:
            cache.logger.warning("dbp cache: result of %s not cached: %s", self.owner, exc)

    # -- synchronous miss path -----------------------------------------------
    def call(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Full (not hot-path) call: ``args`` are the function's own arguments."""
        key = self.build_key(args, kwargs)
        if key is None:
            return self.func(*args, **kwargs)
        cache = self.cache or self.resolve_cache(instance)
        value = self.memory_hit(cache, key, args, kwargs)
        if value is not MISS:
            return value
        return self.miss(cache, key, args, kwargs)

    def miss(
        self, cache: TieredCache, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        flight, leader = cache.flights.join(key)
        if not leader:
            try:
                shared = flight.result()
            except Exception as exc:  # the leader (perhaps a refresh-ahead) failed
                return self.stale_or_raise(cache, key, exc)
            next(self.stats.shared_hits)
            return shared
        value: Any = None
        error: BaseException | None = None
        try:
            value = self.fill(cache, key, args, kwargs)
            return value
        except BaseException as exc:
            error = exc
            raise
        finally:
            cache.flights.finish(key, flight, value, error)

    def fill(
        self, cache: TieredCache, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        memory_ttl, disk_ttl = self.ttls(cache)
        value = self.found(cache, key, memory_ttl, args, kwargs)
        if value is not MISS:
            return value
        if disk_ttl <= 0:
            return self.compute(cache, key, args, kwargs, memory_ttl, disk_ttl)
        with cache.process_lock(key):
            # another process may have filled it meanwhile
            value = self.found(cache, key, memory_ttl, args, kwargs)
            if value is not MISS:
                return value
            return self.compute(cache, key, args, kwargs, memory_ttl, disk_ttl)

    def compute(
        self,
        cache: TieredCache,
        key: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        memory_ttl: float,
        disk_ttl: float,
    ) -> Any:
        try:
            return self.call_and_save(cache, key, args, kwargs, memory_ttl, disk_ttl)
        except Exception as exc:
            return self.stale_or_raise(cache, key, exc)

    def call_and_save(
        self,
        cache: TieredCache,
        key: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        memory_ttl: float,
        disk_ttl: float,
    ) -> Any:
        next(self.stats.misses)
        value = self.func(*args, **kwargs)
        self.save(cache, key, value, memory_ttl, disk_ttl)
        return value

    # -- asynchronous path ---------------------------------------------------
    async def acall(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import asyncio

        key = self.build_key(args, kwargs)
        if key is None:
            return await self.func(*args, **kwargs)
        cache = self.cache or self.resolve_cache(instance)
        value = self.memory_hit(cache, key, args, kwargs)
        if value is not MISS:
            return value
        while True:
            future, leader = cache.async_flights.join(key)
            if leader:
                break
            try:
                value = await asyncio.shield(future)
            except asyncio.CancelledError:
                if future.cancelled():  # the leader was cancelled: take over
                    continue
                raise
            except Exception as exc:  # the leader (perhaps a refresh-ahead) failed
                return self.stale_or_raise(cache, key, exc)
            next(self.stats.shared_hits)
            return value
        value = None
        error: BaseException | None = None
        try:
            value = await self.afill(cache, key, args, kwargs)
            return value
        except BaseException as exc:
            error = exc
            raise
        finally:
            cache.async_flights.finish(key, future, value, error)

    async def afill(
        self, cache: TieredCache, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        memory_ttl, disk_ttl = self.ttls(cache)
        value = self.found(cache, key, memory_ttl, args, kwargs)
        if value is not MISS:
            return value
        if disk_ttl <= 0:
            return await self.acompute(cache, key, args, kwargs, memory_ttl, disk_ttl)
        async with cache.process_lock_async(key):
            value = self.found(cache, key, memory_ttl, args, kwargs)
            if value is not MISS:
                return value
            return await self.acompute(cache, key, args, kwargs, memory_ttl, disk_ttl)

    async def acompute(
        self,
        cache: TieredCache,
        key: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        memory_ttl: float,
        disk_ttl: float,
    ) -> Any:
        try:
            return await self.acall_and_save(cache, key, args, kwargs, memory_ttl, disk_ttl)
        except Exception as exc:
            return self.stale_or_raise(cache, key, exc)

    async def acall_and_save(
        self,
        cache: TieredCache,
        key: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        memory_ttl: float,
        disk_ttl: float,
    ) -> Any:
        next(self.stats.misses)
        value = await self.func(*args, **kwargs)
        self.save(cache, key, value, memory_ttl, disk_ttl)
        return value

    # -- refresh-ahead -------------------------------------------------------
    def refresh_soon(
        self, cache: TieredCache, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """Start one background refresh of ``key`` (a thread, or a task for coroutines)."""
        token = (id(cache), key)
        with self.refresh_lock:
            if token in self.refreshing:
                return
            self.refreshing.add(token)
        if self.is_async:
            import asyncio

            task = asyncio.get_running_loop().create_task(
                self.arefresh(cache, key, args, kwargs, token)
            )
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        threading.Thread(
            target=self.refresh,
            args=(cache, key, args, kwargs, token),
            name=f"dbp-refresh {key}",
            daemon=True,
        ).start()

    @contextmanager
    def refresh_flight(
        self, table: Any, cache: TieredCache, key: str, token: tuple[int, str]
    ) -> Iterator[list[Any] | None]:
        """Lead ``key``'s flight for a background refresh, whatever the flight table.

        Yields ``[value]`` to fill in, or ``None`` when a caller already computes the
        key. A failure is logged, not raised: the current value stays. Waiters get
        the outcome either way.
        """
        try:
            flight, leader = table.join(key)
            if not leader:
                yield None
                return
            outcome: list[Any] = [None]
            error: BaseException | None = None
            try:
                yield outcome
            except Exception as exc:
                error = exc
                self.refresh_failed(cache, key, exc)
            finally:
                table.finish(key, flight, outcome[0], error)
        finally:
            with self.refresh_lock:
                self.refreshing.discard(token)

    def refresh(
        self,
        cache: TieredCache,
        key: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        token: tuple[int, str],
    ) -> None:
        """Body of the refresh thread: recompute unless another process already did."""
        with self.refresh_flight(cache.flights, cache, key, token) as outcome:
            if outcome is None:
                return
            memory_ttl, disk_ttl = self.ttls(cache)
            if disk_ttl <= 0:
                outcome[0] = self.call_and_save(cache, key, args, kwargs, memory_ttl, disk_ttl)
                return
            with cache.process_lock(key):
                value = self.refreshed_elsewhere(cache, key, memory_ttl)
                if value is MISS:
                    value = self.call_and_save(cache, key, args, kwargs, memory_ttl, disk_ttl)
                outcome[0] = value

    async def arefresh(
        self,
        cache: TieredCache,
        key: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        token: tuple[int, str],
    ) -> None:
        """:meth:`refresh` for coroutine functions, run as a task."""
        with self.refresh_flight(cache.async_flights, cache, key, token) as outcome:
            if outcome is None:
                return
            memory_ttl, disk_ttl = self.ttls(cache)
            if disk_ttl <= 0:
                outcome[0] = await self.acall_and_save(
                    cache, key, args, kwargs, memory_ttl, disk_ttl
                )
                return
            async with cache.process_lock_async(key):
                value = self.refreshed_elsewhere(cache, key, memory_ttl)
                if value is MISS:
                    value = await self.acall_and_save(
                        cache, key, args, kwargs, memory_ttl, disk_ttl
                    )
                outcome[0] = value

    def refreshed_elsewhere(self, cache: TieredCache, key: str, memory_ttl: float) -> Any:
        """The disk value if another process already refreshed it (then promoted), or MISS."""
        entry = cache.disk.get(key)
        if entry is MISS:
            return MISS
        if refresh_start(entry.created, entry.expires, self.refresh_ahead) <= cache.clock.time():
            return MISS  # still the old value: due for refresh
        cache.promote(key, entry, memory_ttl, self.refresh_ahead)
        return entry.value

    def refresh_failed(self, cache: TieredCache, key: str, error: Exception) -> None:
        cache.logger.warning(
            "dbp cache: refresh-ahead of %r for %s failed (%s: %s); the current value stays "
            "until it expires",
            key,
            self.owner,
            type(error).__name__,
            error,
        )

    # -- management ----------------------------------------------------------
    def clear(self, instance: Any) -> int:
        removed = self.resolve_cache(instance).clear_owner(self.owner)
        self.stats.reset()
        return removed

    def invalidate(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
        return self.resolve_cache(instance).invalidate(self.key(*args, **kwargs))


def _refresh_fraction(value: object) -> float:
    """``refresh_ahead``: ``None`` or 0 (off), or a fraction of the lifetime below 1."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"refresh_ahead must be a fraction such as 0.1, or None, not {type(value).__name__}"
        )
    if not 0 <= value < 1:
        raise ValueError(f"refresh_ahead must be >= 0 and < 1 (0 turns it off), got {value!r}")
    return float(value)


def _stale_predicate(spec: ErrorSpec) -> Callable[[BaseException], bool] | None:
    """Turn ``serve_stale_on_error`` into "may this error be answered with a stale value?"."""
    if spec is False or spec is None:
        return None
    if spec is True:
        return lambda error: isinstance(error, Exception)
    if isinstance(spec, type) and issubclass(spec, BaseException):
        return lambda error: isinstance(error, spec)
    if (
        isinstance(spec, tuple)
        and spec
        and all(isinstance(e, type) and issubclass(e, BaseException) for e in spec)
    ):
        return lambda error: isinstance(error, spec)
    if callable(spec) and not isinstance(spec, type):
        return spec
    raise TypeError(
        "serve_stale_on_error must be True, False, an exception class, a tuple of them "
        f"or a predicate taking the exception, not {spec!r}"
    )


def _full_args(instance: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return args if instance is None else (instance, *args)


class _BoundCachedFunction(_BoundFunctionWrapper):
    """A cached method bound to an instance (or a classmethod bound to its class)."""

    def _bound_instance(self) -> Any:
        """What the function receives first: the instance, the class, or nothing."""
        if self._self_binding == "classmethod":
            return getattr(self.__wrapped__, "__self__", None)
        if self._self_binding == "staticmethod":
            return None
        return self._self_instance

    @property
    def _core(self) -> _Core:
        core: _Core = self._self_parent._self_core
        return core

    def cache_info(self) -> CacheInfo:
        """Hit and miss counts of this function (shared by all instances)."""
        return self._core.stats.snapshot()

    def cache_clear(self) -> int:
        """Remove every entry this function stored, in both tiers; reset the counts."""
        return self._core.clear(self._bound_instance())

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key a call with these arguments uses."""
        instance = self._bound_instance()
        return self._core.key(*_full_args(instance, args), **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> int:
        """Drop the entry a call with these arguments would use."""
        instance = self._bound_instance()
        return self._core.invalidate(instance, _full_args(instance, args), kwargs)


class CachedFunction(_FunctionWrapper):
    """What ``@discovery_cached`` returns: the function plus ``cache_*`` methods."""

    __bound_function_wrapper__ = _BoundCachedFunction

    def __init__(self, wrapped: Callable[..., Any], core: _Core) -> None:
        # The bound path (methods, classmethods, staticmethods): wrapt has
        # already split off the instance; the key and the call want it back.
        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            full = _full_args(instance, args)
            if core.is_async:
                return core.acall(instance, full, kwargs)  # a coroutine, awaited by the caller
            return core.call(instance, full, kwargs)

        super().__init__(wrapped, wrapper)
        self._self_core = core

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Replaced per function by ``_fast_call``; this generic path serves async
        # functions and anything called on the base class directly.
        core: _Core = self._self_core
        if core.is_async:
            return core.acall(None, args, kwargs)
        return core.call(None, args, kwargs)

    def cache_info(self) -> CacheInfo:
        """Hit and miss counts since decoration or the last ``cache_clear()``."""
        return self._self_core.stats.snapshot()

    def cache_clear(self) -> int:
        """Remove every entry this function stored, in both tiers, by any process; reset counts."""
        return self._self_core.clear(None)

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key a call with these arguments uses."""
        return self._self_core.key(*args, **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> int:
        """Drop the entry a call with these arguments would use."""
        return self._self_core.invalidate(None, args, kwargs)


_HIT_PATH = """\
    try:
        __dbp_key = {key}
    except __dbp_key_errors:
        return __dbp_core.call(None, {args}, {kwargs})
    {resolve}
    __dbp_slot = {data}.get(__dbp_key)
    if __dbp_slot is not None and __dbp_slot[1] > (__dbp_now := {monotonic}()):
        __dbp_next(__dbp_stats.memory_hits)
        try:
            {data}.move_to_end(__dbp_key)
        except KeyError:
            pass{refresh}
        return __dbp_slot[0]
    return __dbp_core.miss(__dbp_cache, __dbp_key, {args}, {kwargs})
"""


def _fast_call(core: _Core) -> Callable[..., Any]:
    """Generate the unbound ``__call__`` of one decorated sync function.

    It has the function's own parameter list (so Python binds the arguments, in
    C, and reports a bad call in the function's name) and the key expression
    inlined; with a fixed cache even the memory dict and the clock are constants.
    What remains per hit: the key, one dict lookup, one clock read, the LRU touch
    and a counter.
    """
    namespace: dict[str, Any] = dict(core.key_namespace)
    namespace.update(
        __dbp_core=core,
        __dbp_stats=core.stats,
        __dbp_next=next,
        __dbp_key_errors=(UnstableKeyError, AttributeError),
    )
    if core.cache is not None:
        namespace.update(
            __dbp_cache=core.cache,
            __dbp_data=core.cache._memory_data,
            __dbp_clock=core.cache._monotonic,
        )
        resolve, data, monotonic = "pass", "__dbp_data", "__dbp_clock"
    else:
        namespace["__dbp_resolve"] = core.resolve_cache
        resolve = "__dbp_cache = __dbp_resolve(None)"
        data, monotonic = "__dbp_cache._memory_data", "__dbp_cache._monotonic"
    sig = core.signature
    refresh = ""
    if core.refresh_ahead:  # only functions that asked for it pay for the check
        start = f"__dbp_core.refresh_soon(__dbp_cache, __dbp_key, {sig.args}, {sig.kwargs})"
        refresh = f"\n        if __dbp_slot[4] <= __dbp_now:\n            {start}"
    body = _HIT_PATH.format(
        refresh=refresh,
        key=core.key_source,
        args=sig.args,
        kwargs=sig.kwargs,
        resolve=resolve,
        data=data,
        monotonic=monotonic,
    )
    call = sig.define("__call__", body, namespace)
    call.__qualname__ = getattr(core.func, "__qualname__", "__call__")  # errors read "f() ..."
    return call


def discovery_cached(
    key: str | Callable[..., str] | None = None,
    *,
    memory_ttl: TTLArg = None,
    disk_ttl: TTLArg = None,
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
        memory_ttl / disk_ttl: seconds or ``timedelta``; ``None`` = the cache's
            defaults, ``0`` = skip that tier for this function.
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

    The wrapper has ``cache_info()``, ``cache_clear()``, ``cache_key(...)`` and
    ``invalidate(...)``.
    """

    def decorate(func: Callable[P, R]) -> CachedCallable[P, R]:
        core = _Core(
            func, key, memory_ttl, disk_ttl, cache, serve_stale_on_error, max_stale, refresh_ahead
        )
        cls: type[CachedFunction] = CachedFunction
        if not core.is_async:
            fast = {"__call__": _fast_call(core)}
            cls = cast("type[CachedFunction]", type("CachedFunction", (CachedFunction,), fast))
        return cast("CachedCallable[P, R]", cls(func, core))

    return decorate
