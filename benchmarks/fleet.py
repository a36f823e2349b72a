"""The fleet (Redis) tier: a Redis hit against a disk hit and dogpile.cache's Redis backend,
and the cross-host stampede figure.

The group starts its own ``redis-server`` on a free port (no persistence) and stops it at
the end; without the binary it is skipped with a note. Every contender reads the same
payload from the same server.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from common import Config, Row, compare
from harness import KEY, check, check_payload, counting, measure
from payloads import list_foundation_models_response
from redis_parts import breakdown_loops, breakdown_rows
from timing import make_loop

__all__ = ["fleet"]

SKIP_NOTE = "redis-server (Debian package redis-server) or redis-py not found: fleet group skipped"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(folder: str) -> Iterator[str]:
    """A private redis-server on a free port; yields its URL."""
    port = _free_port()
    os.makedirs(folder, exist_ok=True)
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", folder]
    with open(os.path.join(folder, "redis.log"), "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)


# -- Redis hit, memory cold ----------------------------------------------------------------
def _redis_hit(config: Config, folder: str, url: str) -> tuple[list[Row], dict[str, Any]]:
    import orjson
    import redis
    from dogpile.cache import make_region

    from dbp.llm.bedrock.discovery import DiscoveryCache

    payload = list_foundation_models_response(100)
    writer = DiscoveryCache(base_dir=os.path.join(folder, "writer"), redis_url=url)
    writer.set(KEY, payload)

    def make_reader(name: str = "reader") -> DiscoveryCache:
        """The reading host: no memory tier, no disk tier: every get reads and decodes
        from Redis."""
        return DiscoveryCache(
            base_dir=os.path.join(folder, name),
            redis_url=url,
            max_memory_entries=0,
            disk_ttl_days=0,
            redis_socket_timeout=1.0,
        )

    reader = make_reader()
    disk = DiscoveryCache(base_dir=writer.base_dir, max_memory_entries=0)  # local disk hit
    region = make_region().configure(
        "dogpile.cache.redis",
        expiration_time=3600,
        arguments={"url": url, "redis_expiration_time": 7200},
    )
    region.set(KEY, payload)
    raw = redis.Redis.from_url(url)
    assert reader.redis is not None
    name = reader.redis.namer.names(KEY).entry
    stored = raw.get(name)
    check(isinstance(stored, bytes), "our Redis entry is missing")
    body = stored[stored.index(b"\n") + 1 :]

    redis_reads = counting(reader.redis, "get")
    for who, cache in (("ours redis hit", reader), ("ours disk hit", disk)):
        for _ in range(5):
            check_payload(cache.get(KEY), payload, who)
    check_payload(region.get(KEY), payload, "dogpile.cache.redis")
    check(redis_reads[0] == 5, f"{redis_reads[0]} of 5 reader gets read Redis")
    del reader.redis.get
    check(len(reader.memory) == 0, "the Redis reader kept a memory entry")
    check(not os.path.exists(reader.cache_dir), "the Redis reader wrote disk files")

    loops = {
        "ours_redis": make_loop("g(k)", {"g": reader.get, "k": KEY}),
        "ours_disk": make_loop("g(k)", {"g": disk.get, "k": KEY}),
        "dogpile_redis": make_loop("g(k)", {"g": region.get, "k": KEY}),
        "redis_get": make_loop("g(k)", {"g": raw.get, "k": name}),
        "redis_get_orjson": make_loop(  # GET the stored value, parse its body
            "loads(memoryview(g(k))[o:])",
            {"g": raw.get, "k": name, "loads": orjson.loads, "o": len(stored) - len(body)},
        ),
    }
    parts, closing = breakdown_loops(
        url, name, stored, lambda: make_reader("reader-python-parser"), payload
    )
    loops.update(parts)
    hits_before = reader.hits
    med, numbers = measure(config, loops, cap=max(3, config.iterations // 20))
    check(reader.hits > hits_before and reader.misses == 0, "timed reader gets were not hits")
    check(len(reader.memory) == 0, "reader memory filled during timing")
    for closable in (writer, reader, disk, raw, *closing):
        closable.close()

    label = "Redis hit, memory and disk cold (100 models, datetimes)"
    rows = [
        compare(
            "fleet.redis_hit.vs_dogpile_redis",
            f"{label} vs dogpile.cache.redis get",
            med["ours_redis"],
            "dogpile.cache.redis get",
            med["dogpile_redis"],
            limit=1.0,
            notes="same server, same payload; dogpile unpickles",
        ),
        compare(
            "fleet.redis_hit.vs_disk_hit",
            f"{label} vs our local disk hit",
            med["ours_redis"],
            "ours, disk hit",
            med["ours_disk"],
            notes="loopback Redis; over a network add the round trip",
        ),
        compare(
            "fleet.redis_hit.vs_redis_get_orjson",
            "where the time goes: vs redis-py GET + orjson.loads of the body",
            med["ours_redis"],
            "redis-py GET + orjson.loads",
            med["redis_get_orjson"],
        ),
        compare(
            "fleet.redis_hit.vs_redis_get",
            "where the time goes: vs a bare redis-py GET of the same bytes",
            med["ours_redis"],
            "redis-py GET",
            med["redis_get"],
            notes=f"stored value {len(stored)} bytes",
        ),
        *breakdown_rows(med),
    ]
    return rows, {"median_ns": med, "batch_sizes": numbers, "stored_bytes": len(stored)}


# -- the fleet stampede ---------------------------------------------------------------------
STAMPEDE_WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

    base_dir, url, counter, go, keys, delay = sys.argv[1:7]
    cache = DiscoveryCache(base_dir=base_dir, redis_url=url or None,
                           redis_socket_timeout=1.0, redis_connect_timeout=1.0)

    @discovery_cached(key="stampede:<key>", cache=cache)
    def list_models(key):
        fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, (key + "\\n").encode())
        os.close(fd)
        time.sleep(float(delay))
        return {"key": key}

    list_models("warm-up")  # connect first: the stampede starts with everyone ready
    open(go + ".ready." + str(os.getpid()), "w").close()
    while not os.path.exists(go):
        time.sleep(0.001)
    started = time.monotonic()
    for key in keys.split(","):
        assert list_models(key) == {"key": key}
    print(json.dumps({"seconds": time.monotonic() - started}))
    cache.close()
    """
)


