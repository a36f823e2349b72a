"""Failing open, fast, against a real redis-server that is frozen, killed and restarted."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from dbp.cache import MISS
from dbp.cache.entry import Entry
from dbp.cache.stores.redis.breaker import CircuitBreaker
from redis_server import LOGGER_NAME

BUDGET = 0.05  # the default per-call socket time-out
SLACK = 0.15  # a loaded 2-core CI machine; still far below redis-py's 5 s default


def entry(clock, value):
    now = clock.time()
    return Entry(value, now, now + 60, now + 120)


def fast_store(make_redis_store, url, **kwargs):
    kwargs.setdefault("socket_timeout", BUDGET)
    kwargs.setdefault("connect_timeout", BUDGET)
    kwargs.setdefault("breaker_backoff", 0.2)
    kwargs.setdefault("breaker_max_backoff", 0.4)
    return make_redis_store(url, **kwargs)


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def wait_until(condition, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    return condition()


def test_a_frozen_server_costs_one_budget_then_nothing(
    redis_server, make_redis_store, clock, caplog
):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    store = fast_store(make_redis_store, redis_server.url)
    assert store.set("k", entry(clock, "v")) is True
    redis_server.stop()
    try:
        calls = [
            lambda: store.get("k"),
            lambda: store.set("k", entry(clock, "w")),
            lambda: store.lock("k").acquire(5.0),
            lambda: store.delete("k"),
            lambda: store.get("k", stale=True),
            store.clear,
        ]
        results = []
        for call in calls:
            result, took = timed(call)
            results.append(result)
            # delete and clear publish too: at most two calls' budgets before the breaker opens
            assert took < 2 * BUDGET + SLACK, (call, took)
        assert results[0] is MISS and results[1] is False and results[2] is None
        assert store.breaker.state == "open"
        _, took = timed(lambda: store.get("k"))
        assert took < 0.01  # open: Redis is not asked at all
    finally:
        redis_server.cont()
    # Recovery by itself: after the back-off exactly one probe goes through and closes it.
    assert wait_until(lambda: store.get("k") is not MISS, 5.0)
    assert store.breaker.state == "closed"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 1 and "Redis at redis://127.0.0.1" in warnings[0]
    assert len(infos) == 1 and "works again" in infos[0]


def test_a_killed_server_fails_fast_and_works_after_restart(redis_server, make_redis_store, clock):
    store = fast_store(make_redis_store, redis_server.url)
    assert store.set("k", entry(clock, "v")) is True
    redis_server.kill()
    for _ in range(5):
        result, took = timed(lambda: store.get("k"))
        assert result is MISS and took < BUDGET + SLACK
        result, took = timed(lambda: store.set("k", entry(clock, "v")))
        assert result is False and took < BUDGET + SLACK
    redis_server.restart()  # same port, empty (no persistence)
    assert wait_until(lambda: store.set("k", entry(clock, "again")), 5.0)
    assert store.get("k").value == "again"


def test_async_twins_fail_open_on_a_frozen_server(redis_server, make_redis_store, clock):
    import asyncio

    store = fast_store(make_redis_store, redis_server.url)

    async def scenario():
        assert await store.aset("k", entry(clock, "v")) is True
        redis_server.stop()
        try:
            for call in (
                lambda: store.aget("k"),
                lambda: store.aset("k", entry(clock, "w")),
                lambda: store.lock("k").acquire_async(5.0),
                lambda: store.adelete("k"),
            ):
                started = time.monotonic()
                result = await call()
                assert time.monotonic() - started < 2 * BUDGET + SLACK
                assert result in (MISS, False, None)
        finally:
            redis_server.cont()
        await store.aclose()

    asyncio.run(scenario())


def test_breaker_lets_exactly_one_probe_through():
    now = [0.0]
    breaker = CircuitBreaker(
        logging.getLogger(LOGGER_NAME),
        what="test",
        threshold=2,
        backoff=1.0,
        max_backoff=4.0,
        monotonic=lambda: now[0],
    )
    error = ConnectionError("down")
    breaker.failure(error)
    assert breaker.allow()  # one failure is below the threshold
    breaker.failure(error)
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 1.01  # past any jittered back-off (0.5 to 1.0 s)
    allowed = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        allowed.append(breaker.allow())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 1 and breaker.state == "half-open"
    breaker.failure(error)  # the probe failed: open again, for longer
    assert breaker.state == "open"
    now[0] = 2.0
    assert not breaker.allow()  # the back-off doubled: 1 to 2 s from 1.01
    now[0] = 10.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_breaker_threshold_is_checked(bad):
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker(logging.getLogger(LOGGER_NAME), what="t", threshold=bad)
