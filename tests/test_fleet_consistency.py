"""The fleet tier end to end: clears, integrity, stale-on-error, composition, Cluster.

"Hosts" here are caches with their own ``base_dir`` (own memory and disk tiers, own
Redis clients and invalidation subscriber) in this process, sharing one real
``redis-server``; what crosses between them goes through Redis only.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest
import redis

from dbp.cache import MISS, ManualClock, TieredCache, discovery_cached
from fleet_helpers import wait_for
from redis_server import RedisServer, command

KEY = "fleet_models:<region>"


class Upstream:
    """The slow call: counts calls, returns ``{region, n}``; may block or fail."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.gate: threading.Event | None = None
        self.error: Exception | None = None

    def __call__(self, region: str) -> dict:
        with self.lock:
            self.calls += 1
            n = self.calls
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(30)
        if self.error is not None:
            raise self.error
        return {"region": region, "n": n}


@pytest.fixture
def hosts(tmp_path, redis_server):
    """``make(name, **kwargs)``: a TieredCache for host ``name``; all closed after the test."""
    made: list[TieredCache] = []

    def make(name: str, url: str | None = None, **kwargs) -> TieredCache:
        kwargs.setdefault("redis_socket_timeout", 1.0)
        kwargs.setdefault("redis_connect_timeout", 1.0)
        cache = TieredCache(
            base_dir=tmp_path / f"host-{name}", redis_url=url or redis_server.url, **kwargs
        )
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()


def decorate(cache: TieredCache, upstream: Upstream, **kwargs):
    return discovery_cached(key=KEY, cache=cache, **kwargs)(upstream)


def wait_subscribed(port: int, subscribers: int, prefix: str = "dbp:") -> None:
    def count() -> int:
        reply = command(port, "PUBSUB", "NUMSUB", f"{prefix}invalidate")
        return int(reply.split(b"\r\n")[-2].lstrip(b":"))

    wait_for(lambda: count() >= subscribers, 10, "the invalidation subscribers")


def local_copies(cache: TieredCache, key: str) -> list[str]:
    """Which local tiers of ``cache`` hold ``key`` (fresh or stale)."""
    return [s.name for s in (cache.memory, cache.disk) if s.get(key, stale=True) is not MISS]


# -- clears ------------------------------------------------------------------------------
def test_cache_clear_on_one_host_empties_the_others_local_tiers_within_a_second(
    hosts, redis_server
):
    a, b = hosts("a"), hosts("b")
    upstream = Upstream()
    fa, fb = decorate(a, upstream), decorate(b, upstream)
    assert fa("us-east-1") == fb("us-east-1") == {"region": "us-east-1", "n": 1}
    assert local_copies(b, "fleet_models:us-east-1") == ["memory", "disk"]
    wait_subscribed(redis_server.port, 2)

    cleared = time.monotonic()
    assert fa.cache_clear() >= 1
    wait_for(lambda: not local_copies(b, "fleet_models:us-east-1"), 5, "b to drop its copies")
    assert time.monotonic() - cleared < 1.0
    assert fb("us-east-1") == {"region": "us-east-1", "n": 2}  # b serves no cleared value
    assert fa("us-east-1") == {"region": "us-east-1", "n": 2}  # a reads b's from Redis
    assert upstream.calls == 2


