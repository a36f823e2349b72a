"""Single flight across processes: one underlying call per key, and no lock blocks forever.

Processes (fresh interpreters, not threads) coordinate through a per-key lock
file ``<cache_dir>/.locks/<hash>.lock`` held with ``flock`` (via ``filelock``).
Every underlying call appends one line to a counter file with ``O_APPEND``, a
side effect all processes see, so the number of calls is counted exactly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached
from hardening_helpers import record, warnings_matching

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

    base_dir, counter, region, work, go = sys.argv[1:6]
    lock_timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 60.0
    fail = len(sys.argv) > 7 and sys.argv[7] == "fail"
    cache = DiscoveryCache(base_dir=base_dir, lock_timeout=lock_timeout)

    @discovery_cached(key="sf_models:<region>", cache=cache)
    def list_models(region):
        fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{os.getpid()} {region}\\n".encode())
        os.close(fd)
        time.sleep(float(work))  # the slow upstream call
        if fail:
            raise RuntimeError(f"upstream down (call by {os.getpid()})")
        return {"region": region, "by": os.getpid()}

    if go != "-":
        open(go + ".ready." + str(os.getpid()), "w").close()
        while not os.path.exists(go):
            time.sleep(0.001)
    started = time.monotonic()
    try:
        value, error = list_models(region), None
    except Exception as exc:
        value, error = None, f"{type(exc).__name__}: {exc}"
    print(json.dumps({"value": value, "error": error, "info": list_models.cache_info()._asdict(),
                      "seconds": time.monotonic() - started}))
    """
)


def _calls(counter: str) -> list[str]:
    try:
        with open(counter) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the other process"
        time.sleep(0.005)


@pytest.fixture
def worker(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    base_dir = str(tmp_path / "base")
    counter = str(tmp_path / "calls.log")

    def start(
        region: str, work: float, go: str = "-", lock_timeout: float = 60.0, fail: bool = False
    ):
        return subprocess.Popen(
            [
                sys.executable,
                str(script),
                base_dir,
                counter,
                region,
                str(work),
                go,
                str(lock_timeout),
                "fail" if fail else "ok",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    start.base_dir = base_dir
    start.counter = counter
    start.tmp_path = tmp_path
    return start


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


def test_processes_missing_one_key_on_a_cold_cache_make_one_call(worker):
    processes = 6
    go = str(worker.tmp_path / "go")
    procs = [worker("us-east-1", 0.5, go) for _ in range(processes)]
    _wait_for(
        lambda: (
            len([n for n in os.listdir(worker.tmp_path) if n.startswith("go.ready.")]) == processes
        )
    )
    open(go, "w").close()  # all start together
    results = [_result(p) for p in procs]

    calls = _calls(worker.counter)
    assert len(calls) == 1, calls
    leader = int(calls[0].split()[0])
    assert all(r["value"] == {"region": "us-east-1", "by": leader} for r in results)
    infos = [r["info"] for r in results]
    assert sum(i["misses"] for i in infos) == 1
    assert sum(i["disk_hits"] for i in infos) == processes - 1  # read what the leader wrote
    lock_dir = os.path.join(DiscoveryCache(base_dir=worker.base_dir).cache_dir, ".locks")
    assert len(os.listdir(lock_dir)) == 1  # one lock file for the one key
    record("single_flight_processes", processes=processes, underlying_calls=len(calls))


def test_processes_behind_a_failing_call_fail_within_twice_its_duration(worker):
    # Six processes miss one cold key whose call raises after 0.5 s. Without a cache
    # all six fail after 0.5 s; the cache must not make it N times that (it was 3 s:
    # each waiter took the lock in turn and called again).
    processes, work = 6, 0.5
    go = str(worker.tmp_path / "go")
    procs = [worker("us-east-1", work, go, fail=True) for _ in range(processes)]
    _wait_for(
        lambda: (
            len([n for n in os.listdir(worker.tmp_path) if n.startswith("go.ready.")]) == processes
        )
    )
    open(go, "w").close()
    results = [_result(p) for p in procs]

    assert all(r["error"].startswith("RuntimeError: upstream down") for r in results), results
    slowest = max(r["seconds"] for r in results)
    assert slowest < 2 * work + 0.5, slowest  # about twice the call (margin for a loaded host)
    callers = [line.split()[0] for line in _calls(worker.counter)]
    assert len(callers) == len(set(callers)) <= processes  # at most one call per process
    assert [r["info"]["misses"] for r in results] == [1] * processes
    record("failing_call_processes", processes=processes, slowest_seconds=round(slowest, 2))


def test_processes_on_different_keys_do_not_wait_for_each_other(worker):
    slow = worker("eu-west-1", 3.0)
    _wait_for(lambda: len(_calls(worker.counter)) == 1)
    fast = _result(worker("us-west-2", 0.0))
    assert fast["seconds"] < 1.5, fast  # not blocked behind eu-west-1's 3 s call
    slow.kill()
    slow.wait()


def test_a_lock_whose_holder_was_killed_does_not_block(worker, warnings_log):
    holder = worker("ap-south-1", 600.0, lock_timeout=60.0)  # "computes" for ten minutes
    _wait_for(lambda: len(_calls(worker.counter)) == 1)  # it holds the lock now
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    lock_dir = os.path.join(DiscoveryCache(base_dir=worker.base_dir).cache_dir, ".locks")
    assert os.listdir(lock_dir), "the dead holder's lock file stays on disk"

    cache = DiscoveryCache(base_dir=worker.base_dir, lock_timeout=60.0)

    @discovery_cached(key="sf_models:<region>", cache=cache)
    def list_models(region):
        fd = os.open(worker.counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{os.getpid()} {region}\n".encode())
        os.close(fd)
        return {"region": region, "by": os.getpid()}

    started = time.monotonic()
    assert list_models("ap-south-1") == {"region": "ap-south-1", "by": os.getpid()}
    assert time.monotonic() - started < 5.0  # the kernel released the dead holder's flock
    assert len(_calls(worker.counter)) == 2
    assert warnings_matching(warnings_log, "waited") == []


def test_a_live_but_stuck_holder_is_waited_for_at_most_lock_timeout(worker, warnings_log):
    holder = worker("sa-east-1", 600.0)
    _wait_for(lambda: len(_calls(worker.counter)) == 1)
    os.kill(holder.pid, signal.SIGSTOP)  # stuck: alive, holding the lock, doing nothing
    try:
        cache = DiscoveryCache(base_dir=worker.base_dir, lock_timeout=1.0)

        @discovery_cached(key="sf_models:<region>", cache=cache)
        def list_models(region):
            return {"region": region, "by": os.getpid()}

        started = time.monotonic()
        assert list_models("sa-east-1") == {"region": "sa-east-1", "by": os.getpid()}
        waited = time.monotonic() - started
        assert 0.9 <= waited < 5.0, waited
        assert len(warnings_matching(warnings_log, "waited 1s for another process")) == 1
        # The value it computed is stored for everyone.
        assert DiscoveryCache(base_dir=worker.base_dir).get("sf_models:sa-east-1") == {
            "region": "sa-east-1",
            "by": os.getpid(),
        }
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
