"""The generated hit path: a ``__call__`` per decorated function, sync or ``async def``.

[Intent]
A memory hit is the call users make most; it must cost less than
``cachetools.cached``. Generic code pays for binding ``*args``, building the key
through a helper and resolving the cache; generated code pays for none of it.

[Implementation details]
The generated function has the decorated function's own parameter list (so Python
binds the arguments, in C, and reports a bad call in the function's name) and
the key expression inlined. It reads the memory tier only through
:class:`~dbp.cache.stores.memory.HitView`: the slot dict, the clock, and the slot
positions, formatted into the source as constants. What remains per hit: the key,
one dict lookup, one clock read, the LRU touch and a counter. Everything else is
:meth:`~.core.Core.miss`. For an ``async def`` function the same body is an ``async def``
whose misses await :meth:`~.core.Core.amiss`: an async memory hit is the sync hit plus
creating and awaiting one coroutine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..stores.memory import HitView
from ..tiered import TieredCache
from .core import KEY_ERRORS, Core

__all__ = ["hit_path"]

_SOURCE = """\
    try:
        __dbp_key = {key}
    except __dbp_key_errors:
        return {wait}__dbp_core.{call}({instance}, {args}, {kwargs})
    {resolve}{memory}
    return {wait}__dbp_core.{miss}(__dbp_cache, __dbp_key, {args}, {kwargs})
"""

_MEMORY = """
    __dbp_slot = {slots}.get(__dbp_key)
    if __dbp_slot is not None and __dbp_slot[{fresh}] > (__dbp_now := {monotonic}()):
        __dbp_next(__dbp_stats.memory_hits)
        try:
            {slots}.move_to_end(__dbp_key)
        except KeyError:
            pass{refresh}
        return __dbp_slot[{value}]"""

_REFRESH = """
        if __dbp_slot[{refresh_from}] <= __dbp_now:
            __dbp_core.refresh_soon(__dbp_cache, __dbp_key, {args}, {kwargs})"""


def hit_path(core: Core, *, method: bool = False) -> Callable[..., Any]:
    """Generate the hit path of one decorated function (an ``async def`` one's is async).

    Without ``method``: the unbound ``__call__`` of its :class:`CachedFunction`.
    With ``method``: a plain function taking the method's own parameters, the
    instance first, which a :class:`~.wrapper.BoundHit` calls.
    With a fixed cache the memory dict and the clock are constants of the code;
    with a cache provider they are read from the resolved cache's view. A
    function whose ``memory_ttl`` is 0 skips the memory tier entirely.
    """
    namespace: dict[str, Any] = dict(core.key_namespace)
    namespace.update(
        __dbp_core=core, __dbp_stats=core.stats, __dbp_next=next, __dbp_key_errors=KEY_ERRORS
    )
    if core.cache is not None:
        view = core.cache.hit_view
        namespace.update(__dbp_cache=core.cache, __dbp_slots=view.slots, __dbp_clock=view.monotonic)
        resolve, slots, monotonic = "pass", "__dbp_slots", "__dbp_clock"
    sig = core.signature
    instance = sig.names[0] if method else "None"
    if core.cache is None:
        namespace["__dbp_resolve"] = core.resolve_cache
        resolve = f"__dbp_cache = __dbp_resolve({instance})"
        if method and core.cache_provider is not None:  # the provider inline, checked in C
            namespace.update(__dbp_provider=core.cache_provider, __dbp_cache_type=TieredCache)
            resolve = (
                f"__dbp_cache = __dbp_provider({instance})\n"
                "    if not isinstance(__dbp_cache, __dbp_cache_type):\n"
                f"        __dbp_cache = __dbp_resolve({instance})  # raises the clear error"
            )
        resolve += (
            "\n    __dbp_view = __dbp_cache.hit_view"
            "\n    __dbp_slots, __dbp_clock = __dbp_view.slots, __dbp_view.monotonic"
        )
        slots, monotonic = "__dbp_slots", "__dbp_clock"
    memory = ""
    if core.overrides.get("memory") != 0:
        refresh = ""
        if core.refresh_ahead:  # only functions that asked for it pay for the check
            refresh = _REFRESH.format(
                refresh_from=HitView.REFRESH_FROM, args=sig.args, kwargs=sig.kwargs
            )
        memory = _MEMORY.format(
            slots=slots,
            monotonic=monotonic,
            fresh=HitView.FRESH_UNTIL,
            value=HitView.VALUE,
            refresh=refresh,
        )
    wait, call, miss = ("await ", "acall", "amiss") if core.is_async else ("", "call", "miss")
    body = _SOURCE.format(
        wait=wait,
        call=call,
        miss=miss,
        key=core.key_source,
        args=sig.args,
        kwargs=sig.kwargs,
        resolve=resolve,
        memory=memory,
        instance=instance,
    )
    hit = sig.define("hit" if method else "__call__", body, namespace, is_async=core.is_async)
    hit.__qualname__ = getattr(core.func, "__qualname__", "__call__")  # errors read "f() ..."
    return hit
