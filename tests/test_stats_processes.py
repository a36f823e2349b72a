"""Statistics across processes and hosts, with real processes and a real redis-server.

Two "hosts" (two cache folders) run several worker processes each, all on one Redis;
each worker does known work and prints its own ``cache_info()``. What
``dbp-discovery cache info --json`` reports for a host is the sum of its workers' counts,
and for the fleet the sum of every worker's: within one flush interval while they run,
exactly once they have exited. A killed worker loses at most its last interval.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from dbp.cache.metrics.counts import report
from dbp.cache.metrics.host import read_host
from fleet_helpers import wait_for

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from dbp.cache import TieredCache, discovery_cached
    from dbp.cache.metrics import flush_stats

    opts = json.loads(sys.argv[1])
    cache = TieredCache(base_dir=opts["base_dir"], redis_url=opts["redis_url"],
                        redis_socket_timeout=1.0, redis_connect_timeout=1.0)

    @discovery_cached(key="stats_models:<region>", cache=cache)
    def list_models(region):
        time.sleep(0.002)
        if region == "broken":
            raise ValueError("no such region")
        return {"region": region}

    def work(regions):
        for region in regions:
            try:
                list_models(region)
            except ValueError:
                pass

    def info():
        i = list_models.cache_info()
        return {"tiers": {**i.tier_hits, "flight": i.flight_hits}, "misses": i.misses,
                "stale": i.stale_hits}

    work(opts["regions"])
    if opts.get("flush_then"):  # flush now, then more work that no flush will carry
        flush_stats()
        print(json.dumps(info()), flush=True)
        work(opts["flush_then"])
    print(json.dumps(info()), flush=True)
    while not os.path.exists(opts["stop"]):
        time.sleep(0.01)
    """
)


