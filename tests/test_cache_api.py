"""DiscoveryCache's imperative API: get / set / invalidate and the TTL rules."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import cache_files
from dbp.llm.bedrock.discovery import DiscoveryCache
from dbp.llm.bedrock.discovery.cache import DiscoveryCache as DiscoveryCacheFromSeedPath


def test_seed_import_path_and_constants():
    assert DiscoveryCacheFromSeedPath is DiscoveryCache
    assert DiscoveryCache.DEFAULT_MEMORY_TTL_SECONDS == 3600
    assert DiscoveryCache.DEFAULT_DISK_TTL_DAYS == 3
    assert isinstance(DiscoveryCache.CACHE_VERSION, int)


def test_set_then_get_in_same_and_new_instance(cache, make_cache):
    cache.set("k", {"a": [1, 2]})
    assert cache.get("k") == {"a": [1, 2]}
    assert make_cache().get("k") == {"a": [1, 2]}


def test_miss_returns_default(cache):
    assert cache.get("absent") is None
    assert cache.get("absent", "d") == "d"


def test_cached_none_is_a_value_not_a_miss(cache, make_cache):
    cache.set("k", None)
    assert cache.get("k", "default") is None
    assert make_cache().get("k", "default") is None  # from disk too


def test_defaults_and_none_mean_default(cache_dir):
    c = DiscoveryCache(base_dir=cache_dir, memory_ttl_seconds=None, disk_ttl_days=None)
    assert c.memory_ttl_seconds == 3600
    assert c.disk_ttl_days == 3


@pytest.mark.parametrize(
    ("kwargs", "memory", "disk_days"),
    [
        ({"memory_ttl_seconds": dt.timedelta(minutes=2)}, 120, 3),
        ({"disk_ttl_days": dt.timedelta(hours=12)}, 3600, 0.5),
        ({"disk_ttl_days": 0.25}, 3600, 0.25),
        ({"memory_ttl_seconds": 0, "disk_ttl_days": 0}, 0, 0),
    ],
)
def test_ttl_forms(cache_dir, kwargs, memory, disk_days):
    c = DiscoveryCache(base_dir=cache_dir, **kwargs)
    assert c.memory_ttl_seconds == memory
    assert c.disk_ttl_days == disk_days


def test_lifetimes_changed_after_construction_govern_the_next_get(cache):
    """get() keeps its policy between calls; changing a setting must not be ignored."""
    cache.set("k", "v")
    assert cache.get("k") == "v"  # the policy is made (and kept) by this get
    cache.memory_ttl_seconds = 0  # memory is no longer read...
    cache.disk_ttl_seconds = 0  # ...nor the disk
    assert cache.get("k", "gone") == "gone"
    cache.disk_ttl_seconds = 3600
    assert cache.get("k") == "v"  # from disk again
    cache.memory_ttl_seconds = 3600
    cache.max_memory_entries = 0  # a memory tier bounded to 0 entries is off too
    cache.disk_ttl_seconds = 0
    assert cache.get("k", "gone") == "gone"


@pytest.mark.parametrize("name", ["memory_ttl_seconds", "disk_ttl_days"])
def test_negative_ttl_is_value_error_naming_parameter(cache_dir, name):
    with pytest.raises(ValueError, match=name):
        DiscoveryCache(base_dir=cache_dir, **{name: -1})


@pytest.mark.parametrize("bad", ["60", True, [1], float("nan")])
def test_non_numeric_ttl_is_type_error_naming_parameter(cache_dir, bad):
    expected = ValueError if isinstance(bad, float) else TypeError
    with pytest.raises(expected, match="memory_ttl_seconds"):
        DiscoveryCache(base_dir=cache_dir, memory_ttl_seconds=bad)


def test_set_ttl_validation_names_parameter(cache):
    with pytest.raises(ValueError, match="disk_ttl"):
        cache.set("k", 1, disk_ttl=-5)
    with pytest.raises(TypeError, match="memory_ttl"):
        cache.set("k", 1, memory_ttl="soon")


def test_memory_ttl_zero_disables_memory_tier(cache_dir, clock):
    c = DiscoveryCache(base_dir=cache_dir, memory_ttl_seconds=0, clock=clock)
    c.set("k", 1)
    assert len(c.memory) == 0
    assert c.get("k") == 1  # served from disk
    assert len(c.memory) == 0  # and not promoted into a disabled tier


def test_disk_ttl_zero_disables_disk_tier(cache_dir, clock):
    c = DiscoveryCache(base_dir=cache_dir, disk_ttl_days=0, clock=clock)
    c.set("k", 1)
    assert c.get("k") == 1
    assert cache_files(c) == []


def test_per_call_ttl_overrides_and_zero_skips_tier(cache, make_cache, clock):
    cache.set("short", 1, memory_ttl=10, disk_ttl=20)
    cache.set("mem-only", 2, disk_ttl=0)
    assert make_cache().get("mem-only") is None
    clock.advance(11)
    assert cache.get("short") == 1  # memory expired, disk still fresh
    clock.advance(10)
    assert cache.get("short") is None


def test_memory_entry_expires_after_memory_ttl(cache_dir, clock):
    c = DiscoveryCache(base_dir=cache_dir, memory_ttl_seconds=60, disk_ttl_days=0, clock=clock)
    c.set("k", "v")
    clock.advance(59.9)
    assert c.get("k") == "v"
    clock.advance(0.2)
    assert c.get("k") is None


def test_disk_entry_expires_after_disk_ttl(cache, make_cache, clock):
    cache.set("k", "v")
    clock.advance(3 * 86400 - 1)
    assert make_cache().get("k") == "v"
    clock.advance(2)
    assert make_cache().get("k") is None


def test_invalidate_one_key_both_tiers(cache, make_cache):
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.invalidate("a") == 1
    assert cache.get("a") is None
    assert make_cache().get("a") is None
    assert cache.get("b") == 2


def test_invalidate_all_leaves_foreign_files(cache):
    cache.set("a", 1)
    cache.set("b", 2)
    foreign = f"{cache.cache_dir}/notes.txt"
    with open(foreign, "w") as f:
        f.write("mine")
    cache.invalidate()
    assert cache.get("a") is None
    assert cache.get("b") is None
    assert cache_files(cache) == []
    assert open(foreign).read() == "mine"


@pytest.mark.parametrize("bad", ["", None, 3, b"k"])
def test_bad_keys_are_clear_errors(cache, bad):
    expected = ValueError if bad == "" else TypeError
    with pytest.raises(expected, match="key"):
        cache.set(bad, 1)
    with pytest.raises(expected, match="key"):
        cache.get(bad)


def test_max_memory_entries_validation(cache_dir):
    with pytest.raises(ValueError, match="max_memory_entries"):
        DiscoveryCache(base_dir=cache_dir, max_memory_entries=-1)
    with pytest.raises(TypeError, match="max_memory_entries"):
        DiscoveryCache(base_dir=cache_dir, max_memory_entries=2.5)


def test_get_or_compute_is_the_read_through_path(cache, make_cache):
    import asyncio

    calls: list[str] = []

    def compute():
        calls.append("sync")
        return {"n": len(calls)}

    assert cache.get_or_compute("rt:k", compute) == {"n": 1}
    assert cache.get_or_compute("rt:k", compute) == {"n": 1}
    assert make_cache().get("rt:k") == {"n": 1}  # written through to disk
    assert cache.get_or_compute("rt:k", compute, force=True) == {"n": 2}

    async def acompute():
        calls.append("async")
        return "a"

    assert asyncio.run(cache.aget_or_compute("rt:a", acompute)) == "a"
    assert asyncio.run(cache.aget_or_compute("rt:a", acompute)) == "a"
    assert calls == ["sync", "sync", "async"]
    with pytest.raises(ValueError, match="non-empty"):
        cache.get_or_compute("", compute)


def test_a_local_hit_and_its_promotion_yield_nothing_to_the_driver(cache, make_cache):
    """Memory and disk operations run inline: only a network tier's go through the driver
    (so an async caller awaits them); a disk hit promoted into memory is one step."""
    from dbp.cache.readthrough.steps import lookup

    cache.set("k", {"v": 1})
    reader = make_cache()  # memory empty: the value comes from disk and is promoted
    plan = lookup(reader, "k", reader.plain_policy)
    with pytest.raises(StopIteration) as done:
        next(plan)  # no operation yielded: the whole lookup ran in this one step
    assert done.value.value.value == {"v": 1} and done.value.value.tier == "disk"
    assert reader.memory.get("k").value == {"v": 1}  # promoted, inline
