"""ElastiCache Serverless's restrictions: nothing the library sends is refused.

Serverless refuses ``KEYS``, ``PSUBSCRIBE``, ``CONFIG``, ``FLUSHALL``, most ``CLIENT``
subcommands and more (see ``redis_server.SERVERLESS_CONFIG``); every Redis test also
runs against a server refusing them ("restricted"). Here a whole fleet scenario
(misses, leases, fenced writes, hits, deletes, owner and full clears, pub/sub
invalidation, scans, cleanup, sync and async) runs against a single node and a
cluster, and the servers' own error counters must stay at zero: a refusal that
redis-py swallows (it ignores a failed ``CLIENT SETINFO``) would show there.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from dbp.cache import MISS, TieredCache, discovery_cached
from fleet_helpers import wait_for
from redis_server import SERVERLESS_CONFIG, RedisServer, command, refused_commands, require_redis


def fleet_scenario(url: str, tmp_path, prefix: str) -> None:
    a, b = (
        TieredCache(
            base_dir=tmp_path / f"host-{name}",
            redis_url=url,
            redis_prefix=prefix,
            redis_socket_timeout=1.0,
            redis_connect_timeout=1.0,
        )
        for name in "ab"
    )
    calls: list[str] = []

    def upstream(region: str) -> dict:
        calls.append(region)
        return {"region": region}

    fa = discovery_cached(key="sl_models:<region>", cache=a)(upstream)
    fb = discovery_cached(key="sl_models:<region>", cache=b)(upstream)

    async def aupstream(region: str) -> dict:
        return upstream(region)

    afb = discovery_cached(key="sl_async:<region>", cache=b)(aupstream)
    for region in ("r1", "r2", "r3"):
        assert fa(region) == fb(region)
    assert calls == ["r1", "r2", "r3"] and fb.cache_info().redis_hits == 3
    assert asyncio.run(afb("r4")) == {"region": "r4"}
    # pub/sub reaches b once it is subscribed (it subscribes in the background)
    wait_for(lambda: a.invalidate("sl_models:r1") >= 0 and b.memory.get("sl_models:r1") is MISS, 5)
    fa.cache_clear()
    assert len(list(a.redis.scan())) >= 1  # the async entry is b's, another owner
    a.cleanup()
    assert a.invalidate() >= 1
    for cache in (a, b):
        cache.close()


def faults_about(caplog, ports: list[int]) -> list[str]:
    """Warnings about these servers (an earlier test's cache may still log about its own)."""
    return [
        r.getMessage()
        for r in caplog.records
        if any(f":{port}/" in r.getMessage() for port in ports)
    ]


def run_on(server: RedisServer, tmp_path, caplog) -> dict[str, int]:
    """The scenario on ``server``: no fault warning; the server's error counts."""
    caplog.set_level(logging.WARNING, logger="dbp.cache")
    fleet_scenario(server.url, tmp_path / str(server.port), "sl:")
    assert faults_about(caplog, [server.port]) == []
    return refused_commands(server.port)


def test_a_fleet_on_a_restricted_single_node_sends_nothing_refused(tmp_path, caplog):
    require_redis()
    plain = RedisServer(tmp_path / "plain").start()
    restricted = RedisServer(tmp_path / "serverless", config=SERVERLESS_CONFIG).start()
    try:
        # redis-py's connection handshake probes features an older server lacks and
        # ignores the errors (CLIENT SETINFO on 7.0): as many on both, and nothing more.
        assert run_on(restricted, tmp_path, caplog) == run_on(plain, tmp_path, caplog)
        assert "NOPERM" not in refused_commands(restricted.port)
        # The server really refuses what Serverless refuses (checked after: refusals count).
        for refused in (("KEYS", "*"), ("CONFIG", "GET", "maxmemory"), ("FLUSHALL",),
                        ("PSUBSCRIBE", "x*"), ("CLIENT", "TRACKING", "on"), ("CLIENT", "LIST")):  # fmt: skip
            assert command(restricted.port, *refused).startswith(b"-"), refused
    finally:
        plain.close()
        restricted.close()


def test_a_fleet_on_a_cluster_sends_nothing_refused(redis_cluster, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="dbp.cache")
    fleet_scenario(redis_cluster.url, tmp_path, f"t{uuid.uuid4().hex[:8]}:")
    ports = [n.port for n in redis_cluster.nodes]
    assert faults_about(caplog, ports) == []  # a refusal would be a fault
    assert all("NOPERM" not in refused_commands(n.port) for n in redis_cluster.nodes)


@pytest.mark.parametrize("name", ["KEYS", "PSUBSCRIBE", "CONFIG", "FLUSHALL", "FLUSHDB"])
def test_the_library_never_names_a_refused_command(name):
    """Belt and braces: no source file spells a command Serverless refuses."""
    import pathlib

    import dbp.cache.stores.redis as package

    for path in pathlib.Path(package.__file__).parent.glob("*.py"):
        code = "\n".join(
            line
            for line in path.read_text().splitlines()
            if not line.lstrip().startswith(("#", '"', "-"))
        )
        assert (
            f"'{name}'" not in code and f'"{name}"' not in code and f".{name.lower()}(" not in code
        ), path
