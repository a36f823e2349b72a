"""Refresh-ahead: a hit near expiry returns at once and refreshes once in the background."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the background refresh"
        time.sleep(0.005)


class Upstream:
    def __init__(self):
        self.calls = 0
        self.fail = False
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, region):
        self.calls += 1
        self.gate.wait(5)
        if self.fail:
            raise ConnectionError("upstream down")
        return {"region": region, "version": self.calls}


def test_hit_in_refresh_window_returns_current_value_and_refreshes_once(cache, clock):
    upstream = Upstream()

    @discovery_cached(
        key="ra:<region>", cache=cache, memory_ttl=100, disk_ttl=1000, refresh_ahead=0.2
    )
    def models(region):
        return upstream(region)

    assert models("r")["version"] == 1
    clock.advance(700)  # memory expired, disk fresh and not yet in the last 20 %
    assert models("r")["version"] == 1
    assert upstream.calls == 1
    clock.advance(150)  # 850 s: in the last 200 s of the disk lifetime
    upstream.gate.clear()  # hold the refresh so the callers below run while it is pending
    assert [models("r")["version"] for _ in range(20)] == [1] * 20  # served at once
    upstream.gate.set()
    wait_for(lambda: cache.get("ra:r", {})["version"] == 2)
    assert upstream.calls == 2  # one refresh for twenty hits
    assert models("r")["version"] == 2
    clock.advance(300)  # past the first value's expiry: the refreshed one is still fresh
    assert models("r")["version"] == 2
    assert upstream.calls == 2


def test_memory_only_function_refreshes_on_memory_hits(cache, clock):
    upstream = Upstream()

    @discovery_cached(
        key="ram:<region>", cache=cache, memory_ttl=100, disk_ttl=0, refresh_ahead=0.5
    )
    def models(region):
        return upstream(region)

    models("r")
    clock.advance(40)
    assert models("r")["version"] == 1
    assert upstream.calls == 1
    clock.advance(20)  # 60 s of 100: in the last half
    assert models("r")["version"] == 1
    wait_for(lambda: models("r")["version"] == 2)
    assert upstream.calls == 2


def test_without_refresh_ahead_nothing_happens_before_expiry(cache, clock):
    upstream = Upstream()

    @discovery_cached(key="noref:<region>", cache=cache, memory_ttl=100, disk_ttl=0)
    def models(region):
        return upstream(region)

    models("r")
    clock.advance(99)
    models("r")
    time.sleep(0.05)
    assert upstream.calls == 1


def test_failed_refresh_keeps_current_value_and_warns(cache, clock, caplog):
    upstream = Upstream()

    @discovery_cached(
        key="rafail:<region>", cache=cache, memory_ttl=100, disk_ttl=0, refresh_ahead=0.5
    )
    def models(region):
        return upstream(region)

    models("r")
    clock.advance(60)
    upstream.fail = True
    with caplog.at_level(logging.WARNING):
        assert models("r")["version"] == 1  # no exception reaches the caller
        wait_for(lambda: "refresh-ahead" in caplog.text)
    assert upstream.calls == 2
    assert models("r")["version"] == 1  # still served until it expires
    clock.advance(41)
    with pytest.raises(ConnectionError):
        models("r")


def test_another_process_already_refreshed_means_no_second_call(cache_dir, clock):
    upstream_a, upstream_b = Upstream(), Upstream()
    first = DiscoveryCache(base_dir=cache_dir, clock=clock)
    second = DiscoveryCache(base_dir=cache_dir, clock=clock)  # another process's view

    def decorate(cache, upstream):
        @discovery_cached(
            key="rax:<region>", cache=cache, memory_ttl=1000, disk_ttl=1000, refresh_ahead=0.2
        )
        def models(region):
            return upstream(region)

        return models

    in_a, in_b = decorate(first, upstream_a), decorate(second, upstream_b)
    in_a("r")  # computed by a, on disk
    in_b("r")  # a disk hit for b
    clock.advance(850)  # both copies are in the refresh window
    in_b("r")  # b refreshes first
    wait_for(lambda: upstream_b.calls == 1 and first.disk.get("rax:r").created == clock.time())
    in_a("r")  # a's copy is due, but the disk already holds b's fresh value
    wait_for(lambda: first.memory.get("rax:r").created == clock.time())  # promoted from disk
    assert upstream_a.calls == 1  # a never called upstream again


def test_async_refresh_ahead(cache, clock):
    calls = []

    @discovery_cached(
        key="raa:<region>", cache=cache, memory_ttl=100, disk_ttl=0, refresh_ahead=0.5
    )
    async def models(region):
        calls.append(region)
        await asyncio.sleep(0)
        return len(calls)

    async def main():
        assert await models("r") == 1
        clock.advance(60)
        assert await models("r") == 1  # current value, refresh started as a task
        for _ in range(100):
            if len(calls) == 2:
                break
            await asyncio.sleep(0.01)
        return await models("r")

    assert asyncio.run(main()) == 2
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("bad", "error"), [(1.5, ValueError), (-0.1, ValueError), ("10%", TypeError), (True, TypeError)]
)
def test_refresh_ahead_validation(cache, bad, error):
    with pytest.raises(error, match="refresh_ahead"):
        discovery_cached(key="x", cache=cache, refresh_ahead=bad)(lambda: 1)
