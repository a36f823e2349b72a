"""Disk tier: a hit read by a fresh instance (memory cold) and a write-through set.

``disk_hit`` reads each payload of ``DISK_HIT_CASES`` from the file with the memory tier
off, against ``diskcache`` and against the floor (read the file + ``orjson.loads``, plus
the bare ``fromisoformat`` conversion when the payload holds datetimes); ``disk_set``
times a durable and a ``durable=False`` set against ``diskcache.Cache.set``.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from common import Config, Measured, Row, compare
from harness import KEY, Details, check, check_payload, counting, measure
from payloads import (
    MODEL_COUNTS,
    list_foundation_models_response,
    list_inference_profiles_response,
    without_datetimes,
)
from pre_engine import pre_engine_cache, pre_engine_reader, pre_engine_row
from timing import make_loop

__all__ = ["disk_hit", "disk_set"]

#: The disk-hit payloads: (name, label, payload builder, limit vs diskcache, limit vs floor).
DISK_HIT_CASES = (
    ("100", "100 models, datetimes", lambda: list_foundation_models_response(100), 1.05, 1.35),
    (
        "profiles",
        "ListInferenceProfiles of the 100 models, datetimes",
        lambda: list_inference_profiles_response(100),
        1.05,
        1.35,
    ),
    ("5", "5 models, datetimes", lambda: list_foundation_models_response(5), 0.9, None),
    (
        "100_plain",
        "100 models, no datetimes",
        lambda: without_datetimes(list_foundation_models_response(100)),
        1.0,
        None,
    ),
)

#: The cases also timed against the engine before the redesign.
PRE_ENGINE_CASES = ("5", "100")


# -- hit from disk in a fresh instance ------------------------------------------------
def disk_hit(config: Config, folder: str) -> tuple[list[Row], Details]:
    import diskcache
    import orjson

    from dbp.llm.bedrock.discovery import DiscoveryCache

    rows: list[Row] = []
    details: Details = {}
    pre_engine = pre_engine_cache(folder)
    for count, tag, build, dc_limit, floor_limit in DISK_HIT_CASES:
        payload = build()
        base = os.path.join(folder, f"ours-{count}")
        reader = _reader(DiscoveryCache, base, payload)
        path = reader.file_for(KEY)

        dc_dir = os.path.join(folder, f"diskcache-{count}")
        with diskcache.Cache(dc_dir) as writer:
            writer.set(KEY, payload)
        dc = diskcache.Cache(dc_dir)  # a fresh instance: nothing of the writer's in memory
        check_payload(dc.get(KEY), payload, "diskcache.get")

        def read_and_parse(path: str = path) -> Any:
            with open(path, "rb") as f:
                data = f.read()
            return orjson.loads(memoryview(data)[data.index(b"\n") + 1 :])

        with open(path, "rb") as f:
            data = f.read()
        body = data[data.index(b"\n") + 1 :]
        texts = _datetime_texts(payload)
        loops = {
            "ours": make_loop("g(k)", {"g": reader.get, "k": KEY}),
            "diskcache": make_loop("g(k)", {"g": dc.get, "k": KEY}),
            "read_orjson": make_loop("r()", {"r": read_and_parse}),
            "orjson_loads": make_loop("loads(b)", {"loads": orjson.loads, "b": body}),
        }
        if texts:  # what turning the texts back into datetimes costs by itself
            convert = {"f": dt.datetime.fromisoformat, "texts": texts}
            loops["convert"] = make_loop("[f(t) for t in texts]", convert)
        if pre_engine is not None and count in PRE_ENGINE_CASES:
            old_folder = os.path.join(folder, f"pre-{count}")
            loops["pre_engine"] = pre_engine_reader(pre_engine, old_folder, payload)
        hits_before = reader.hits
        med, numbers = measure(config, loops, cap=max(3, config.iterations // 20))
        check(len(reader.memory) == 0, "ours: memory tier filled during timing")
        check(reader.hits > hits_before and reader.misses == 0, "ours: timed gets were not hits")
        dc.close()
        rows += [
            compare(
                f"disk_hit.{count}.vs_diskcache",
                f"disk hit, fresh instance ({tag}) vs diskcache.Cache.get",
                med["ours"],
                "diskcache.Cache.get",
                med["diskcache"],
                limit=dc_limit,
                notes=f"file {len(data)} bytes",
            ),
            compare(
                f"disk_hit.{count}.vs_read_orjson",
                f"where the time goes ({tag}): vs read file + orjson.loads (the floor)",
                med["ours"],
                "read + orjson.loads",
                med["read_orjson"],
                limit=floor_limit,
            ),
            compare(
                f"disk_hit.{count}.vs_orjson_loads",
                f"where the time goes ({tag}): vs orjson.loads alone",
                med["ours"],
                "orjson.loads",
                med["orjson_loads"],
            ),
        ]
        if "pre_engine" in loops:
            rows.append(pre_engine_row(count, tag, med["ours"], med["pre_engine"]))
        if texts:
            floor_and_convert = Measured(
                med["read_orjson"] + med["convert"],
                tuple(
                    map(sum, zip(med["read_orjson"].samples, med["convert"].samples, strict=True))
                ),
            )
            rows.append(
                compare(
                    f"disk_hit.{count}.vs_floor_and_fromisoformat",
                    f"where the time goes ({tag}): vs the floor + {len(texts)} x "
                    "datetime.fromisoformat (the conversion itself)",
                    med["ours"],
                    "floor + fromisoformat",
                    floor_and_convert,
                )
            )
        details[tag] = {"median_ns": med, "batch_sizes": numbers, "file_bytes": len(data)}
    return rows, details


def _reader(cache_class: Any, base: str, payload: Any) -> Any:
    """A second instance on a folder holding ``payload``, with no memory tier: every get
    reads the file (checked by counting the disk store's file reads)."""
    from dbp.cache.stores import disk as disk_module

    cache_class(base_dir=base).set(KEY, payload)
    reader = cache_class(base_dir=base, max_memory_entries=0)
    read_file = disk_module.read_file
    read_counter = counting(disk_module, "read_file")
    for _ in range(10):
        value = reader.get(KEY)
        check(value is not payload, "ours: disk read returned the memory object")
        check_payload(value, payload, "ours disk hit")
    disk_module.read_file = read_file  # back to the real function for timing
    check(read_counter[0] == 10, f"ours: {read_counter[0]} of 10 gets read the file")
    check(len(reader.memory) == 0, "ours: the reading instance kept a memory entry")
    return reader


def _datetime_texts(value: Any) -> list[str]:
    """The ISO texts of every datetime in ``value``, as the cache file holds them."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in _datetime_texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _datetime_texts(item)]
    return [value.isoformat()] if isinstance(value, dt.datetime) else []


# -- 3. set (write-through) --------------------------------------------------------------
def disk_set(config: Config, folder: str) -> tuple[list[Row], Details]:
    import diskcache

    from dbp.llm.bedrock.discovery import DiscoveryCache

    rows: list[Row] = []
    details: Details = {}
    for count in MODEL_COUNTS:
        payload = list_foundation_models_response(count)
        durable = DiscoveryCache(base_dir=os.path.join(folder, f"durable-{count}"), durable=True)
        fast = DiscoveryCache(base_dir=os.path.join(folder, f"fast-{count}"), durable=False)
        dc = diskcache.Cache(os.path.join(folder, f"diskcache-{count}"))
        for cache in (durable, fast, dc):
            cache.set(KEY, payload)
        check_payload(DiscoveryCache(base_dir=durable.base_dir).get(KEY), payload, "ours set")
        check_payload(dc.get(KEY), payload, "diskcache set")
        loops = {
            "ours_durable": make_loop("s(k, v)", {"s": durable.set, "k": KEY, "v": payload}),
            "ours_not_durable": make_loop("s(k, v)", {"s": fast.set, "k": KEY, "v": payload}),
            "diskcache": make_loop("s(k, v)", {"s": dc.set, "k": KEY, "v": payload}),
        }
        # File-system writes are the noisiest figures: twice the rounds.
        med, numbers = measure(
            config, loops, cap=max(3, config.iterations // 50), rounds=2 * config.repeats
        )
        dc.close()
        tag = f"{count} models"
        rows += [
            compare(
                f"set.{count}.durable_vs_diskcache",
                f"set, durable (fsync) ({tag}) vs diskcache.Cache.set",
                med["ours_durable"],
                "diskcache.Cache.set",
                med["diskcache"],
                notes="ours fsyncs each file; diskcache (SQLite WAL) does not fsync per set",
            ),
            compare(
                f"set.{count}.not_durable_vs_diskcache",
                f"set, durable=False ({tag}) vs diskcache.Cache.set",
                med["ours_not_durable"],
                "diskcache.Cache.set",
                med["diskcache"],
                notes="like for like: neither fsyncs",
            ),
        ]
        details[tag] = {"median_ns": med, "batch_sizes": numbers}
    return rows, details
