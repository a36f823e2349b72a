"""Async callers share a call that runs in a task of its own (as async-lru and asyncio.shield).

A cancelled caller gets ``CancelledError`` at once and nothing changes for the others;
a caller's timeout never restarts the upstream call; the one call completes and is
cached, even when every caller has left. The upstream calls are gated by events, so
most of these tests wait for nothing but the event loop.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time

import pytest

from dbp.llm.bedrock.discovery import discovery_cached


def _waits_for_a_flight(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code.co_name == "outcome":  # Flight.outcome(): waiting for the leader
            return True
        frame = frame.f_back
    return False


class Upstream:
    """An async upstream call that lasts until the test opens ``gate``; counts its calls."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls = 0
        self.fail = fail
        self.gate: asyncio.Event | None = None
        self.entered: asyncio.Event | None = None

    def open(self) -> None:
        assert self.gate is not None
        self.gate.set()

    async def __call__(self, region: str) -> dict[str, object]:
        self.calls += 1
        if self.gate is None:
            self.gate, self.entered = asyncio.Event(), asyncio.Event()
        assert self.entered is not None
        self.entered.set()
        await self.gate.wait()
        if self.fail is not None:
            raise RuntimeError(self.fail)
        return {"region": region, "call": self.calls}

    async def started(self) -> None:
        while self.entered is None:
            await asyncio.sleep(0)
        await self.entered.wait()


def cached(cache, upstream: Upstream):
    @discovery_cached(key="models:<region>", cache=cache)
    async def list_models(region):
        return await upstream(region)

    return list_models


def test_a_waiter_cancelled_after_the_leader_was_cancelled_starts_no_fresh_call(cache):
    upstream = Upstream()
    list_models = cached(cache, upstream)

    async def main():
        leader = asyncio.create_task(list_models("us-east-1"))
        await upstream.started()
        waiter = asyncio.create_task(list_models("us-east-1"))
        await asyncio.sleep(0)  # the waiter joins the call in flight
        leader.cancel()
        waiter.cancel()
        done, _ = await asyncio.wait((leader, waiter), timeout=1.0)
        assert done == {leader, waiter}  # at once: the waiter did not take over
        assert leader.cancelled() and waiter.cancelled()
        assert upstream.calls == 1  # nobody started a fresh call
        upstream.open()
        # The one call still completes, and a later caller gets its value.
        return await list_models("us-east-1")

    assert asyncio.run(main()) == {"region": "us-east-1", "call": 1}
    assert upstream.calls == 1
    assert cache.get("models:us-east-1") == {"region": "us-east-1", "call": 1}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is Python 3.11+")
def test_a_task_group_whose_sibling_fails_exits_at_once(cache):
    calls = []

    @discovery_cached(key="tg:<round>", cache=cache)
    async def list_models(round):
        calls.append(round)
        await asyncio.sleep(1.0)  # the call's duration
        return [round]

    async def sibling(round):
        while round not in calls:
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)  # every caller shares the call now
        raise KeyError("sibling failed")

    async def group(round):
        started = time.monotonic()
        with pytest.raises(BaseExceptionGroup) as raised:  # noqa: F821 (3.11+)
            async with asyncio.TaskGroup() as tg:
                for _ in range(5):  # one call, four callers sharing it
                    tg.create_task(list_models(round))
                tg.create_task(sibling(round))
        assert raised.value.subgroup(KeyError) is not None
        return time.monotonic() - started

    async def main():
        # A TaskGroup cancels its tasks in no fixed order: three rounds, so that a
        # caller cancelled after the one that started the call is certainly seen.
        return [await group(round) for round in range(3)]

    assert max(asyncio.run(main())) < 0.5  # about 0 s, not the call's 1 s
    assert calls == [0, 1, 2]  # no caller started a fresh call


