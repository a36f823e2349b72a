"""Scale: the disk tier with 10 to 10,000 entries in its folder, and its maintenance.

``scale`` fills folders of ours and of ``diskcache`` with ``config.scale_sizes`` entries and
checks that get and set stay flat as the folder grows; ``_maintenance`` times cleanup,
``invalidate(key)``, a function's ``cache_clear()`` and ``invalidate()`` at the largest size.
"""

from __future__ import annotations

import os
import time
from typing import Any

from common import Config, Row, compare
from harness import KEY, Details, Source, check, check_payload, measure, medians
from payloads import list_foundation_models_response
from timing import Loop, interleave, make_loop, per_op_budget, time_once

__all__ = ["scale"]


def _populate(folder: str, sizes: tuple[int, ...], payload: Any) -> tuple[Any, ...]:
    """For each size, a folder of ours and one of diskcache holding ``size`` entries."""
    import diskcache

    from dbp.llm.bedrock.discovery import DiscoveryCache

    filler = list_foundation_models_response(5)
    writers: dict[int, DiscoveryCache] = {}
    readers: dict[int, DiscoveryCache] = {}
    dcs: dict[int, diskcache.Cache] = {}
    populate_s: dict[str, float] = {}
    for size in sizes:
        t0 = time.perf_counter()
        base = os.path.join(folder, f"ours-{size}")
        writer = DiscoveryCache(base_dir=base, durable=False, max_memory_entries=0)
        for i in range(size - 1):
            writer.set(f"filler:{i}", filler)
        writer.set(KEY, payload)
        writers[size] = writer
        readers[size] = DiscoveryCache(base_dir=base, max_memory_entries=0)
        check_payload(readers[size].get(KEY), payload, f"ours @{size}")
        t1 = time.perf_counter()
        dc = diskcache.Cache(os.path.join(folder, f"diskcache-{size}"))
        dc.create_tag_index()
        for i in range(size - 1):
            dc.set(f"filler:{i}", filler)
        dc.set(KEY, payload)
        dcs[size] = dc
        populate_s[f"ours_{size}"] = round(t1 - t0, 2)
        populate_s[f"diskcache_{size}"] = round(time.perf_counter() - t1, 2)
        check(len(os.listdir(writer.cache_dir)) >= size, f"ours @{size}: files missing")
        check(len(dc) == size, f"diskcache @{size}: {len(dc)} entries")

    return writers, readers, dcs, populate_s


