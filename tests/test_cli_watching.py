"""``dbp-discovery cache info`` / ``cache ls`` show the statistics and the shared tier.

Entries are written by this process through real caches on a real redis-server; the
command line runs as a fresh process, as a person would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbp.cache import TieredCache, discovery_cached
from dbp.cache.metrics import flush_stats
from redis_server import command


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DBP_REDIS_URL"}
    return subprocess.run(
        [sys.executable, "-m", "dbp.llm.bedrock.discovery", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


@pytest.fixture
def shared(tmp_path: Path, redis_server):
    caches: list[TieredCache] = []

    def make(host: str, **kwargs) -> TieredCache:
        cache = TieredCache(base_dir=tmp_path / host, redis_url=redis_server.url, **kwargs)
        caches.append(cache)
        return cache

    yield make
    for cache in caches:
        cache.close()


def test_cache_ls_and_info_show_the_shared_tier_and_the_statistics(tmp_path, redis_server, shared):
    cache = shared("a")

    @discovery_cached(key="watch_models:<region>", cache=cache)
    def list_models(region):
        return {"region": region, "models": list(range(50))}

    for region in ("us-east-1", "eu-west-1", "us-east-1", "ap-south-1", "us-east-1"):
        list_models(region)
    cache.set("plain", [1, 2, 3])
    flush_stats()
    base = ["--cache-dir", str(tmp_path / "b"), "--redis-url", redis_server.url]

    rows = json.loads(cli("cache", "ls", "--json", *base).stdout)
    redis_rows = {r["key"]: r for r in rows if r["tier"] == "redis"}
    assert set(redis_rows) == {
        "watch_models:us-east-1", "watch_models:eu-west-1", "watch_models:ap-south-1", "plain",
    }  # fmt: skip
    owner = redis_rows["watch_models:us-east-1"]["owner"]
    assert ".<locals>.list_models" in owner and redis_rows["plain"]["owner"] is None
    assert all(r["size"] > 100 for r in redis_rows.values())
    assert all(3 * 86400 - 120 < r["ttl"] <= 3 * 86400 for r in redis_rows.values())

    table = cli("cache", "ls", *base).stdout
    assert f"shared tier {redis_server.url}: 4 entries" in table
    assert ["KEY", "SIZE", "EXPIRES", "IN", "TTL", "WRITER"] in [
        x.split() for x in table.splitlines()
    ]
    assert "watch_models:eu-west-1" in table and owner in table

    # host a: its own statistics; the fleet's include them
    info = json.loads(cli("cache", "info", "--json", "--by-function", "--cache-dir",
                          str(tmp_path / "a"), "--redis-url", redis_server.url).stdout)  # fmt: skip
    host = info["statistics"]["host"]["last_24h"]
    assert host["misses"] == 3 and host["hits_by_tier"] == {"memory": 2}
    assert host["hit_ratio"] == 2 / 5 and host["upstream_calls"] == 3
    assert info["statistics"]["fleet"]["last_hour"]["misses"] == 3
    assert list(info["statistics"]["host"]["functions"]) == [owner]
    assert info["shared"] == {
        "url": redis_server.url, "entries": 4, "size": info["shared"]["size"], "complete": True
    }  # fmt: skip

    text = cli("cache", "info", "--cache-dir", str(tmp_path / "a"), "--redis-url",
               redis_server.url).stdout  # fmt: skip
    assert "host this hour" in text and "fleet last 24 h" in text
    assert "hit ratio 40.0%, hits 2 (memory 2), misses 3, upstream calls 3 (mean " in text
    assert f"shared tier      {redis_server.url}: 4 entries" in text

    stats = command(redis_server.port, "INFO", "commandstats").decode()
    assert "cmdstat_scan:" in stats and "cmdstat_keys:" not in stats  # SCAN, never KEYS


def test_a_large_shared_tier_is_scanned_within_the_time_given(tmp_path, redis_server, shared):
    cache = shared("a", disk_ttl_days=0, memory_ttl_seconds=0)
    for i in range(1200):
        cache.set(f"k{i}", i)
    base = ["--cache-dir", str(tmp_path / "b"), "--redis-url", redis_server.url]

    cut = cli("cache", "ls", "--json", "--scan-seconds", "0", *base)
    assert cut.returncode == 0, cut.stderr
    assert 500 <= len(json.loads(cut.stdout)) < 1200  # one SCAN batch, then the budget is spent
    assert "SCAN stopped after 0s; more entries remain" in cut.stderr

    info = json.loads(cli("cache", "info", "--json", "--scan-seconds", "0", *base).stdout)
    assert info["shared"]["complete"] is False and info["shared"]["entries"] < 1200
    text = cli("cache", "info", "--scan-seconds", "0", *base).stdout
    assert "(scan stopped early: at least this many)" in text

    whole = json.loads(cli("cache", "info", "--json", *base).stdout)
    assert whole["shared"]["entries"] == 1200 and whole["shared"]["complete"] is True


@pytest.mark.parametrize("args", [("info",), ("info", "--json"), ("ls",), ("ls", "--json")])
def test_a_down_redis_is_one_line_and_exit_1(tmp_path, redis_server, args):
    redis_server.kill()
    done = cli("cache", *args, "--cache-dir", str(tmp_path), "--redis-url", redis_server.url)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"dbp-discovery: error: cannot reach Redis at {redis_server.url}")


def test_fleet_statistics_and_the_shared_tier_on_a_redis_cluster(tmp_path, redis_cluster):
    # 1 s time-outs (and so a 2 s budget per call), as the other cluster tests: the
    # first call also connects to the nodes, TLS handshakes included on a loaded VM.
    cache = TieredCache(
        base_dir=tmp_path / "a",
        redis_url=redis_cluster.url,
        redis_socket_timeout=1.0,
        redis_connect_timeout=1.0,
    )
    try:

        @discovery_cached(key="cluster_models:<region>", cache=cache)
        def list_models(region):
            return [region]

        for region in ("us-east-1", "eu-west-1", "us-west-2", "us-east-1"):
            list_models(region)
        flush_stats()
    finally:
        cache.close()
    base = ["--cache-dir", str(tmp_path / "b"), "--redis-url", redis_cluster.url]
    info = json.loads(cli("cache", "info", "--json", *base).stdout)
    fleet = info["statistics"]["fleet"]["last_24h"]
    assert (fleet["misses"], fleet["hits_by_tier"]) == (3, {"memory": 1})
    assert (info["shared"]["entries"], info["shared"]["complete"]) == (3, True)
    rows = json.loads(cli("cache", "ls", "--json", *base).stdout)
    assert sorted(r["key"] for r in rows if r["tier"] == "redis") == [
        "cluster_models:eu-west-1", "cluster_models:us-east-1", "cluster_models:us-west-2",
    ]  # fmt: skip
