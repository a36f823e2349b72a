"""In-process hits: a decorated memory hit on one thread, and threads contending.

``memory_hit`` times a warm decorated call against the in-process caches a user would
pick (``lru_cache``, ``cachetools``, ``dogpile.cache``'s memory region) and where its time
goes; ``concurrency`` hammers one warm key from 8 threads and releases 32 threads on a cold
key of a slow function (how many underlying calls each cache lets through).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from common import Config, Row, compare
from harness import REGION, Details, Source, check, check_payload, loop_overhead, measure, medians
from payloads import list_foundation_models_response
from timing import gc_off, make_loop

__all__ = ["concurrency", "memory_hit"]


# -- decorated hit from memory ------------------------------------------------------
def memory_hit(config: Config, folder: str) -> tuple[list[Row], Details]:
    import cachetools
    import diskcache
    import wrapt
    from dogpile.cache import make_region

    from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

    payload = list_foundation_models_response(100)
    sources: dict[str, Source] = {}

    def source(name: str) -> Callable[[str], Any]:
        sources[name] = Source(payload)
        return sources[name].function()

    def list_models(region: str) -> Any:  # the uncached baseline: no counting, no lock
        return payload

    def passthrough(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return wrapped(*args, **kwargs)

    ours_cache = DiscoveryCache(base_dir=os.path.join(folder, "ours"))
    dc = diskcache.Cache(os.path.join(folder, "diskcache"))
    region = make_region().configure("dogpile.cache.memory", expiration_time=3600)
    ttl_cache = cachetools.TTLCache(maxsize=1024, ttl=3600)
    funcs: dict[str, Callable[[str], Any]] = {
        "ours": discovery_cached(
            key="bedrock_models:<region>", cache=ours_cache, memory_ttl=3600, disk_ttl=86400
        )(source("ours")),
        "ours_derived_key": discovery_cached(cache=ours_cache, memory_ttl=3600, disk_ttl=86400)(
            source("ours_derived_key")
        ),
        "plain": list_models,
        "wrapt": wrapt.FunctionWrapper(list_models, passthrough),
        "lru_cache": functools.lru_cache(maxsize=1024)(source("lru_cache")),
        "cachetools": cachetools.cached(cachetools.TTLCache(maxsize=1024, ttl=3600))(
            source("cachetools")
        ),
        "cachetools_locked": cachetools.cached(
            cachetools.TTLCache(maxsize=1024, ttl=3600), lock=threading.Lock()
        )(source("cachetools_locked")),
        "dogpile": region.cache_on_arguments()(source("dogpile")),
        "diskcache_memoize": dc.memoize(expire=3600)(source("diskcache_memoize")),
    }
    for name, func in funcs.items():
        for _ in range(3):
            check(func(REGION) is payload or name == "diskcache_memoize", f"{name} value")
        check_payload(func(REGION), payload, name)
        if name in sources:
            check(sources[name].calls == 1, f"{name} ran {sources[name].calls} times")
    # The imperative API, memory tier: DiscoveryCache.get vs TTLCache.get.
    ours_cache.set("imperative", payload)
    ttl_cache["imperative"] = payload
    check(ours_cache.get("imperative") is payload, "DiscoveryCache.get memory hit")

    loops = {name: make_loop("f(a)", {"f": func, "a": REGION}) for name, func in funcs.items()}
    loops["ours_keyword"] = make_loop("f(region=a)", {"f": funcs["ours"], "a": REGION})
    loops["ours_get"] = make_loop("g(k)", {"g": ours_cache.get, "k": "imperative"})
    loops["ttlcache_get"] = make_loop("g(k)", {"g": ttl_cache.get, "k": "imperative"})
    overhead = loop_overhead(config)
    hits_before = funcs["ours"].cache_info().memory_hits  # type: ignore[attr-defined]
    med, numbers = measure(config, loops, overhead)
    info = funcs["ours"].cache_info()  # type: ignore[attr-defined]
    check(info.misses == 1 and info.memory_hits > hits_before, "ours hits were not memory hits")
    cached_calls = {n: s.calls for n, s in sources.items()}
    check(all(c == 1 for c in cached_calls.values()), f"cached functions ran: {cached_calls}")

    ours = med["ours"]
    label = "decorated memory hit"
    rows = [
        compare(
            "memory_hit.vs_cachetools",
            f"{label}: vs cachetools.cached(TTLCache)",
            ours,
            "cachetools.cached(TTLCache)",
            med["cachetools"],
            limit=0.6,
            target="<= 0.6",
        ),
        compare(
            "memory_hit.vs_lru_cache",
            f"{label}: vs functools.lru_cache",
            ours,
            "functools.lru_cache",
            med["lru_cache"],
        ),
        compare(
            "memory_hit.vs_cachetools_locked",
            f"{label}: vs cachetools.cached(TTLCache, lock=Lock())",
            ours,
            "cachetools + lock",
            med["cachetools_locked"],
            notes="the thread-safe cachetools setup",
        ),
        compare(
            "memory_hit.vs_dogpile",
            f"{label}: vs dogpile.cache memory region",
            ours,
            "dogpile.cache memory",
            med["dogpile"],
        ),
        compare(
            "memory_hit.vs_diskcache_memoize",
            f"{label}: vs diskcache.Cache.memoize",
            ours,
            "diskcache memoize",
            med["diskcache_memoize"],
            notes="diskcache has no memory tier: every hit reads SQLite and unpickles",
        ),
        compare(
            "memory_hit.vs_plain_call",
            "where the time goes: vs a plain call (no cache)",
            ours,
            "plain call",
            med["plain"],
        ),
        compare(
            "memory_hit.vs_wrapt_passthrough",
            "where the time goes: vs wrapt.FunctionWrapper pass-through",
            ours,
            "wrapt pass-through",
            med["wrapt"],
        ),
        compare(
            "memory_hit.keyword_call",
            "decorated memory hit called as f(region=...) vs cachetools",
            med["ours_keyword"],
            "cachetools.cached(TTLCache)",
            med["cachetools"],
        ),
        compare(
            "memory_hit.derived_key",
            "decorated memory hit, derived key (no key=) vs cachetools",
            med["ours_derived_key"],
            "cachetools.cached(TTLCache)",
            med["cachetools"],
        ),
        compare(
            "memory_hit.imperative_get",
            "DiscoveryCache.get, memory tier vs TTLCache.get",
            med["ours_get"],
            "cachetools TTLCache.get",
            med["ttlcache_get"],
        ),
    ]
    dc.close()
    return rows, {
        "median_ns": med,
        "batch_sizes": numbers,
        "loop_overhead_ns": overhead,
        "payload_models": 100,
    }


# -- concurrency ----------------------------------------------------------------------
def _hammer(func: Callable[[str], Any], threads: int, per_thread: int, payload: Any) -> float:
    """Wall ns per hit while ``threads`` threads call ``func`` ``per_thread`` times each."""
    loop = make_loop("f(a)", {"f": func, "a": REGION}, manage_gc=False)
    barrier = threading.Barrier(threads + 1)
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        loop(per_thread)
        results.append(func(REGION))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    with gc_off():
        barrier.wait()
        t0 = time.perf_counter_ns()
        for t in pool:
            t.join()
        elapsed = time.perf_counter_ns() - t0
    check(len(results) == threads and all(r is payload for r in results), "hammer results")
    return elapsed / (threads * per_thread)


def _stampede(func: Callable[[str], Any], key: str, threads: int) -> tuple[float, int]:
    """Release ``threads`` threads on a cold key: (ns until all have a value, error count)."""
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            func(key)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter_ns()
    for t in pool:
        t.join()
    return float(time.perf_counter_ns() - t0), len(errors)


def concurrency(config: Config, folder: str) -> tuple[list[Row], Details]:
    import cachetools
    import diskcache
    from dogpile.cache import make_region

    from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

    payload = list_foundation_models_response(100)

    def build(name: str, source: Source, sub: str) -> Callable[[str], Any]:
        func = source.function()
        if name == "ours":
            cache = DiscoveryCache(base_dir=os.path.join(folder, f"ours-{sub}"))
            return discovery_cached(key="bedrock_models:<region>", cache=cache)(func)
        if name == "lru_cache":
            return functools.lru_cache(maxsize=1024)(func)
        if name == "cachetools":
            return cachetools.cached(cachetools.TTLCache(1024, 3600))(func)
        if name == "cachetools_locked":
            return cachetools.cached(cachetools.TTLCache(1024, 3600), lock=threading.Lock())(func)
        if name == "cachetools_condition":
            cond = threading.Condition()
            return cachetools.cached(cachetools.TTLCache(1024, 3600), condition=cond)(func)
        if name == "dogpile":
            region = make_region().configure("dogpile.cache.memory", expiration_time=3600)
            return region.cache_on_arguments()(func)
        if name == "diskcache_memoize":
            return diskcache.Cache(os.path.join(folder, f"dc-{sub}")).memoize(expire=3600)(func)
        raise ValueError(name)

    # 8 threads hammering one warm key.
    threads = 8
    per_thread = max(5, config.iterations // 8)
    hammer_names = ("ours", "cachetools_locked", "cachetools_condition", "lru_cache", "dogpile")
    hammer_funcs = {}
    for name in hammer_names:
        func = build(name, Source(payload), "hammer")
        func(REGION)
        hammer_funcs[name] = func
    rounds = max(3, config.repeats // 2)
    samples: dict[str, list[float]] = {name: [] for name in hammer_names}
    for r in range(rounds):
        order = hammer_names[r % len(hammer_names) :] + hammer_names[: r % len(hammer_names)]
        for name in order:
            samples[name].append(_hammer(hammer_funcs[name], threads, per_thread, payload))
    hammer = medians(samples)

    # 32 threads stampeding a cold key of a function that takes 50 ms.
    stampede_threads, delay = 32, 0.05
    stampede_names = (
        "ours",
        "lru_cache",
        "cachetools_locked",
        "cachetools_condition",
        "dogpile",
        "diskcache_memoize",
    )
    stampede_rounds = 1 if config.quick else min(3, config.repeats)
    calls: dict[str, list[int]] = {name: [] for name in stampede_names}
    walls: dict[str, list[float]] = {name: [] for name in stampede_names}
    errors: dict[str, int] = dict.fromkeys(stampede_names, 0)
    for r in range(stampede_rounds):
        for name in stampede_names:
            source = Source(payload, delay=delay)
            func = build(name, source, f"stampede-{r}")
            wall, failed = _stampede(func, f"cold-{r}", stampede_threads)
            calls[name].append(source.calls)
            walls[name].append(wall)
            errors[name] += failed
    check(not any(errors.values()), f"stampede errors: {errors}")
    worst = {name: max(values) for name, values in calls.items()}
    wall = medians(walls)

    rows = [
        compare(
            f"concurrency.hits_8_threads.vs_{peer}",
            f"8 threads hammering one warm key: vs {label}",
            hammer["ours"],
            label,
            hammer[peer],
            notes="wall time / total hits",
        )
        for peer, label in (
            ("cachetools_locked", "cachetools + lock"),
            ("cachetools_condition", "cachetools + condition"),
            ("lru_cache", "functools.lru_cache"),
            ("dogpile", "dogpile.cache memory"),
        )
    ]
    ours_ok = worst["ours"] == 1
    for peer, label in (
        ("lru_cache", "functools.lru_cache"),
        ("cachetools_locked", "cachetools + lock"),
        ("cachetools_condition", "cachetools + condition"),
        ("dogpile", "dogpile.cache memory"),
        ("diskcache_memoize", "diskcache memoize"),
    ):
        rows.append(
            Row(
                name=f"concurrency.stampede_32.vs_{peer}",
                group="concurrency",
                label=f"cold stampede, 32 threads, 50 ms call: underlying calls vs {label}",
                ours=float(worst["ours"]),
                peer=label,
                peer_value=float(worst[peer]),
                ratio=round(worst["ours"] / max(worst[peer], 1), 3),
                target="ours: 1 call",
                status="PASS" if ours_ok else "MISS",
                unit="calls",
                ours_text=f"{worst['ours']} call(s), {wall['ours'] / 1e6:.0f} ms",
                peer_text=f"{worst[peer]} call(s), {wall[peer] / 1e6:.0f} ms",
                notes="ratio of underlying calls (worst round); ms = until all 32 have the value",
                extra={"ours_wall_ns": wall["ours"], "peer_wall_ns": wall[peer]},
            )
        )
    return rows, {
        "hammer_ns_per_hit": hammer,
        "hammer_threads": threads,
        "hammer_hits_per_thread": per_thread,
        "stampede_calls": calls,
        "stampede_wall_ns_median": wall,
        "stampede_rounds": stampede_rounds,
    }
