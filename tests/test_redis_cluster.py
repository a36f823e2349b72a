"""The Redis store on a real three-node Redis Cluster (``redis+cluster://`` URLs)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from dbp.cache import MISS
from dbp.cache.entry import Entry
from redis_server import command


def entry(clock, value, *, created_offset: float = 0.0, owner=None):
    created = clock.time() + created_offset
    return Entry(value, created, created + 60, created + 120, owner)


@pytest.fixture
def cluster_store(redis_cluster, make_redis_store):
    # The cluster is shared by the module: each test gets its own prefix.
    return make_redis_store(redis_cluster.url, prefix=f"t{uuid.uuid4().hex[:8]}:")


def test_entries_spread_over_the_nodes_and_round_trip(redis_cluster, cluster_store, clock):
    for i in range(40):
        assert cluster_store.set(f"k{i}", entry(clock, (i, "x"), owner="f")) is True
    for i in range(40):
        assert cluster_store.get(f"k{i}").value == (i, "x")
    sizes = [int(command(n.port, "DBSIZE")[1:].strip()) for n in redis_cluster.nodes]
    assert sum(1 for size in sizes if size) >= 2, sizes  # really a cluster, not one node
    assert len(list(cluster_store.scan())) == 40


def test_leases_fences_and_clears_on_a_cluster(cluster_store, clock):
    lease = cluster_store.lock("k", owner="f")
    assert lease.acquire(0) is True
    assert cluster_store.lock("k").acquire(0.02) is False
    assert cluster_store.set("k", entry(clock, "v", owner="f"), fence=lease.fence) is True
    for i in range(10):
        cluster_store.set(f"f{i}", entry(clock, i, owner="f"))
        cluster_store.set(f"g{i}", entry(clock, i, owner="g"))
    assert cluster_store.clear(owner="f") == 11
    assert (
        cluster_store.set("k", entry(clock, "late", created_offset=1, owner="f"), fence=lease.fence)
        is False
    )
    assert cluster_store.get("k") is MISS and cluster_store.get("g3").value == 3
    lease.release()
    assert cluster_store.lock("k").acquire(0) is True
    assert cluster_store.clear() == 10
    assert list(cluster_store.scan()) == []


def test_async_twins_on_a_cluster(cluster_store, clock):
    async def scenario():
        assert await cluster_store.aset("a", entry(clock, "A", owner="f")) is True
        assert (await cluster_store.aget("a")).value == "A"
        lease = cluster_store.lock("b")
        assert await lease.acquire_async(0) is True
        assert await cluster_store.aset("b", entry(clock, "B"), fence=lease.fence) is True
        await lease.release_async()
        assert await cluster_store.aclear(owner="f") == 1
        assert await cluster_store.adelete("b") is True
        await cluster_store.aclose()

    asyncio.run(scenario())


def test_invalidations_cross_the_cluster(redis_cluster, cluster_store, make_redis_store):
    import threading

    got, event = [], threading.Event()

    def callback(cleared):
        got.append((cleared.key, cleared.owner))
        event.set()

    assert cluster_store.listen(callback).subscribed.wait(5)
    assert got == [(None, None)]  # the first subscription's drop: no generation known yet
    got.clear()
    event.clear()
    peer = make_redis_store(redis_cluster.url, prefix=cluster_store.prefix)
    peer.delete("x")
    assert event.wait(2) and got == [("x", None)]


def test_glob_clears_and_the_fleet_generation_on_a_cluster(cluster_store, clock):
    for region in ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1"):
        assert cluster_store.set(f"models:{region}", entry(clock, region)) is True
    cluster_store.set("profiles:us-east-1", entry(clock, "p"))
    lease = cluster_store.lock("models:us-east-1")
    assert lease.acquire(0) is True
    assert cluster_store.clear_matching("models:us-*") == 2
    # A fill that began before the glob clear cannot bring the old value back.
    late = entry(clock, "late", created_offset=1)
    assert cluster_store.set("models:us-east-1", late, fence=lease.fence) is False
    lease.release()
    left = sorted(i.key for i in cluster_store.scan())
    assert left == ["models:ap-south-1", "models:eu-west-1", "profiles:us-east-1"]
    got = []
    assert cluster_store.listen(got.append).subscribed.wait(5)
    assert cluster_store.sync() is True  # the generation lives on one node: readable