def test_a_fill_begun_before_a_clear_does_not_bring_the_old_value_back(hosts, redis_server):
    a, b = hosts("a"), hosts("b")
    upstream = Upstream()
    fa, fb = decorate(a, upstream), decorate(b, upstream)
    upstream.gate = threading.Event()
    filled: list[dict] = []
    filler = threading.Thread(target=lambda: filled.append(fa("us-east-1")))
    filler.start()  # a's fill holds the lease and computes from data the clear voids
    assert upstream.started.wait(10)
    wait_subscribed(redis_server.port, 2)
    epoch = a.epoch
    fb.cache_clear()
    wait_for(lambda: a.epoch != epoch, 5, "a to hear of b's clear")
    upstream.gate.set()
    filler.join(10)
    assert filled == [{"region": "us-east-1", "n": 1}]  # its caller still gets it

    assert local_copies(a, "fleet_models:us-east-1") == []  # not written locally ...
    assert b.redis is not None and b.redis.get("fleet_models:us-east-1") is MISS  # nor shared
    upstream.gate = None
    assert fb("us-east-1") == {"region": "us-east-1", "n": 2}
    assert fa("us-east-1") == {"region": "us-east-1", "n": 2}


# -- integrity ---------------------------------------------------------------------------
SECRET = "a-fleet-secret-of-32-characters!"


def test_planted_or_tampered_entries_are_recomputed_when_a_secret_is_set(hosts, redis_server):
    a, b = hosts("a", redis_secret=SECRET), hosts("b", redis_secret=SECRET)
    upstream = Upstream()
    fa, fb = decorate(a, upstream), decorate(b, upstream)
    assert fa("us-east-1") == {"region": "us-east-1", "n": 1}
    assert a.redis is not None
    raw = redis.Redis.from_url(redis_server.url)
    name = a.redis.namer.names("fleet_models:us-east-1").entry
    stored = raw.get(name)
    assert stored is not None and b'"n":1' in stored
    raw.set(name, stored.replace(b'"n":1', b'"n":7'), px=60_000)  # tampered

    assert fb("us-east-1") == {"region": "us-east-1", "n": 2}  # recomputed, not n=7
    assert fb.cache_info().redis_hits == 0

    # A writer without the secret (an unsigned entry, e.g. planted with a leaked password).
    planter = hosts("planter", max_memory_entries=0, disk_ttl_days=0)
    planter.set("fleet_models:eu-west-1", {"region": "eu-west-1", "n": 99})
    assert raw.get(a.redis.namer.names("fleet_models:eu-west-1").entry) is not None
    assert fb("eu-west-1") == {"region": "eu-west-1", "n": 3}
    raw.close()


def test_a_wrong_password_is_one_warning_and_the_local_tiers_keep_working(tmp_path, hosts, caplog):
    caplog.set_level(logging.INFO, logger="dbp.cache")
    server = RedisServer(tmp_path / "auth", None, "--requirepass", "right-password").start()
    try:
        cache = hosts("a", url=f"redis://:wrong-password@127.0.0.1:{server.port}/0")
        upstream = Upstream()
        list_models = decorate(cache, upstream)
        assert list_models("us-east-1") == {"region": "us-east-1", "n": 1}
        assert list_models("us-east-1") == {"region": "us-east-1", "n": 1}  # memory hit
        assert list_models("eu-west-1") == {"region": "eu-west-1", "n": 2}
        assert upstream.calls == 2
        assert os.path.exists(cache.file_for("fleet_models:us-east-1"))  # disk tier works
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        # One warning for the outage (the calls' connection and the invalidation
        # subscriber report to one breaker); none per call; the password is never shown.
        assert len(warnings) == 1, warnings
        assert "Redis at redis://***@" in warnings[0]
        for region in ("ap-south-1", "sa-east-1", "us-east-1"):
            list_models(region)
        later = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(later) == len(warnings)
        assert not [w for w in warnings if "wrong-password" in w]
    finally:
        server.close()


