"""A fleet clear reaches the hosts that were down, stopped or cut off when it happened.

Hosts are real processes (a host is a cache folder; each run is a process) sharing
one real redis-server; a partitioned host reaches Redis through a TCP proxy that
can freeze its traffic while the others clear. Every upstream call appends a line
to a counter file, so calls are counted across processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from fleet_helpers import wait_for
from redis_server import command
from tcp_proxy import TcpProxy

HOST_WORKER = textwrap.dedent(
    """
    import json, os, sys
    from dbp.cache import TieredCache, discovery_cached

    opts = json.loads(sys.argv[1])
    cache = TieredCache(base_dir=opts["base_dir"], redis_url=opts["redis_url"],
                        redis_socket_timeout=0.5, redis_connect_timeout=0.5)

    @discovery_cached(key="fleet_models:<region>", cache=cache)
    def list_models(region):
        fd = os.open(opts["counter"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{opts['host']} {region}\\n".encode())
        os.close(fd)
        return {"region": region, "host": opts["host"], "pid": os.getpid()}

    def call(region):
        before = list_models.cache_info()
        value = list_models(region)
        after = list_models.cache_info()
        tiers = {"memory": after.memory_hits - before.memory_hits,
                 "disk": after.disk_hits - before.disk_hits,
                 "redis": after.redis_hits - before.redis_hits,
                 "call": after.misses - before.misses}
        return {"value": value, "by": [t for t, n in tiers.items() if n][0]}

    def run(line):
        verb, _, arg = line.partition(" ")
        if verb == "call":
            return call(arg)
        if verb == "cache_clear":
            list_models.cache_clear()
            return {}
        if verb == "invalidate":
            return {"removed": cache.invalidate(arg or None)}
        if verb == "invalidate_matching":
            return {"removed": cache.invalidate_matching(arg)}
        raise ValueError(line)

    for line in opts.get("commands") or iter(sys.stdin.readline, ""):
        print(json.dumps(run(line.strip())), flush=True)
    cache.close()
    """
)


class Hosts:
    """Run commands as short-lived host processes, or keep one host process serving."""

    def __init__(self, tmp_path: Path, redis_url: str) -> None:
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        self.script = tmp_path / "host_worker.py"
        self.script.write_text(HOST_WORKER)
        self.counter = tmp_path / "calls.log"
        self.serving: list[subprocess.Popen[str]] = []

    def options(self, host: str, url: str | None, commands: list[str] | None) -> str:
        return json.dumps({
            "base_dir": str(self.tmp_path / f"host-{host}"),
            "redis_url": url or self.redis_url,
            "counter": str(self.counter),
            "host": host,
            "commands": commands,
        })  # fmt: skip

    def run(self, host: str, *commands: str, url: str | None = None) -> list[dict[str, Any]]:
        """A process on ``host`` runs ``commands`` and exits (a CLI run, a cron job)."""
        done = subprocess.run(
            [sys.executable, str(self.script), self.options(host, url, list(commands))],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return [json.loads(line) for line in done.stdout.splitlines()]

    def serve(self, host: str, url: str | None = None) -> subprocess.Popen[str]:
        """A long-running process on ``host``; send it commands with :meth:`ask`."""
        proc = subprocess.Popen(
            [sys.executable, str(self.script), self.options(host, url, None)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.serving.append(proc)
        return proc

    @staticmethod
    def ask(proc: subprocess.Popen[str], line: str) -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        answer = proc.stdout.readline()
        assert answer, proc.stderr.read() if proc.stderr else "worker died"
        return dict(json.loads(answer))

    def calls(self) -> list[str]:
        try:
            return self.counter.read_text().splitlines()
        except FileNotFoundError:
            return []

    def close(self) -> None:
        for proc in self.serving:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


@pytest.fixture
def hosts(tmp_path, redis_server):
    made = Hosts(tmp_path, redis_server.url)
    yield made
    made.close()


def subscribers(port: int) -> int:
    reply = command(port, "PUBSUB", "NUMSUB", "dbp:invalidate")
    return int(reply.split(b"\r\n")[-2].lstrip(b":"))


def cli(tmp_path: Path, host: str, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["-m", "dbp.llm.bedrock.discovery", "--redis-url", redis_url, *args]
    env = {**os.environ, "DBP_CACHE_DIR": str(tmp_path / f"host-{host}")}
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=60, env=env
    )


# -- a host that was down during the clear ------------------------------------------------
CLEARS = {
    "cache_clear": lambda hosts, tmp_path, url: hosts.run("b", "cache_clear"),
    "invalidate": lambda hosts, tmp_path, url: hosts.run("b", "invalidate fleet_models:us-east-1"),
    "invalidate all": lambda hosts, tmp_path, url: hosts.run("b", "invalidate "),
    "cli cache clear": lambda hosts, tmp_path, url: cli(tmp_path, "b", url, "cache", "clear"),
    "cli cache clear key": lambda hosts, tmp_path, url: cli(
        tmp_path, "b", url, "cache", "clear", "fleet_models:us-east-1"
    ),
    "cli cache clear glob": lambda hosts, tmp_path, url: cli(
        tmp_path, "b", url, "cache", "clear", "fleet_models:*"
    ),
}


@pytest.mark.parametrize("clear", list(CLEARS))
def test_a_host_that_was_down_during_a_clear_misses_when_it_starts_again(
    hosts, tmp_path, redis_server, clear
):
    [filled] = hosts.run("a", "call us-east-1")
    assert filled["by"] == "call"
    [again] = hosts.run("a", "call us-east-1")
    assert again["by"] == "disk"  # host a's next process reads its own disk
    CLEARS[clear](hosts, tmp_path, redis_server.url)  # host b clears while a is down
    after = hosts.run("a", "call us-east-1", "call us-east-1")
    # Not the pre-clear copy from a's disk; the new value is cached as usual.
    assert [r["by"] for r in after] == ["call", "memory"]
    assert hosts.calls() == ["a us-east-1", "a us-east-1"]
    [later] = hosts.run("a", "call us-east-1")
    assert later["by"] == "disk"  # and kept: the host now knows the clear


def test_a_host_that_missed_no_clear_keeps_its_disk_copies(hosts):
    hosts.run("a", "call us-east-1")
    hosts.run("b", "call eu-west-1")  # other hosts' work is no clear
    [again] = hosts.run("a", "call us-east-1")
    assert again["by"] == "disk"
    assert hosts.calls() == ["a us-east-1", "b eu-west-1"]


def test_redis_restarted_empty_then_a_clear_the_host_still_misses(hosts, redis_server):
    hosts.run("a", "call us-east-1")
    redis_server.restart()  # every generation gone, then a clear on a fresh Redis
    hosts.run("b", "cache_clear")
    [after] = hosts.run("a", "call us-east-1")
    assert after["by"] == "call"
    # And with no clear after the restart: a's copies are older than anything Redis
    # knows of, so they are dropped once (a read of Redis would have served them).
    hosts.run("a", "call eu-west-1")
    redis_server.restart()
    [dropped] = hosts.run("a", "call eu-west-1")
    assert dropped["by"] == "call"


def test_the_cli_on_a_host_that_missed_a_clear_calls_aws_again(
    tmp_path, redis_server, fake_bedrock, aws_env
):
    def run(host: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **aws_env, "DBP_CACHE_DIR": str(tmp_path / host)}
        env.pop("DBP_REDIS_URL", None)
        argv = ["-m", "dbp.llm.bedrock.discovery", "--endpoint-url", fake_bedrock.url]
        argv += ["--redis-url", redis_server.url, *args]
        return subprocess.run(
            [sys.executable, *argv], capture_output=True, text=True, env=env, timeout=60
        )

    first = run("host-a", "models", "--region", "us-east-1", "-v")
    assert first.returncode == 0 and "1 API call(s)" in first.stderr, first.stderr
    warm = run("host-a", "models", "--region", "us-east-1", "-v")
    assert "0 API call(s)" in warm.stderr
    cleared = run("host-b", "cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    after = run("host-a", "models", "--region", "us-east-1", "-v")
    assert after.returncode == 0, after.stderr
    assert "1 API call(s)" in after.stderr
    assert fake_bedrock.count(operation="ListFoundationModels") == 2


def test_cache_ls_on_a_host_that_missed_a_clear_lists_no_pre_clear_entry(
    tmp_path, hosts, redis_server
):
    hosts.run("a", "call us-east-1")
    listed = cli(tmp_path, "a", redis_server.url, "cache", "ls")
    assert "fleet_models:us-east-1" in listed.stdout
    hosts.run("b", "cache_clear")
    listed = cli(tmp_path, "a", redis_server.url, "cache", "ls")
    assert listed.returncode == 0, listed.stderr
    assert "fleet_models:us-east-1" not in listed.stdout


# -- a host that was cut off during the clear -------------------------------------------------
@pytest.fixture
def proxy(redis_server):
    made = TcpProxy(redis_server.port)
    yield made
    made.close()


def assert_drops_its_copy(hosts, a) -> None:
    """Host ``a``, back in touch with Redis, stops serving its pre-clear copy and calls."""
    deadline = time.monotonic() + 15
    while (answer := hosts.ask(a, "call us-east-1"))["by"] == "memory":
        assert time.monotonic() < deadline, "host a still serves its pre-clear copy"
        time.sleep(0.05)
    assert answer["by"] == "call"
    assert hosts.calls() == ["a us-east-1", "a us-east-1"]


@pytest.mark.parametrize("heal", ["thaw", "cut"])
def test_a_partitioned_host_drops_its_copies_when_it_reconnects(hosts, redis_server, proxy, heal):
    a = hosts.serve("a", url=proxy.url)
    assert hosts.ask(a, "call us-east-1")["by"] == "call"
    wait_for(lambda: subscribers(redis_server.port) == 1, 10, "host a's subscription")
    proxy.freeze()  # host a is cut off from Redis; the others are not
    hosts.run("b", "cache_clear")
    # While cut off, a keeps serving its local copy (it cannot know better) ...
    assert hosts.ask(a, "call us-east-1")["by"] == "memory"
    if heal == "cut":  # ... the partition outlasts a's connections ...
        proxy.cut()
    proxy.thaw()
    # ... and once it reaches Redis again, it drops it.
    assert_drops_its_copy(hosts, a)


def test_a_host_started_while_cut_off_serves_its_copies_then_drops_them(hosts, redis_server, proxy):
    hosts.run("a", "call us-east-1", url=proxy.url)
    proxy.freeze()
    hosts.run("b", "cache_clear")
    a = hosts.serve("a", url=proxy.url)  # starts while it cannot reach Redis
    started = time.monotonic()
    assert hosts.ask(a, "call us-east-1")["by"] == "disk"  # all it has; it cannot know better
    assert time.monotonic() - started < 3  # the check failed within its budget
    proxy.thaw()
    assert_drops_its_copy(hosts, a)


def test_a_reconnection_without_a_clear_keeps_the_local_copies(hosts, redis_server, proxy):
    a = hosts.serve("a", url=proxy.url)
    assert hosts.ask(a, "call us-east-1")["by"] == "call"
    wait_for(lambda: subscribers(redis_server.port) == 1, 10, "host a's subscription")
    proxy.cut()  # a's connections drop; nothing is cleared meanwhile
    wait_for(lambda: subscribers(redis_server.port) == 0, 10, "the lost subscription")
    wait_for(lambda: subscribers(redis_server.port) == 1, 10, "host a's new subscription")
    time.sleep(0.2)  # the resubscribed host has checked the generation by now
    assert hosts.ask(a, "call us-east-1")["by"] == "memory"  # not re-read from Redis
    assert hosts.calls() == ["a us-east-1"]


# -- glob clears -----------------------------------------------------------------------------
def test_a_glob_clear_reaches_redis_and_every_hosts_local_copies(tmp_path, hosts, redis_server):
    a = hosts.serve("a")
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        assert hosts.ask(a, f"call {region}")["by"] == "call"
    wait_for(lambda: subscribers(redis_server.port) == 1, 10, "host a's subscription")
    hosts.run("d", "call us-east-1", "call eu-west-1")  # host d: Redis hits, then it stops
    # Host c has no local copy at all: the entries are in Redis.
    done = cli(tmp_path, "c", redis_server.url, "cache", "clear", "fleet_models:us-*")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "removed 2 entries\n"
    # The running host drops its matching copies within a second; keeps the others.
    deadline = time.monotonic() + 5
    while hosts.ask(a, "call us-west-2")["by"] == "memory":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert hosts.ask(a, "call us-east-1")["by"] == "call"
    assert hosts.ask(a, "call eu-west-1")["by"] == "memory"
    # The stopped host misses the matching key and still finds the other in Redis.
    assert [r["by"] for r in hosts.run("d", "call us-east-1", "call eu-west-1")] == [
        "redis",
        "redis",
    ]
    calls = hosts.calls()
    assert calls.count("a us-east-1") == 2 and calls.count("a us-west-2") == 2
    assert calls.count("a eu-west-1") == 1 and not [c for c in calls if c.startswith("d ")]


def test_invalidate_matching_from_code_clears_every_tier(hosts, redis_server):
    hosts.run("a", "call us-east-1", "call eu-west-1")
    [removed] = hosts.run("a", "invalidate_matching fleet_models:us-*")
    assert removed == {"removed": 1}
    assert [r["by"] for r in hosts.run("b", "call us-east-1", "call eu-west-1")] == [
        "call",
        "redis",
    ]


# -- the follower's rules, one event at a time -------------------------------------------------
class Drops:
    def __init__(self) -> None:
        self.seen: list[tuple[str | None, str | None, str | None]] = []
        self.fail = False

    def __call__(self, cleared) -> None:
        if self.fail:
            raise OSError("disk gone")
        self.seen.append(tuple(cleared))


def test_the_follower_drops_everything_exactly_when_a_clear_went_unheard(tmp_path):
    import logging

    from dbp.cache.fleet import GenerationFile
    from dbp.cache.stores.cleared import Cleared
    from dbp.cache.stores.redis.generation import Follower

    everything = (None, None, None)
    marker = GenerationFile(str(tmp_path / "cache"), "redis://h:1/0 dbp:", logging.getLogger("t"))
    drops = Drops()
    follower = Follower(drops, marker, logging.getLogger("t"))
    follower.connected("T0")  # no generation recorded yet: the host's copies are unknown
    assert drops.seen == [everything] and marker.read() == "T0" and not follower.pending
    follower.cleared(Cleared(key="k"), "T0", "T1")  # the next link of the chain
    assert drops.seen[1:] == [("k", None, None)]
    follower.cleared(Cleared(owner="f"), "T5", "T6")  # T1 -> T5 was never heard of
    assert drops.seen[2:] == [(None, "f", None), everything]
    follower.cleared(Cleared(match="m:*"), None, "T7")  # Redis had lost the generation
    assert drops.seen[4:] == [(None, None, "m:*"), everything]
    follower.cleared(Cleared(key="x"), "T7", "T8", here=True)  # our own clear: nothing to do
    assert drops.seen[6:] == [] and marker.read() == "T8"
    follower.disconnected()
    assert follower.pending
    follower.connected("T8")  # reconnected, nothing missed
    assert drops.seen[6:] == []
    # A new process on the host starts from the marker.
    restarted = Follower(drops, marker, logging.getLogger("t"))
    restarted.connected("T8")
    assert drops.seen[6:] == []
    restarted.connected("T9")  # a clear while it was away
    assert drops.seen[6:] == [everything]
    # A drop that fails leaves no generation trusted: the next check drops again.
    drops.fail = True
    restarted.cleared(Cleared(key="y"), "T9", "T10")
    drops.fail = False
    assert marker.read() is None
    restarted.connected("T10")
    assert drops.seen[7:] == [everything]


def test_hits_cost_no_redis_call_a_start_costs_one_check(tmp_path, redis_server):
    from dbp.cache import TieredCache

    def stats() -> dict[str, int]:
        reply = command(redis_server.port, "INFO", "commandstats").decode()
        return {
            line.split(":")[0][len("cmdstat_") :]: int(line.split("calls=")[1].split(",")[0])
            for line in reply.splitlines()
            if line.startswith("cmdstat_")
        }

    def build() -> TieredCache:
        return TieredCache(tmp_path / "host", redis_url=redis_server.url)

    warm = build()
    for i in range(10):
        warm.set(f"k{i}", i)
    warm.close()
    before = stats()
    cache = build()  # a new process on the same host
    try:
        for _ in range(100):
            assert [cache.get(f"k{i}") for i in range(10)] == list(range(10))

        def checks() -> int:
            now = stats()
            return sum(now.get(k, 0) - before.get(k, 0) for k in ("evalsha", "eval"))

        # The listener checks once subscribed (late under load: wait, then look again).
        wait_for(lambda: checks() >= 2, 10, "the listener's generation check")
        time.sleep(0.3)
        spent = {k: n - before.get(k, 0) for k, n in stats().items()}
    finally:
        cache.close()
    # One generation check on the first disk read; one by the listener once subscribed.
    assert spent.get("evalsha", 0) + spent.get("eval", 0) == 2, spent
    # 1000 hits (disk, then memory) read no entry: the only GETs are the two checks'.
    assert spent.get("get", 0) == 2, spent