def cli_info(base_dir: Path, redis_url: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "dbp.llm.bedrock.discovery", "cache", "info", "--json",
         "--by-function", "--cache-dir", str(base_dir), "--redis-url", redis_url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def figures(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "tiers": {t: n for t, n in summary["hits_by_tier"].items() if n},
        "misses": summary["misses"],
        "stale": summary["stale_served"],
    }


def total(infos: list[dict[str, Any]]) -> dict[str, Any]:
    tiers: dict[str, int] = {}
    for info in infos:
        for tier, n in info["tiers"].items():
            if n:
                tiers[tier] = tiers.get(tier, 0) + n
    return {
        "tiers": tiers,
        "misses": sum(i["misses"] for i in infos),
        "stale": sum(i["stale"] for i in infos),
    }


class Workers:
    def __init__(self, tmp_path: Path, redis_url: str, interval: float) -> None:
        self.tmp_path, self.redis_url, self.interval = tmp_path, redis_url, interval
        self.stop = tmp_path / "stop"
        self.procs: list[tuple[str, subprocess.Popen[str]]] = []

    def base_dir(self, host: str) -> Path:
        return self.tmp_path / f"host-{host}"

    def start(self, host: str, regions: list[str], **opts: Any) -> subprocess.Popen[str]:
        config = {"base_dir": str(self.base_dir(host)), "redis_url": self.redis_url,
                  "regions": regions, "stop": str(self.stop), **opts}  # fmt: skip
        env = {**os.environ, "DBP_STATS_INTERVAL": str(self.interval)}
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(config)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self.procs.append((host, proc))
        return proc

    @staticmethod
    def line(proc: subprocess.Popen[str]) -> dict[str, Any]:
        assert proc.stdout is not None
        text = proc.stdout.readline()
        assert text, proc.stderr.read() if proc.stderr else "worker died"
        return dict(json.loads(text))

    def close(self) -> None:
        self.stop.touch()
        for _, proc in self.procs:
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def test_host_and_fleet_figures_are_the_sums_of_what_each_process_did(tmp_path, redis_server):
    interval = 0.3
    workers = Workers(tmp_path, redis_server.url, interval)
    plans = {
        "a": [["r1", "r2", "r1", "r1"], ["r2", "r3", "broken", "r3"], ["r1"] * 6],
        "b": [["r1", "r4", "r4"], ["broken", "broken", "r2"], ["r5", "r1", "r5", "r5", "r5"]],
    }
    try:
        started = [
            (h, workers.start(h, plan)) for h, host_plans in plans.items() for plan in host_plans
        ]
        infos = {h: [] for h in plans}
        for host, proc in started:
            infos[host].append(workers.line(proc))
        expected = {h: total(i) for h, i in infos.items()}
        expected_fleet = total([i for host_infos in infos.values() for i in host_infos])
        assert expected_fleet["misses"] >= 5 and expected_fleet["tiers"].get("redis", 0) >= 1

        # While the workers are alive: within a flush interval (a loaded machine gets margin).
        def settled() -> bool:
            report = cli_info(workers.base_dir("a"), redis_server.url)["statistics"]
            return (
                figures(report["host"]["last_24h"]) == expected["a"]
                and figures(report["fleet"]["last_24h"]) == expected_fleet
            )

        wait_for(settled, timeout=interval * 30, what="host and fleet figures")
        report_b = cli_info(workers.base_dir("b"), redis_server.url)["statistics"]
        assert figures(report_b["host"]["last_24h"]) == expected["b"]
    finally:
        workers.close()

    # After they exit (their last flush at exit adds nothing twice): exact.
    for host in plans:
        info = cli_info(workers.base_dir(host), redis_server.url)
        stats = info["statistics"]
        assert figures(stats["host"]["last_24h"]) == expected[host]
        assert figures(stats["host"]["last_hour"])["misses"] <= expected[host]["misses"]
        assert figures(stats["fleet"]["last_24h"]) == expected_fleet
        function = "__main__.list_models"
        assert figures(stats["fleet"]["functions"][function]["last_24h"]) == expected_fleet
        fleet = stats["fleet"]["last_24h"]
        assert fleet["upstream_calls"] == expected_fleet["misses"]
        assert fleet["upstream_errors"] == 3  # "broken" failed once on host a, twice on host b
        assert fleet["upstream_errors_by_type"] == {"ValueError": 3}
        assert fleet["upstream_mean_seconds"] >= 0.002
        hits = sum(expected_fleet["tiers"].values())
        assert fleet["hit_ratio"] == hits / (hits + expected_fleet["misses"])
        assert info["shared"]["entries"] == 5 and info["shared"]["complete"]

    # One small private file per process on each host.
    for host in plans:
        folder = workers.base_dir(host) / "cache" / ".stats"
        files = sorted(folder.iterdir())
        assert len(files) == 3
        assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
        assert folder.stat().st_mode & 0o777 == 0o700


def test_a_killed_process_loses_at_most_its_last_interval(tmp_path, redis_server):
    # No periodic flush in this worker: it flushes once, does more work, and is killed.
    workers = Workers(tmp_path, redis_server.url, interval=3600)
    try:
        proc = workers.start("a", ["r1", "r1", "r2"], flush_then=["r3", "r3", "r3", "r1"])
        flushed, unflushed = workers.line(proc), workers.line(proc)
        assert unflushed != flushed  # the work after the flush was counted in the process
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        stats = cli_info(workers.base_dir("a"), redis_server.url)["statistics"]
        assert figures(stats["host"]["last_24h"]) == total([flushed])
        assert figures(stats["fleet"]["last_24h"]) == total([flushed])
    finally:
        workers.close()


def test_a_flush_to_a_dead_redis_is_dropped_without_slowing_calls(tmp_path, redis_server):
    workers = Workers(tmp_path, redis_server.url, interval=0.2)
    try:
        redis_server.kill()
        began = time.monotonic()
        proc = workers.start("a", ["r1", "r1", "r2"])
        info = workers.line(proc)
        assert info["misses"] == 2
        # The host's own record still works; the fleet's flushes were dropped, not queued.
        host_folder = str(workers.base_dir("a") / "cache")
        wait_for(
            lambda: (
                figures(report(read_host(host_folder), time.time())["last_24h"]) == total([info])
            ),
            timeout=10,
            what="the host file",
        )
        redis_server.restart()
        workers.close()
        assert time.monotonic() - began < 30
        stats = cli_info(workers.base_dir("a"), redis_server.url)["statistics"]
        # Counts made while Redis was down are lost for the fleet (never retried in a loop),
        # and the worker's exit did not re-send them either.
        assert figures(stats["fleet"]["last_24h"])["misses"] == 0
        assert figures(stats["host"]["last_24h"]) == total([info])
    finally:
        workers.close()


def test_a_new_process_takes_over_the_files_of_dead_ones(tmp_path, redis_server):
    workers = Workers(tmp_path, redis_server.url, interval=3600)  # they flush at exit only
    workers.stop.touch()  # each exits once its work is done
    infos = []
    for regions in (["r1", "r1"], ["r2", "r1"], ["r3"], ["r3", "r3", "r4"]):
        proc = workers.start("a", regions)
        infos.append(workers.line(proc))
        assert proc.wait(timeout=60) == 0
    folder = workers.base_dir("a") / "cache" / ".stats"
    assert len(list(folder.iterdir())) == 1  # one file however many processes have come and gone
    stats = cli_info(workers.base_dir("a"), redis_server.url)["statistics"]
    assert figures(stats["host"]["last_24h"]) == total(infos)
    assert figures(stats["fleet"]["last_24h"]) == total(infos)
