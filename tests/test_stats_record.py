"""The shared statistics' record: hourly buckets, windows, expiry, and what stays per process.

The flushes are driven by hand (``flush_stats()``) on an injected clock, so the hours
pass without sleeping; the stores are real (files in a temp folder, a redis-server).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from dbp.cache import ManualClock, TieredCache, discovery_cached
from dbp.cache.clock import SYSTEM_CLOCK
from dbp.cache.metrics import configure_stats, flush_stats
from dbp.cache.metrics.counts import HOUR, report
from dbp.cache.metrics.fleet import read_fleet, stats_key
from dbp.cache.metrics.flusher import RECORDER
from dbp.cache.metrics.host import read_host
from redis_server import command

START = 1_800_000_000 // HOUR * HOUR + 600  # ten minutes into an hour


@pytest.fixture
def stats_clock():
    clock = ManualClock(START)
    interval = RECORDER.interval
    configure_stats(interval=3600, clock=clock)  # only the test flushes
    yield clock
    configure_stats(interval=interval, clock=SYSTEM_CLOCK)


def summary(hours, clock, window):
    found = report(hours, clock.time())[window]
    return {"misses": found["misses"], "hits": found["hits"]}


def test_counts_land_in_hourly_buckets_read_over_the_last_hour_and_24_hours(
    tmp_path, stats_clock, redis_server
):
    cache = TieredCache(base_dir=tmp_path, clock=stats_clock, redis_url=redis_server.url)
    try:

        @discovery_cached(key="hourly:<region>", cache=cache)
        def list_models(region):
            return region

        for _ in range(3):
            list_models("a")  # 1 miss, 2 memory hits
        flush_stats()
        stats_clock.advance(2 * HOUR)
        list_models("b")
        list_models("b")  # 1 miss, 1 hit, two hours later
        flush_stats()

        for read in (
            lambda: read_host(cache.cache_dir),
            lambda: read_fleet(cache.redis, stats_clock.time()),
        ):
            hours = read()
            assert summary(hours, stats_clock, "last_hour") == {"misses": 1, "hits": 1}
            assert summary(hours, stats_clock, "last_24h") == {"misses": 2, "hits": 3}
        ttl = int(command(redis_server.port, "TTL", stats_key("dbp:", START // HOUR * HOUR))[1:-2])
        assert 8 * 86400 - 60 < ttl <= 8 * 86400  # the fleet's buckets expire after 8 days

        stats_clock.advance(23 * HOUR)  # the first hour is now outside the 24 h window
        assert summary(read_host(cache.cache_dir), stats_clock, "last_24h") == {
            "misses": 1,
            "hits": 1,
        }

        stats_clock.advance(9 * 86400)  # the process's file keeps 8 days of buckets
        list_models("c")
        flush_stats()
        assert list(read_host(cache.cache_dir)) == [int(stats_clock.time()) // HOUR * HOUR]
    finally:
        cache.close()


def test_cache_info_stays_per_process_and_cache_clear_does_not_rewind_the_record(
    tmp_path, stats_clock
):
    cache = TieredCache(base_dir=tmp_path, clock=stats_clock)

    @discovery_cached(key="cleared:<region>", cache=cache)
    def list_models(region):
        return region

    list_models("a")
    list_models("a")
    flush_stats()
    list_models.cache_clear()
    assert tuple(list_models.cache_info())[:2] == (0, 0)
    list_models("a")
    flush_stats()
    assert list_models.cache_info().misses == 1
    assert summary(read_host(cache.cache_dir), stats_clock, "last_hour") == {"misses": 2, "hits": 1}


def test_a_bad_interval_is_refused_naming_it():
    with pytest.raises(ValueError, match="statistics interval must be a number of seconds >= 0"):
        configure_stats(interval=-1)
    with pytest.raises(ValueError, match="statistics interval"):
        configure_stats(interval="5")  # type: ignore[arg-type]


def test_dbp_stats_interval_0_turns_the_statistics_off(tmp_path):
    code = (
        "import sys\nfrom dbp.cache import TieredCache, discovery_cached\n"
        "@discovery_cached(key='off:<x>', cache=TieredCache(base_dir=sys.argv[1]))\n"
        "def f(x):\n    return x\n"
        "f(1); f(1)\n"
    )
    for interval, written in (("0", False), ("5", True)):
        base = tmp_path / interval
        env = {**os.environ, "DBP_STATS_INTERVAL": interval}
        subprocess.run([sys.executable, "-c", code, str(base)], env=env, check=True, timeout=60)
        assert (base / "cache" / ".stats").exists() is written


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_a_forked_child_records_only_its_own_work(tmp_path, stats_clock):
    cache = TieredCache(base_dir=tmp_path, clock=stats_clock)

    @discovery_cached(key="forked:<region>", cache=cache)
    def list_models(region):
        return region

    list_models("a")
    list_models("a")  # the parent: 1 miss, 1 hit, not flushed before the fork
    pid = os.fork()
    if pid == 0:  # the child: 1 miss, 2 hits of its own
        try:
            list_models("b")
            list_models("b")
            list_models("a")
            flush_stats()
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    folder = os.path.join(cache.cache_dir, ".stats")
    (child_file,) = os.listdir(folder)  # the child's own file
    assert f"-{pid}-" in child_file
    assert summary(read_host(cache.cache_dir), stats_clock, "last_hour") == {"misses": 1, "hits": 2}
    flush_stats()  # the parent's first write also takes over the dead child's file
    assert summary(read_host(cache.cache_dir), stats_clock, "last_hour") == {"misses": 2, "hits": 3}
    assert os.listdir(folder) != [child_file] and len(os.listdir(folder)) == 1


def test_a_new_interval_restarts_the_wait_without_flushing(tmp_path, stats_clock):
    """Setting the interval wakes the flusher only to wait anew: a flush it made then raced
    with what the caller did next (a test's fork saw the parent's file appear)."""
    cache = TieredCache(base_dir=tmp_path, clock=stats_clock)

    @discovery_cached(key="reconfigured:<x>", cache=cache)
    def f(x):
        return x

    f(1)  # a miss to flush; the flusher thread runs, waiting an hour
    folder = os.path.join(cache.cache_dir, ".stats")
    for _ in range(5):
        configure_stats(interval=3600)
        time.sleep(0.05)  # the thread's turn to run
    assert not os.path.exists(folder) or os.listdir(folder) == []
    flush_stats()
    assert len(os.listdir(folder)) == 1
