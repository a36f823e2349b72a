"""The memory tier: a real LRU, bounded, expiring on the monotonic clock."""

from __future__ import annotations

from dbp.llm.bedrock.discovery import DiscoveryCache


def memory_only(cache_dir, clock, **kwargs) -> DiscoveryCache:
    return DiscoveryCache(base_dir=cache_dir, disk_ttl_days=0, clock=clock, **kwargs)


def test_lru_bound_evicts_least_recently_used(cache_dir, clock):
    c = memory_only(cache_dir, clock, max_memory_entries=3)
    for k in "abc":
        c.set(k, k.upper())
    assert c.get("a") == "A"  # "a" is now most recently used; "b" is the oldest
    c.set("d", "D")
    assert len(c.memory) == 3
    assert c.get("b") is None
    assert [c.get(k) for k in "acd"] == ["A", "C", "D"]


def test_lru_bound_holds_under_many_keys(cache_dir, clock):
    c = memory_only(cache_dir, clock, max_memory_entries=50)
    for i in range(1000):
        c.set(f"k{i}", i)
    assert len(c.memory) == 50
    assert c.get("k999") == 999
    assert c.get("k0") is None


def test_zero_entries_disables_memory(cache_dir, clock):
    c = DiscoveryCache(base_dir=cache_dir, clock=clock, max_memory_entries=0)
    c.set("k", 1)
    assert len(c.memory) == 0
    assert c.get("k") == 1  # disk still serves


def test_wall_clock_jump_back_does_not_make_memory_entries_immortal(cache_dir, clock):
    c = memory_only(cache_dir, clock, memory_ttl_seconds=60)
    c.set("k", 1)
    clock.jump_wall(-10 * 86400)  # someone set the date back ten days
    clock.advance(61)
    assert c.get("k") is None


def test_wall_clock_jump_forward_does_not_expire_memory_entries(cache_dir, clock):
    c = memory_only(cache_dir, clock, memory_ttl_seconds=60)
    c.set("k", 1)
    clock.jump_wall(+86400)
    assert c.get("k") == 1


def test_cleanup_drops_expired_memory_entries(cache_dir, clock):
    c = memory_only(cache_dir, clock, memory_ttl_seconds=10)
    c.set("old", 1)
    clock.advance(11)
    c.set("new", 2)
    c.cleanup()
    assert [k for k, _ in c.memory.items()] == ["new"]
