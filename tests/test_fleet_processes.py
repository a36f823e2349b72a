"""The fleet tier end to end with real processes: hosts share one call per key.

Each "host" is a set of processes with its own ``base_dir`` (its own disk tier and
host file locks); all hosts share one real ``redis-server``. See ``fleet_helpers``.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from dbp.cache import TieredCache, discovery_cached
from fleet_helpers import Fleet, open_gate, wait_for
from hardening_helpers import record

KEY = "fleet_models:<region>"


@pytest.fixture
def fleet(tmp_path, redis_server):
    fleet = Fleet(tmp_path, redis_server.url)
    yield fleet
    fleet.close()


def reader(fleet: Fleet, host: str, **kwargs) -> TieredCache:
    """A cache of ``host`` in this process (tests close it)."""
    kwargs.setdefault("redis_socket_timeout", 1.0)
    kwargs.setdefault("redis_connect_timeout", 1.0)
    return TieredCache(base_dir=fleet.base_dir(host), redis_url=fleet.redis_url, **kwargs)


def counted(fleet: Fleet, cache: TieredCache, host: str = "test"):
    @discovery_cached(key=KEY, cache=cache)
    def list_models(region):
        fd = os.open(fleet.counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{os.getpid()} {host} {region}\n".encode())
        os.close(fd)
        return {"region": region, "by": os.getpid(), "host": host}

    return list_models


def test_a_second_host_gets_the_first_hosts_value_from_redis(fleet):
    first = Fleet.result(fleet.start("a"))
    second = Fleet.result(fleet.start("b"))
    assert len(fleet.calls()) == 1
    assert second["values"] == first["values"]
    assert first["info"]["misses"] == 1
    assert second["info"]["misses"] == 0 and second["redis_hits"] == 1
    # Host b copied it into its own disk tier: a third process there reads it from disk.
    third = Fleet.result(fleet.start("b"))
    assert third["values"] == first["values"] and third["info"]["disk_hits"] == 1
    assert len(fleet.calls()) == 1


def test_eight_processes_on_two_hosts_cold_missing_one_key_make_one_call(fleet):
    processes = 8
    procs = [fleet.start("ab"[i % 2], work=0.3, go=True) for i in range(processes)]
    fleet.release(processes)
    results = [Fleet.result(p) for p in procs]

    calls = fleet.calls()
    assert len(calls) == 1, calls
    leader_pid, leader_host, _ = calls[0]
    expected = {"region": "us-east-1", "by": int(leader_pid), "host": leader_host}
    assert all(r["values"] == [expected] for r in results)
    infos = [r["info"] for r in results]
    assert sum(i["misses"] for i in infos) == 1
    # The other host got it from Redis once (its host leader); everyone else from disk.
    assert sum(r["redis_hits"] for r in results) == 1
    assert sum(i["disk_hits"] for i in infos) == processes - 2
    record("fleet_single_flight", processes=processes, hosts=2, underlying_calls=len(calls))


def test_async_callers_in_two_event_loops_in_two_processes_make_one_call(fleet):
    procs = [fleet.start(host, work=0.3, go=True, tasks=3, **{"async": True}) for host in "ab"]
    fleet.release(2)
    results = [Fleet.result(p) for p in procs]
    calls = fleet.calls()
    assert len(calls) == 1, calls
    values = [v for r in results for v in r["values"]]
    assert len(values) == 6 and all(v == values[0] for v in values)
    assert sum(r["info"]["misses"] for r in results) == 1
    assert sum(r["redis_hits"] for r in results) == 1  # the other loop's leader
    assert sum(r["info"]["flight_hits"] for r in results) == 4  # tasks joined their loop's flight


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failing_call_does_not_serialize_processes_on_two_hosts(fleet, mode):
    # Six processes on two hosts miss one cold key whose call raises after 0.5 s. The
    # host locks and the lease used to make them call one after another (about 3 s);
    # now the waiters of a failed holder call at once: an error within about twice
    # the call's duration, at most one call per process.
    processes, work = 6, 0.5
    options = {"async": True, "tasks": 2} if mode == "async" else {}
    procs = [
        fleet.start("ab"[i % 2], work=work, go=True, fail=True, **options) for i in range(processes)
    ]
    fleet.release(processes)
    results = [Fleet.result(p) for p in procs]

    per_process = 2 if mode == "async" else 1
    assert all(len(r["errors"]) == per_process for r in results), results
    assert all(e.startswith("RuntimeError: upstream down") for r in results for e in r["errors"])
    slowest = max(r["seconds"] for r in results)
    assert slowest < 2 * work + 0.5, slowest  # about twice the call (margin for a loaded host)
    callers = [pid for pid, _, _ in fleet.calls()]
    assert len(callers) == len(set(callers)) <= processes  # at most one call per process
    record(f"fleet_failing_call_{mode}", processes=processes, slowest_seconds=round(slowest, 2))


def test_a_killed_lease_holder_blocks_the_fleet_for_one_lease_at_most(fleet, caplog):
    gate = str(fleet.tmp_path / "never")
    holder = fleet.start("a", gate=gate, lease_seconds=1.0)  # "computes" until killed
    wait_for(lambda: len(fleet.calls()) == 1, what="the holder's call")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()

    cache = reader(fleet, "b", lock_timeout=30.0)
    try:
        list_models = counted(fleet, cache, "b")
        started = time.monotonic()
        assert list_models("us-east-1")["host"] == "b"
        assert time.monotonic() - started < 5.0  # the 1 s lease, not the 30 s lock_timeout
    finally:
        cache.close()
    assert len(fleet.calls()) == 2
    assert not [r for r in caplog.records if "waited" in r.getMessage()]


def test_a_lapsed_holder_does_not_release_the_next_holders_lease(fleet):
    gate_a, gate_b = str(fleet.tmp_path / "gate-a"), str(fleet.tmp_path / "gate-b")
    late = fleet.start("a", gate=gate_a, lease_seconds=0.3)
    wait_for(lambda: len(fleet.calls()) == 1, what="host a's call")
    time.sleep(0.6)  # a's lease lapses while it still computes
    current = fleet.start("b", gate=gate_b)  # takes the lease (30 s)
    wait_for(lambda: len(fleet.calls()) == 2, what="host b's call")
    open_gate(gate_a)  # a finishes and releases: compare-and-delete must not free b's lease
    assert Fleet.result(late)["values"][0]["host"] == "a"

    cache = reader(fleet, "c", lock_timeout=30.0)
    got: list[dict] = []
    try:
        list_models = counted(fleet, cache, "c")
        waiter = threading.Thread(target=lambda: got.append(list_models("us-east-1")))
        waiter.start()
        time.sleep(0.5)  # were b's lease free, c would be computing by now
        assert len(fleet.calls()) == 2
        open_gate(gate_b)
        b_value = Fleet.result(current)["values"][0]
        waiter.join(30)
    finally:
        cache.close()
    assert got == [b_value]  # c waited for b's lease, then read b's value
    assert len(fleet.calls()) == 2


def test_a_lapsed_holder_does_not_overwrite_the_next_holders_newer_value(fleet):
    gate_a = str(fleet.tmp_path / "gate-a")
    late = fleet.start("a", gate=gate_a, lease_seconds=0.3)
    wait_for(lambda: len(fleet.calls()) == 1, what="host a's call")
    time.sleep(0.6)  # a's lease lapses while it still computes
    b_value = Fleet.result(fleet.start("b"))["values"][0]  # computes anew, writes, releases
    assert b_value["host"] == "b"
    open_gate(gate_a)  # a's older result arrives last
    assert Fleet.result(late)["values"][0]["host"] == "a"  # its caller still gets it

    cache = reader(fleet, "c")
    try:
        list_models = counted(fleet, cache, "c")
        assert list_models("us-east-1") == b_value  # the fleet keeps b's newer value
        assert list_models.cache_info().redis_hits == 1
    finally:
        cache.close()
    assert len(fleet.calls()) == 2
