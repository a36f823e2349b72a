"""Single flight: concurrent misses on one key make one underlying call."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from dbp.llm.bedrock.discovery import discovery_cached


class Gate:
    """Lets the first caller block until every thread is waiting on it."""

    def __init__(self):
        self.release = threading.Event()
        self.calls = 0
        self.lock = threading.Lock()

    def enter(self):
        with self.lock:
            self.calls += 1


def run_threads(n, target):
    results, errors = [None] * n, [None] * n

    def work(i):
        try:
            results[i] = target(i)
        except BaseException as exc:
            errors[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results, errors


def test_n_threads_missing_one_key_make_one_call(cache):
    gate = Gate()

    @discovery_cached(key="sf:<region>", cache=cache)
    def slow(region):
        gate.enter()
        gate.release.wait(5)
        return {"region": region}

    threads, results, errors = run_threads(16, lambda i: slow("us-east-1"))
    deadline = time.monotonic() + 5
    while len(cache.flights) == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.05)  # let the other threads arrive and queue on the flight
    gate.release.set()
    for t in threads:
        t.join(5)
    assert errors == [None] * 16
    assert gate.calls == 1
    assert all(r == {"region": "us-east-1"} for r in results)
    info = slow.cache_info()
    assert info.misses == 1
    assert info.hits == 15


def test_different_keys_do_not_wait_for_each_other(cache):
    blocked = threading.Event()
    release = threading.Event()

    @discovery_cached(key="k:<name>", cache=cache)
    def fetch(name):
        if name == "slow":
            blocked.set()
            release.wait(5)
        return name

    slow_thread = threading.Thread(target=fetch, args=("slow",))
    slow_thread.start()
    assert blocked.wait(5)
    started = time.monotonic()
    assert fetch("fast") == "fast"  # does not wait behind "slow"
    assert time.monotonic() - started < 1
    release.set()
    slow_thread.join(5)


def test_exception_reaches_every_waiter_and_nothing_is_cached(cache):
    gate = Gate()

    @discovery_cached(key="fail:<x>", cache=cache)
    def failing(x):
        gate.enter()
        gate.release.wait(5)
        raise RuntimeError("upstream down")

    threads, results, errors = run_threads(8, lambda i: failing(1))
    time.sleep(0.1)
    gate.release.set()
    for t in threads:
        t.join(5)
    assert gate.calls == 1
    assert all(isinstance(e, RuntimeError) and "upstream down" in str(e) for e in errors)
    assert cache.get("fail:1", "MISS") == "MISS"
    with pytest.raises(RuntimeError):
        failing(1)
    assert gate.calls == 2  # the failure was not cached


def test_recursive_call_with_same_key_does_not_deadlock(cache):
    depth = []

    @discovery_cached(key="rec", cache=cache)
    def recursive(n):
        depth.append(n)
        return n if n == 0 else recursive(n - 1)

    assert recursive(2) == 0


def test_n_concurrent_awaits_make_one_call(cache):
    calls = []

    @discovery_cached(key="async-sf:<region>", cache=cache)
    async def list_models(region):
        calls.append(region)
        await asyncio.sleep(0.05)
        return [region]

    async def main():
        return await asyncio.gather(*(list_models("us-east-1") for _ in range(20)))

    results = asyncio.run(main())
    assert calls == ["us-east-1"]
    assert results == [["us-east-1"]] * 20
    assert list_models.cache_info().shared_hits == 19


def test_async_exception_reaches_every_waiter(cache):
    calls = []

    @discovery_cached(key="async-fail", cache=cache)
    async def failing():
        calls.append(1)
        await asyncio.sleep(0.02)
        raise ValueError("throttled")

    async def main():
        return await asyncio.gather(*(failing() for _ in range(5)), return_exceptions=True)

    results = asyncio.run(main())
    assert len(calls) == 1
    assert all(isinstance(r, ValueError) for r in results)
    assert cache.get("async-fail", "MISS") == "MISS"
    info = failing.cache_info()  # the four that shared the failed call are flight hits
    assert (info.misses, info.flight_hits, info.hits) == (1, 4, 4)


def test_cancelled_async_leader_leaves_the_call_to_its_waiter(cache):
    calls = []

    @discovery_cached(key="async-cancel", cache=cache)
    async def slow():
        calls.append(1)
        await asyncio.sleep(0.2 if len(calls) == 1 else 0)
        return "done"

    async def main():
        leader = asyncio.create_task(slow())
        await asyncio.sleep(0.01)
        waiter = asyncio.create_task(slow())
        await asyncio.sleep(0.01)
        leader.cancel()
        return await waiter

    assert asyncio.run(main()) == "done"
    assert len(calls) == 1  # the call runs in a task of its own: the waiter still gets it


def test_async_recursive_call_with_same_key_does_not_deadlock(cache):
    @discovery_cached(key="arec", cache=cache)
    async def recursive(n):
        return n if n == 0 else await recursive(n - 1)

    assert asyncio.run(asyncio.wait_for(recursive(2), 5)) == 0
