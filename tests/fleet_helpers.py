"""Helpers of the fleet (Redis tier) end-to-end tests: "hosts" as real processes.

A host is a set of processes sharing one ``base_dir`` (one disk tier, one host file
lock per key); hosts share one real ``redis-server``. Every upstream call appends
one line ``<pid> <host> <region>`` to a counter file with ``O_APPEND``, a side effect
every process sees, so calls are counted exactly across processes and hosts.

``FLEET_WORKER`` is the worker script: its one argument is a JSON object of options
(see ``Fleet.start``); it prints one JSON line with the values it got, its
``cache_info()`` and how long the call took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FLEET_WORKER = textwrap.dedent(
    """
    import asyncio, json, os, sys, time
    from dbp.cache import TieredCache, discovery_cached

    opts = json.loads(sys.argv[1])
    cache = TieredCache(
        base_dir=opts["base_dir"],
        redis_url=opts["redis_url"],
        redis_prefix=opts.get("prefix", "dbp:"),
        redis_lease_seconds=opts.get("lease_seconds", 30.0),
        redis_socket_timeout=1.0,
        redis_connect_timeout=1.0,
        lock_timeout=opts.get("lock_timeout", 60.0),
        disk_ttl_days=opts.get("disk_ttl_days"),
    )

    def upstream(region):
        fd = os.open(opts["counter"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{os.getpid()} {opts['host']} {region}\\n".encode())
        os.close(fd)
        gate = opts.get("gate")
        if gate:  # the slow upstream call lasts until the test opens the gate
            while not os.path.exists(gate):
                time.sleep(0.005)
        if opts.get("fail"):  # the upstream call fails (after "work" seconds)
            raise RuntimeError(f"upstream down (call by {os.getpid()})")
        return {"region": region, "by": os.getpid(), "host": opts["host"]}

    def go():
        go = opts.get("go")
        if go:
            open(go + ".ready." + str(os.getpid()), "w").close()
            while not os.path.exists(go):
                time.sleep(0.001)

    if opts.get("async"):
        @discovery_cached(key="fleet_models:<region>", cache=cache)
        async def list_models(region):
            await asyncio.sleep(opts.get("work", 0.0))
            return upstream(region)

        async def main():
            go()
            started = time.monotonic()
            tasks = [list_models(opts["region"]) for _ in range(opts.get("tasks", 1))]
            values = await asyncio.gather(*tasks, return_exceptions=bool(opts.get("fail")))
            await cache.redis.aclose()
            return values, time.monotonic() - started

        values, seconds = asyncio.run(main())
        errors = [f"{type(v).__name__}: {v}" for v in values if isinstance(v, Exception)]
        values = [v for v in values if not isinstance(v, Exception)]
    else:
        @discovery_cached(key="fleet_models:<region>", cache=cache)
        def list_models(region):
            time.sleep(opts.get("work", 0.0))
            return upstream(region)

        go()
        started = time.monotonic()
        try:
            values, errors = [list_models(opts["region"])], []
        except Exception as exc:
            values, errors = [], [f"{type(exc).__name__}: {exc}"]
        seconds = time.monotonic() - started
    print(json.dumps({"values": values, "errors": errors,
                      "info": list_models.cache_info()._asdict(),
                      "redis_hits": list_models.cache_info().redis_hits, "seconds": seconds}))
    cache.close()
    """
)


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.005)


class Fleet:
    """Start worker processes as hosts sharing one Redis; count their upstream calls."""

    def __init__(self, tmp_path: Path, redis_url: str) -> None:
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        self.script = tmp_path / "fleet_worker.py"
        self.script.write_text(FLEET_WORKER)
        self.counter = str(tmp_path / "calls.log")
        self.go = str(tmp_path / "go")
        self.procs: list[subprocess.Popen[str]] = []

    def base_dir(self, host: str) -> str:
        return str(self.tmp_path / f"host-{host}")

    def start(self, host: str, region: str = "us-east-1", **opts: Any) -> subprocess.Popen[str]:
        """A worker on ``host`` (its own base_dir). Options: ``work`` (seconds slept in the
        call), ``gate`` (a file the call waits for), ``go`` (True: wait for :meth:`release`),
        ``lease_seconds``, ``lock_timeout``, ``disk_ttl_days``, ``async``, ``tasks`` and
        ``fail`` (the call raises after ``work`` seconds; the worker reports ``errors``)."""
        config = {
            "base_dir": self.base_dir(host),
            "redis_url": self.redis_url,
            "counter": self.counter,
            "host": host,
            "region": region,
            **opts,
        }
        if config.get("go") is True:
            config["go"] = self.go
        proc = subprocess.Popen(
            [sys.executable, str(self.script), json.dumps(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def release(self, processes: int) -> None:
        """Wait until ``processes`` workers started with ``go=True`` are ready, then go."""
        wait_for(
            lambda: (
                len([n for n in os.listdir(self.tmp_path) if n.startswith("go.ready.")])
                >= processes
            ),
            what=f"{processes} workers ready",
        )
        Path(self.go).touch()

    def calls(self) -> list[list[str]]:
        """``[pid, host, region]`` of every upstream call so far."""
        try:
            with open(self.counter) as f:
                return [line.split() for line in f.read().splitlines()]
        except FileNotFoundError:
            return []

    @staticmethod
    def result(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-3000:]
        return dict(json.loads(out.strip().splitlines()[-1]))

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def open_gate(path: str) -> None:
    Path(path).touch()
