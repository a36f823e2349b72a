"""Async hits: an ``async def`` decorated function or method, against the async caches a
user would pick (``async_lru.alru_cache(ttl=...)``, aiocache's ``@cached`` and cashews'
``@cache`` on their memory backends), and an async disk hit against the same sync one.

Every contender is awaited in a compiled loop inside one coroutine (``timing.
make_async_loop``) on one event loop; contenders alternate rounds as everywhere else.
Same key semantics: the function is keyed by its ``region`` argument everywhere, the
method by the instance's region (ours ``key="models:<self.region>"``; async-lru keys a
method by its instance, which here stands for the same region).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from common import Config, Row, compare
from harness import REGION, Details, check, check_payload, measure
from payloads import list_foundation_models_response
from timing import make_async_loop

__all__ = ["async_hit"]

#: ``alru_cache`` is the target's peer: ours <= 1.0x (aim 0.8x), function and method.
ALRU_LIMIT = 1.0
#: An async disk hit may cost this much more than the same sync disk hit.
DISK_LIMIT = 1.10


def _contenders(folder: str, payload: Any, calls: dict[str, int]) -> dict[str, Any]:
    """name -> (awaitable factory, argument): every cached async function of the group."""
    from aiocache import cached as aiocache_cached
    from async_lru import alru_cache
    from cashews import Cache

    from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

    memory = DiscoveryCache(base_dir=os.path.join(folder, "memory"))
    cold = DiscoveryCache(base_dir=os.path.join(folder, "disk"), max_memory_entries=0)
    cashews = Cache()
    cashews.setup("mem://")

    def counted(name: str) -> Any:
        async def list_models(region: str) -> Any:
            calls[name] = calls.get(name, 0) + 1
            return payload

        return list_models

    def counted_sync(name: str) -> Any:
        def list_models(region: str) -> Any:
            calls[name] = calls.get(name, 0) + 1
            return payload

        return list_models

    class Discovery:
        region = REGION

        @discovery_cached(key="models:<self.region>", cache=memory)
        async def ours(self) -> Any:
            calls["ours_method"] = calls.get("ours_method", 0) + 1
            return payload

        @alru_cache(maxsize=1024, ttl=3600)
        async def alru(self) -> Any:
            calls["alru_method"] = calls.get("alru_method", 0) + 1
            return payload

    key, ttls = "bedrock_models:<region>", {"memory_ttl": 3600, "disk_ttl": 86400}
    d = Discovery()
    return {
        "ours": discovery_cached(key=key, cache=memory, **ttls)(counted("ours")),
        "alru": alru_cache(maxsize=1024, ttl=3600)(counted("alru")),
        "aiocache": aiocache_cached(ttl=3600)(counted("aiocache")),
        "cashews": cashews(ttl="1h")(counted("cashews")),
        "plain": counted("plain"),
        "ours_method": lambda region: d.ours(),
        "alru_method": lambda region: d.alru(),
        "ours_disk": discovery_cached(key=key, cache=cold, **ttls)(counted("ours_disk")),
        "sync_ours": discovery_cached(key="sync_" + key, cache=memory, **ttls)(
            counted_sync("sync_ours")
        ),
        "sync_disk": discovery_cached(key="sync_" + key, cache=cold, **ttls)(
            counted_sync("sync_disk")
        ),
    }


def async_hit(config: Config, folder: str) -> tuple[list[Row], Details]:
    from timing import make_loop

    payload = list_foundation_models_response(100)
    calls: dict[str, int] = {}
    funcs = _contenders(folder, payload, calls)
    runner = asyncio.new_event_loop()
    try:
        loops = {}
        for name, func in funcs.items():
            if name.startswith("sync_"):
                for _ in range(3):
                    check_payload(func(REGION), payload, name)
                loops[name] = make_loop("f(r)", {"f": func, "r": REGION})
                continue
            for _ in range(3):
                check_payload(runner.run_until_complete(func(REGION)), payload, name)
            loops[name] = make_async_loop("f(r)", {"f": func, "r": REGION}, runner)
        for name in funcs:
            expected = 3 if name == "plain" else 1
            check(calls.get(name) == expected, f"{name} ran {calls.get(name)} times")
        med, numbers = measure(config, loops)
    finally:
        runner.close()
    for name in ("ours_disk", "sync_disk"):
        check(calls[name] == 1, f"{name}: a timed disk hit called the function")
    return _rows(med), {"median_ns": med, "batch_sizes": numbers}


def _rows(med: dict[str, Any]) -> list[Row]:
    target = f"<= {ALRU_LIMIT:g} (aim 0.8)"
    return [
        compare(
            "async_hit.function.vs_alru",
            "async memory hit (function): vs async_lru.alru_cache(ttl=...)",
            med["ours"], "alru_cache", med["alru"], limit=ALRU_LIMIT, target=target,
        ),
        compare(
            "async_hit.method.vs_alru",
            'async memory hit (method, key="models:<self.region>"): vs alru_cache',
            med["ours_method"], "alru_cache (method)", med["alru_method"],
            limit=ALRU_LIMIT, target=target,
        ),
        compare(
            "async_hit.function.vs_aiocache",
            "async memory hit (function): vs aiocache @cached (memory)",
            med["ours"], "aiocache @cached", med["aiocache"],
        ),
        compare(
            "async_hit.function.vs_cashews",
            'async memory hit (function): vs cashews @cache ("mem://")',
            med["ours"], "cashews @cache", med["cashews"],
        ),
        compare(
            "async_hit.function.vs_sync_hit",
            "where the time goes: async memory hit vs the same sync hit",
            med["ours"], "sync memory hit", med["sync_ours"],
        ),
        compare(
            "async_hit.function.vs_plain",
            "where the time goes: async memory hit vs awaiting the plain async function",
            med["ours"], "plain async call", med["plain"],
        ),
        compare(
            "async_hit.disk.vs_sync_disk",
            "async disk hit (memory cold, 100 models) vs the same sync disk hit",
            med["ours_disk"], "sync disk hit", med["sync_disk"],
            limit=DISK_LIMIT, target=f"<= {DISK_LIMIT:g}",
        ),
    ]  # fmt: skip