def test_callers_with_timeouts_shorter_than_the_call_share_one_call_and_it_is_cached(cache):
    # The numbers scaled by 1/5: a request every 0.04 s, each in wait_for(..., 0.1),
    # around a 0.2 s call (there: every 0.2 s, wait_for 0.5 s, a 1 s call).
    calls = []

    @discovery_cached(key="slow:<region>", cache=cache)
    async def list_models(region):
        calls.append(region)
        await asyncio.sleep(0.2)
        return [region]

    async def request():
        try:
            return await asyncio.wait_for(list_models("us-east-1"), 0.1)
        except asyncio.TimeoutError:  # the builtin TimeoutError only from 3.11
            return "timed out"

    async def main():
        tasks = []
        for _ in range(10):
            tasks.append(asyncio.create_task(request()))
            await asyncio.sleep(0.04)
        results = await asyncio.gather(*tasks)
        return results, await request()

    results, after = asyncio.run(main())
    assert calls == ["us-east-1"]  # one upstream call, not one per request
    assert after == ["us-east-1"]  # and its value is cached
    assert cache.get("slow:us-east-1") == ["us-east-1"]
    assert "timed out" in results  # the early requests did time out ...
    assert results[-1] == ["us-east-1"]  # ... the later ones got the one call's value


def test_cancelling_the_first_of_eleven_callers_costs_one_call(cache):
    upstream = Upstream()
    list_models = cached(cache, upstream)

    async def main():
        first = asyncio.create_task(list_models("us-east-1"))
        await upstream.started()
        others = [asyncio.create_task(list_models("us-east-1")) for _ in range(10)]
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        upstream.open()
        return await asyncio.gather(*others)

    assert asyncio.run(main()) == [{"region": "us-east-1", "call": 1}] * 10
    assert upstream.calls == 1
    info = list_models.cache_info()
    assert (info.misses, info.flight_hits) == (1, 10)


def test_a_call_whose_callers_all_left_still_completes_and_is_cached(cache):
    upstream = Upstream()
    list_models = cached(cache, upstream)

    async def main():
        callers = [asyncio.create_task(list_models("us-east-1")) for _ in range(3)]
        await upstream.started()
        for caller in callers:
            caller.cancel()
        done, _ = await asyncio.wait(callers, timeout=1.0)
        upstream.open()
        await asyncio.wait(callers, timeout=1.0)
        assert len(done) == 3 and all(caller.cancelled() for caller in callers)
        deadline = time.monotonic() + 2.0
        while cache.get("models:us-east-1", None) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        return await asyncio.wait_for(list_models("us-east-1"), 1.0)

    assert asyncio.run(main()) == {"region": "us-east-1", "call": 1}
    assert upstream.calls == 1
    assert list_models.cache_info().memory_hits == 1


def test_a_call_whose_callers_all_left_and_that_fails_is_not_cached_nor_reported(cache, caplog):
    upstream = Upstream(fail="throttled")
    list_models = cached(cache, upstream)

    async def main():
        caller = asyncio.create_task(list_models("us-east-1"))
        await upstream.started()
        caller.cancel()
        await asyncio.gather(caller, return_exceptions=True)
        upstream.open()
        for _ in range(5):
            await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="throttled"):
            await list_models("us-east-1")  # a new call: the failure was not cached

    asyncio.run(main())
    gc.collect()  # asyncio reports an unretrieved task exception when the task is collected
    assert upstream.calls == 2
    assert "never retrieved" not in caplog.text


def test_a_coroutine_failing_before_its_first_await_runs_once_for_concurrent_callers(cache):
    calls = []

    @discovery_cached(key="g:<x>", cache=cache)
    async def g(x):
        calls.append(x)
        raise ZeroDivisionError(x)

    async def main():
        return await asyncio.gather(*(g(1) for _ in range(3)), return_exceptions=True)

    results = asyncio.run(main())
    assert calls == [1]
    assert all(isinstance(r, ZeroDivisionError) for r in results)
    info = g.cache_info()
    assert (info.misses, info.flight_hits, info.hits) == (1, 2, 2)


def test_threads_sharing_a_failing_call_count_as_flight_hits(cache):
    entered, release = threading.Event(), threading.Event()
    calls = []

    @discovery_cached(key="tfail:<x>", cache=cache)
    def failing(x):
        calls.append(x)
        entered.set()
        release.wait(5)
        raise ValueError("throttled")

    errors = []

    def call():
        try:
            failing(1)
        except ValueError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    threads[0].start()
    assert entered.wait(5)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 5
    while not all(_waits_for_a_flight(t) for t in threads[1:]):  # both joined the flight
        assert time.monotonic() < deadline
        time.sleep(0.001)
    release.set()
    for t in threads:
        t.join(5)
    assert len(calls) == 1 and len(errors) == 3
    info = failing.cache_info()
    assert (info.misses, info.flight_hits, info.hits) == (1, 2, 2)