def _stampede(folder: str, url: str, processes: int, keys: list[str], delay: float) -> dict:
    """``processes`` workers on 2 hosts miss ``keys`` at once: calls per key, wall time."""
    os.makedirs(folder)
    script = os.path.join(folder, "worker.py")
    with open(script, "w") as f:
        f.write(STAMPEDE_WORKER)
    counter, go = os.path.join(folder, "calls"), os.path.join(folder, "go")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                script,
                os.path.join(folder, f"host-{i % 2}"),
                url,
                counter,
                go,
                ",".join(keys),
                str(delay),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    deadline = time.monotonic() + 120
    while len([n for n in os.listdir(folder) if n.startswith("go.ready.")]) < processes:
        check(time.monotonic() < deadline, "stampede workers did not start")
        check(all(p.poll() is None for p in procs), "a stampede worker died at start")
        time.sleep(0.01)
    open(go, "w").close()
    seconds = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        check(proc.returncode == 0, f"stampede worker failed: {err[-2000:]}")
        seconds.append(json.loads(out)["seconds"])
    with open(counter) as f:
        lines = f.read().splitlines()
    per_key = {key: lines.count(key) for key in keys}
    return {"calls_per_key": per_key, "worst": max(per_key.values()), "seconds": max(seconds)}


def _fleet_stampede(config: Config, folder: str, url: str) -> tuple[list[Row], dict[str, Any]]:
    processes, delay = 8, 0.05
    keys = [f"k{i}" for i in range(1 if config.quick else 3)]
    ours = _stampede(os.path.join(folder, "redis"), url, processes, keys, delay)
    alone = _stampede(os.path.join(folder, "no-redis"), "", processes, keys, delay)
    row = Row(
        name="fleet.stampede_8_processes_2_hosts.vs_no_fleet_tier",
        group="fleet",
        label=(
            f"cold stampede, {processes} processes on 2 hosts, 50 ms call: "
            "calls per key vs memory + disk only"
        ),
        ours=float(ours["worst"]),
        peer="memory + disk only (no Redis)",
        peer_value=float(alone["worst"]),
        ratio=round(ours["worst"] / max(alone["worst"], 1), 3),
        target="ours: 1 call",
        status="PASS" if ours["worst"] == 1 else "MISS",
        unit="calls",
        ours_text=f"{ours['worst']} call(s), {ours['seconds'] * 1000:.0f} ms",
        peer_text=f"{alone['worst']} call(s), {alone['seconds'] * 1000:.0f} ms",
        notes=f"worst of {len(keys)} key(s); ms = slowest process, all keys",
    )
    return [row], {"redis": ours, "no_redis": alone, "processes": processes}


def fleet(config: Config, folder: str) -> tuple[list[Row], dict[str, Any]]:
    missing = shutil.which("redis-server") is None
    try:
        import redis  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        print(SKIP_NOTE, file=sys.stderr)
        return [], {"skipped": SKIP_NOTE}
    with redis_server(os.path.join(folder, "redis")) as url:
        rows, details = _redis_hit(config, os.path.join(folder, "hit"), url)
        stampede_rows, stampede = _fleet_stampede(config, os.path.join(folder, "stampede"), url)
    return rows + stampede_rows, {"redis_hit": details, "stampede": stampede}