# -- stale on error across the fleet ----------------------------------------------------------
def test_an_expired_value_held_only_in_redis_is_served_when_the_call_fails(hosts):
    clock = ManualClock()
    a, b = hosts("a", clock=clock), hosts("b", clock=clock)
    upstream = Upstream()
    options = {"memory_ttl": 60, "disk_ttl": 60, "redis_ttl": 60}
    fa = decorate(a, upstream, serve_stale_on_error=True, max_stale=3600, **options)
    fb = decorate(b, upstream, serve_stale_on_error=True, max_stale=3600, **options)
    assert fa("us-east-1") == {"region": "us-east-1", "n": 1}
    clock.advance(600)  # expired everywhere, within max_stale
    upstream.error = RuntimeError("ThrottlingException")
    assert local_copies(b, "fleet_models:us-east-1") == []  # b has nothing of its own
    assert fb("us-east-1") == {"region": "us-east-1", "n": 1}
    assert fb.cache_info().stale_hits == 1
    assert upstream.calls == 2  # b did try the call
    clock.advance(3600)  # past max_stale: the error comes through
    with pytest.raises(RuntimeError, match="Throttling"):
        fb("us-east-1")


# -- composition -------------------------------------------------------------------------------
def test_memory_then_redis_with_the_disk_tier_off_writes_no_files(hosts, tmp_path):
    a, b = hosts("a", disk_ttl_days=0), hosts("b", disk_ttl_days=0)
    upstream = Upstream()
    fa, fb = decorate(a, upstream), decorate(b, upstream)
    assert fa("us-east-1") == fb("us-east-1") == {"region": "us-east-1", "n": 1}
    assert fb("us-east-1") == {"region": "us-east-1", "n": 1}
    info = fb.cache_info()
    assert (info.redis_hits, info.memory_hits, info.disk_hits, info.misses) == (1, 1, 0, 0)
    assert upstream.calls == 1
    for host in ("a", "b"):
        folder = tmp_path / f"host-{host}"
        files = [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs]
        assert files == [], files  # no entry, temp or lock file


def test_a_lapsed_holder_keeps_no_local_copy_of_its_older_value(hosts):
    a = hosts("a", redis_lease_seconds=0.3)
    b = hosts("b", redis_lease_seconds=0.3)
    slow, fast = Upstream(), Upstream()
    slow.gate, fast.calls = threading.Event(), 100  # fast's answers read n=101, ...
    fa, fb = decorate(a, slow), decorate(b, fast)
    answers: list[dict] = []
    holder = threading.Thread(target=lambda: answers.append(fa("us-east-1")))
    holder.start()
    assert slow.started.wait(10)  # A holds the lease and computes slowly
    assert fb("us-east-1") == {"region": "us-east-1", "n": 101}  # B waits out the lease
    slow.gate.set()
    holder.join(10)
    assert answers == [{"region": "us-east-1", "n": 1}]  # A's caller gets A's result ...
    key = "fleet_models:us-east-1"
    assert local_copies(a, key) == []  # ... but A's tiers keep no copy of the older value
    assert a.get(key) == {"region": "us-east-1", "n": 101}  # the fleet's newer one
    assert fa("us-east-1") == {"region": "us-east-1", "n": 101}


def test_redis_ttl_per_function_and_per_set(hosts):
    a, b = hosts("a"), hosts("b")
    local_only, shared = Upstream(), Upstream()
    fa = discovery_cached(key="local_only:<region>", cache=a, redis_ttl=0)(local_only)
    fb = discovery_cached(key="local_only:<region>", cache=b, redis_ttl=0)(local_only)
    fa("us-east-1")
    fb("us-east-1")
    assert local_only.calls == 2  # redis_ttl=0: the tier is neither written nor read
    assert b.redis.get("local_only:us-east-1") is MISS

    ga = discovery_cached(key="shared:<region>", cache=a, redis_ttl=30)(shared)
    ga("us-east-1")
    entry = b.redis.get("shared:us-east-1")
    assert entry is not MISS and entry.expires - entry.created == pytest.approx(30, abs=5)

    a.set("by_set", "v", redis_ttl=20)
    entry = b.redis.get("by_set")
    assert entry.value == "v" and entry.expires - entry.created == pytest.approx(20, abs=5)
    a.set("not_shared", "v", redis_ttl=0)
    assert b.get("not_shared", "miss") == "miss"
