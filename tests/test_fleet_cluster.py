"""The fleet tier on a real three-node Redis Cluster: ``TieredCache(redis_url="redis+cluster://...")``.

Entries, the fleet lock and clears work end to end through the tiered cache and the
decorator, with two "hosts" (caches with their own ``base_dir``) in this process.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from dbp.cache import MISS, TieredCache, discovery_cached
from fleet_helpers import wait_for
from redis_server import command


@pytest.fixture
def cluster_hosts(redis_cluster, tmp_path):
    prefix = f"t{uuid.uuid4().hex[:8]}:"  # the cluster is shared by the module
    caches = [
        TieredCache(
            base_dir=tmp_path / f"host-{name}",
            redis_url=redis_cluster.url,
            redis_prefix=prefix,
            redis_socket_timeout=1.0,
            redis_connect_timeout=1.0,
        )
        for name in "ab"
    ]
    yield caches, prefix
    for cache in caches:
        cache.close()


class Upstream:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, region: str) -> dict:
        self.calls.append(region)
        return {"region": region, "n": len(self.calls)}


def test_entries_locks_and_clears_through_the_tiered_cache(redis_cluster, cluster_hosts):
    (a, b), prefix = cluster_hosts
    upstream = Upstream()
    fa = discovery_cached(key="fleet_models:<region>", cache=a)(upstream)
    fb = discovery_cached(key="fleet_models:<region>", cache=b)(upstream)

    # Entries: b reads what a computed, from whichever node holds each key.
    regions = [f"r{i}" for i in range(24)]
    values = [fa(r) for r in regions]
    assert [fb(r) for r in regions] == values
    assert len(upstream.calls) == 24 and fb.cache_info().redis_hits == 24
    sizes = [int(command(n.port, "DBSIZE")[1:].strip()) for n in redis_cluster.nodes]
    assert sum(1 for size in sizes if size) >= 2, sizes

    # Locks: while a holds every tier's lock of a key, b's miss waits, then reads a's value.
    got: list[dict] = []
    with a.locked("fleet_models:locked") as held:
        assert held
        waiter = threading.Thread(target=lambda: got.append(fb("locked")))
        waiter.start()
        time.sleep(0.3)
        assert got == [] and "locked" not in upstream.calls
        a.set("fleet_models:locked", {"region": "locked", "n": 0})
    waiter.join(10)
    assert got == [{"region": "locked", "n": 0}] and "locked" not in upstream.calls

    # Clears: a's cache_clear() empties Redis of the function's entries and b's copies.
    def subscribers() -> int:
        replies = [
            command(n.port, "PUBSUB", "NUMSUB", f"{prefix}invalidate") for n in redis_cluster.nodes
        ]
        return sum(int(r.split(b"\r\n")[-2].lstrip(b":")) for r in replies)

    wait_for(lambda: subscribers() >= 2, 10, "both hosts subscribed")
    cleared = time.monotonic()
    assert fa.cache_clear() == 24
    wait_for(lambda: b.memory.get("fleet_models:r0") is MISS, 5, "b to drop its copies")
    wait_for(lambda: b.disk.get("fleet_models:r0") is MISS, 5, "b to drop its files")
    assert time.monotonic() - cleared < 1.0
    assert a.redis is not None and a.redis.get("fleet_models:r0") is MISS
    assert fb("r0") == {"region": "r0", "n": 25}
