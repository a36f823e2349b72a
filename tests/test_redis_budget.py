"""The hard per-call budget on Redis, and the round trips a call makes.

A real redis-server behind a small TCP proxy (:mod:`latency_proxy`) that adds
latency or drops connections mid-reply; every cache uses the defaults (50 ms
socket time-out, 100 ms budget per call). A hit from Redis waits for one round
trip and a miss for three; at 30 ms a round trip the tier is still used and
shared; at 300 ms, frozen, or dropping replies, every call returns within the
budget plus 20 ms from the local tiers, with one warning per outage.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import redis.asyncio  # noqa: F401  (imported here: a one-time import is not a wait on Redis)

from dbp.cache import TieredCache, discovery_cached
from latency_proxy import LatencyProxy

BUDGET = 0.100  # the default: two default socket time-outs
SLACK = 0.020


@pytest.fixture
def proxy(redis_server):
    made = LatencyProxy(redis_server.port)
    yield made
    made.close()


@pytest.fixture
def hosts(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="dbp.cache")
    made: list[TieredCache] = []

    def host(name: str, url: str) -> TieredCache:
        cache = TieredCache(base_dir=tmp_path / f"host-{name}", redis_url=url)
        made.append(cache)
        return cache

    yield host
    for cache in made:
        cache.close()


def warnings(caplog, port: int) -> list[str]:
    """This test's warnings about the Redis at ``port`` (a closed cache of an earlier test
    may still log about its own server from a background thread)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and f":{port}/" in r.getMessage()
    ]


class Upstream:
    def __init__(self, name: str = "") -> None:
        self.name, self.calls = name, []

    def __call__(self, region: str) -> dict:
        self.calls.append(region)
        return {"region": region, "by": self.name}


def test_a_hit_waits_for_one_round_trip_and_a_miss_for_three(proxy, hosts):
    a, b = hosts("a", proxy.url), hosts("b", proxy.url)
    fa = discovery_cached(key="rt:<region>", cache=a)(Upstream("a"))
    fb = discovery_cached(key="rt:<region>", cache=b)(Upstream("b"))
    fa("warm-a"), fb("warm-b")  # connections open

    def trips(call, region: str) -> int:
        before = proxy.requests
        call(region)
        return proxy.requests - before

    assert trips(fa, "x") == 3  # look up; find or take the lease; write and release
    assert trips(fb, "x") == 1 and fb.cache_info().redis_hits == 1

    afa = discovery_cached(key="art:<region>", cache=a)(_async(Upstream("a")))
    afb = discovery_cached(key="art:<region>", cache=b)(_async(Upstream("b")))

    async def both() -> tuple[int, int]:
        await afa("warm-a"), await afb("warm-b")
        before = proxy.requests
        await afa("x")
        miss = proxy.requests - before
        before = proxy.requests
        await afb("x")
        return miss, proxy.requests - before

    assert asyncio.run(both()) == (3, 1)


def _async(upstream):
    async def call(region: str) -> dict:
        return upstream(region)

    return call


def test_at_30_ms_a_round_trip_the_tier_is_still_used_and_shared(proxy, hosts, caplog):
    a, b = hosts("a", proxy.url), hosts("b", proxy.url)
    upstream = Upstream("a")
    fa = discovery_cached(key="slow:<region>", cache=a)(upstream)
    fb = discovery_cached(key="slow:<region>", cache=b)(Upstream("b"))
    # Connected first: a connection's own set-up (a TCP round trip, two more for TLS)
    # is paid within the first call's budget, and this proxy does not delay it.
    fa("warm-a"), fb("warm-b")
    upstream.calls.clear()
    proxy.delay = 0.030
    for region in ("r1", "r2", "r3"):
        assert fa(region) == {"region": region, "by": "a"}  # a misses and shares
        assert fb(region) == {"region": region, "by": "a"}
    assert upstream.calls == ["r1", "r2", "r3"] and fb.cache_info().redis_hits == 3
    assert warnings(caplog, proxy.port) == []


def calls_within_budget(call, regions, upstream) -> list[float]:
    took = []
    for region in regions:
        started = time.monotonic()
        assert call(region) == {"region": region, "by": upstream.name}
        took.append(time.monotonic() - started)
    return took


def test_at_300_ms_every_call_returns_within_the_budget_from_the_local_tiers(proxy, hosts, caplog):
    proxy.delay = 0.300
    cache = hosts("a", proxy.url)
    upstream = Upstream("a")
    f = discovery_cached(key="crawl:<region>", cache=cache)(upstream)
    regions = [f"r{i}" for i in range(6)]
    took = calls_within_budget(f, regions, upstream)
    took += calls_within_budget(f, regions, upstream)  # from memory now
    assert max(took) <= BUDGET + SLACK, took
    assert upstream.calls == regions
    assert len(warnings(caplog, proxy.port)) == 1
    caplog.clear()

    async_upstream = Upstream("a")
    af = discovery_cached(key="acrawl:<region>", cache=hosts("b", proxy.url))(
        _async(async_upstream)
    )

    async def timed() -> list[float]:
        took = []
        for region in regions:
            started = time.monotonic()
            assert await af(region) == {"region": region, "by": "a"}
            took.append(time.monotonic() - started)
        return took

    took = asyncio.run(timed())
    assert max(took) <= BUDGET + SLACK, took
    assert async_upstream.calls == regions
    assert len(warnings(caplog, proxy.port)) == 1  # the second cache's own outage


def test_a_frozen_server_costs_a_call_at_most_the_budget(redis_server, hosts, caplog):
    cache = hosts("a", redis_server.url)
    upstream = Upstream("a")
    f = discovery_cached(key="frozen:<region>", cache=cache)(upstream)
    f("warm")  # connected
    redis_server.stop()
    try:
        took = calls_within_budget(f, [f"r{i}" for i in range(5)], upstream)
    finally:
        redis_server.cont()
    assert max(took) <= BUDGET + SLACK, took
    assert len(warnings(caplog, redis_server.port)) == 1


def test_a_connection_dropped_mid_reply_is_a_fault_never_a_torn_value(
    redis_server, proxy, hosts, caplog
):
    a = hosts("a", redis_server.url)
    discovery_cached(key="torn:<region>", cache=a)(Upstream("a"))("r1")  # in Redis now
    proxy.drop_replies_over = 100  # entries are longer; lease, OK and integer replies are not
    b = hosts("b", proxy.url)
    upstream = Upstream("b")
    fb = discovery_cached(key="torn:<region>", cache=b)(upstream)
    took = calls_within_budget(fb, ["r1", "r2"], upstream)
    assert max(took) <= BUDGET + SLACK, took
    assert upstream.calls == ["r1", "r2"] and proxy.dropped >= 1
    assert len(warnings(caplog, proxy.port)) == 1
    assert "Connection closed" in warnings(caplog, proxy.port)[0]


def test_a_lease_whose_reply_was_lost_is_taken_on_the_retry(proxy, make_redis_store):
    store = make_redis_store(proxy.url)
    assert store.get("warm") is not None  # connected
    proxy.drop_replies_over, proxy.drop_limit = 40, 1  # the lease's reply (a token): once
    lease = store.lock("k")
    assert lease.acquire(0) is True  # the retry finds its own lease, not a busy one
    assert proxy.dropped == 1
    lease.release()
    assert store.lock("k").acquire(0) is True