def scale(config: Config, folder: str) -> tuple[list[Row], Details]:

    payload = list_foundation_models_response(5)
    sizes = config.scale_sizes
    small, large = sizes[0], sizes[-1]
    writers, readers, dcs, populate_s = _populate(folder, sizes, payload)

    # Each operation is timed across the sizes in its own interleaved rounds with one common
    # batch size (file-system writes are the noisiest figures: twice the rounds); diskcache
    # at the largest size is timed against ours at that size, separately.
    cap = max(3, config.iterations // 20)
    med: dict[str, float] = {}
    numbers: dict[str, int] = {}
    for op in ("get", "set"):
        loops: dict[str, Loop] = {}
        for size in sizes:
            if op == "get":
                loops[f"ours_get_{size}"] = make_loop("g(k)", {"g": readers[size].get, "k": KEY})
            else:
                loops[f"ours_set_{size}"] = make_loop(
                    "s(k, v)", {"s": writers[size].set, "k": KEY, "v": payload}
                )
        n = per_op_budget(loops[f"ours_{op}_{small}"], config.batch_ms * 1e6, cap)
        batch = dict.fromkeys(loops, n)
        med.update(medians(interleave(loops, batch, 2 * config.repeats)))
        numbers.update(batch)
    peer_loops = {
        "ours_get_large": make_loop("g(k)", {"g": readers[large].get, "k": KEY}),
        "dc_get_large": make_loop("g(k)", {"g": dcs[large].get, "k": KEY}),
        "ours_set_large": make_loop("s(k, v)", {"s": writers[large].set, "k": KEY, "v": payload}),
        "dc_set_large": make_loop("s(k, v)", {"s": dcs[large].set, "k": KEY, "v": payload}),
    }
    peer_med, peer_numbers = measure(config, peer_loops, cap=cap)
    med.update(peer_med)
    numbers.update(peer_numbers)
    for size in sizes:
        check(len(readers[size].memory) == 0, "scale: reader memory tier filled")

    rows: list[Row] = []
    for op in ("get", "set"):
        for size in sizes[1:]:
            rows.append(
                compare(
                    f"scale.{op}_{size}_vs_{small}",
                    f"disk {op} at {size:,} entries vs at {small:,} (per entry, flat?)",
                    med[f"ours_{op}_{size}"],
                    f"ours at {small:,} entries",
                    med[f"ours_{op}_{small}"],
                    limit=1.5,
                    notes="5-model value; set with durable=False to isolate the folder size"
                    if op == "set"
                    else "5-model value, memory tier off",
                )
            )
        rows.append(
            compare(
                f"scale.{op}_{large}.vs_diskcache",
                f"disk {op} at {large:,} entries vs diskcache at {large:,}",
                med[f"ours_{op}_large"],
                f"diskcache.Cache.{op}",
                med[f"dc_{op}_large"],
                notes="set: ours durable=False" if op == "set" else "",
            )
        )

    maintenance_rows, maintenance = _maintenance(
        config, writers[large], dcs[large], payload, large, writers[small], small
    )
    rows += maintenance_rows
    for size in sizes:
        dcs[size].close()
    return rows, {
        "median_ns": med,
        "batch_sizes": numbers,
        "populate_seconds": populate_s,
        **maintenance,
    }


def _cleanup_before_the_index(disk: Any) -> int:
    """``DiskStore.cleanup`` as it was before the owner index: the per-entry peer.

    It judges files as cleanup does now (bodies of small files checked too), so the
    ratio shows what the index costs, not what the body check costs.
    """
    from dbp.cache.stores.headers import CLEANUP_BODY_CHECK

    now = disk._clock.time()
    removed = 0
    for found in disk.scan(bodies_up_to=CLEANUP_BODY_CHECK):
        if disk.unservable(found, now):
            removed += disk._unlink_unchanged(found)
    return removed + disk._remove_abandoned_temps()


def _clear_rounds(writer: Any, payload: Any, rounds: int) -> tuple[float, list[float]]:
    """cache_clear() of a function's 10 entries: (the first clear, each later round)."""
    from dbp.llm.bedrock.discovery import discovery_cached

    fn = discovery_cached(key="bedrock_models:<region>", cache=writer)(Source(payload).function())
    times: list[float] = []
    for _ in range(rounds + 1):
        for i in range(10):
            fn(f"region-{i}")
        elapsed, gone = time_once(fn.cache_clear)  # type: ignore[attr-defined]
        check(gone == 10, f"cache_clear removed {gone}, expected 10")
        times.append(elapsed)
    return times[0], times[1:]


def _maintenance(
    config: Config, writer: Any, dc: Any, payload: Any, large: int, small_writer: Any, small: int
) -> tuple[list[Row], Details]:
    """cleanup, invalidate(key), cache_clear of one function and invalidate() at ``large``."""
    # Maintenance at the largest size: cleanup, invalidate(key), cache_clear, invalidate().
    rounds = 1 if config.quick else min(config.repeats, 5)
    cleanup_ns: dict[str, list[float]] = {"ours": [], "before_index": [], "diskcache": []}
    contenders = {
        "ours": writer.cleanup,
        "before_index": lambda: _cleanup_before_the_index(writer.disk),
    }
    for r in range(rounds):
        for name in sorted(contenders, reverse=r % 2 == 1):  # alternate who reads first
            elapsed, removed = time_once(contenders[name])
            check(removed == 0, f"{name} cleanup removed {removed} fresh files")
            cleanup_ns[name].append(elapsed)
        elapsed, _removed = time_once(dc.expire)
        cleanup_ns["diskcache"].append(elapsed)
    cleanup = medians(cleanup_ns)

    batch = max(3, min(50, config.iterations))
    invalidate_ns: dict[str, list[float]] = {"ours": [], "diskcache": []}
    for r in range(rounds):
        keys = [f"inv:{r}:{i}" for i in range(batch)]
        for k in keys:
            writer.set(k, payload)
            dc.set(k, payload)
        elapsed, gone = time_once(lambda keys=keys: sum(writer.invalidate(k) for k in keys))
        check(gone == batch, f"ours invalidated {gone} of {batch}")
        invalidate_ns["ours"].append(elapsed / batch)
        elapsed, gone = time_once(lambda keys=keys: sum(bool(dc.delete(k)) for k in keys))
        check(gone == batch, f"diskcache deleted {gone} of {batch}")
        invalidate_ns["diskcache"].append(elapsed / batch)
    invalidate_one = medians(invalidate_ns)

    # The first clear of a folder without the owner index sweeps it once (timed apart).
    sweep_ns, ours_rounds = _clear_rounds(writer, payload, rounds)
    _, small_rounds = _clear_rounds(small_writer, payload, rounds)
    dc_fn = dc.memoize(tag="list_models", expire=3600)(Source(payload).function())
    dc_rounds: list[float] = []
    for _ in range(rounds):
        for i in range(10):
            dc_fn(f"region-{i}")
        elapsed, gone = time_once(lambda: dc.evict("list_models"))
        check(gone == 10, f"diskcache evict removed {gone}, expected 10")
        dc_rounds.append(elapsed)
    cache_clear = medians({"ours": ours_rounds, "small": small_rounds, "diskcache": dc_rounds})

    count = len(os.listdir(writer.cache_dir))
    clear_all_ours, gone_ours = time_once(writer.invalidate)
    clear_all_dc, gone_dc = time_once(dc.clear)
    check(gone_ours >= large and gone_dc >= large, f"invalidate(): {gone_ours}, {gone_dc}")

    per_entry = f"{cleanup['ours'] / large / 1000:.1f} µs per entry"
    rows = [
        compare(
            f"scale.cleanup_{large}.vs_diskcache_expire",
            f"cleanup() at {large:,} entries (nothing expired) vs diskcache.Cache.expire()",
            cleanup["ours"],
            "diskcache expire()",
            cleanup["diskcache"],
            notes=f"ours reads every header line: {per_entry}; diskcache queries an index",
        ),
        compare(
            f"scale.cleanup_{large}.vs_before_index",
            f"cleanup() at {large:,} entries vs the cleanup before the owner index",
            cleanup["ours"],
            "cleanup before the index",
            cleanup["before_index"],
            limit=1.1,
            target="<= 1.1 (no slower)",
            notes="same run, same folder; ours also prunes old index markers",
        ),
        compare(
            f"scale.invalidate_key_{large}.vs_diskcache_delete",
            f"invalidate(key) at {large:,} entries vs diskcache.Cache.delete",
            invalidate_one["ours"],
            "diskcache delete()",
            invalidate_one["diskcache"],
        ),
        compare(
            f"scale.cache_clear_{large}.vs_diskcache_evict",
            f"cache_clear() of one function (10 entries) among {large:,} vs diskcache evict(tag)",
            cache_clear["ours"],
            "diskcache evict(tag), tag index",
            cache_clear["diskcache"],
            notes="ours reads the function's files listed in its owner index",
        ),
        compare(
            f"scale.cache_clear_{large}.budget",
            f"cache_clear() of one function (10 entries) among {large:,}: within 5 ms",
            cache_clear["ours"],
            "5 ms budget",
            5e6,
            limit=1.0,
            target="<= 5 ms",
        ),
        compare(
            f"scale.cache_clear_{large}_vs_{small}",
            f"cache_clear() of 10 entries among {large:,} vs among {small:,} (flat?)",
            cache_clear["ours"],
            f"ours among {small:,} entries",
            cache_clear["small"],
            limit=1.5,
            notes="grows with the function's entries, not with the folder",
        ),
        compare(
            f"scale.cache_clear_{large}.first_sweep",
            f"first cache_clear() on a {large:,}-entry folder written before the index",
            sweep_ns,
            "a later cache_clear()",
            cache_clear["ours"],
            notes="one-time sweep: reads every header and indexes the other owners' entries",
        ),
        compare(
            f"scale.invalidate_all_{large}.vs_diskcache_clear",
            f"invalidate() (everything) at {count:,} entries vs diskcache.Cache.clear()",
            clear_all_ours,
            "diskcache clear()",
            clear_all_dc,
            limit=1.0,
            notes="single run",
        ),
    ]
    return rows, {
        "cleanup_ns": cleanup,
        "invalidate_key_ns": invalidate_one,
        "cache_clear_ns": cache_clear,
        "invalidate_all_ns": {"ours": clear_all_ours, "diskcache": clear_all_dc},
    }
