"""The asyncio twins against a real redis-server: same values, same fences, one client per loop."""

from __future__ import annotations

import asyncio
import datetime as dt

from dbp.cache import MISS
from dbp.cache.entry import Entry


def entry(clock, value, *, created_offset: float = 0.0, owner=None):
    created = clock.time() + created_offset
    return Entry(value, created, created + 60, created + 120, owner)


def test_async_round_trip_delete_and_clear(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)
    value = {"at": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc), "t": (1, 2)}

    async def scenario():
        assert await store.aset("a", entry(clock, value, owner="f")) is True
        assert (await store.aget("a")).value == value
        assert store.get("a").value == value  # the same record for the blocking half
        store.set("b", entry(clock, "b", owner="g"))
        assert (await store.aget("b")).value == "b"
        assert await store.adelete("a") is True
        assert await store.aget("a") is MISS
        await store.aset("c", entry(clock, "c", owner="g"))
        assert await store.aclear(owner="g") == 2
        assert await store.aclear() == 0
        await store.aclose()

    asyncio.run(scenario())


def test_async_lease_and_fence(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)

    async def scenario():
        first, second = store.lock("k"), store.lock("k")
        assert await first.acquire_async(0) is True
        assert await second.acquire_async(0.05) is False
        assert await store.aset("k", entry(clock, "mine"), fence=first.fence) is True
        await store.aclear()
        assert (
            await store.aset("k", entry(clock, "late", created_offset=1), fence=first.fence)
            is False
        )
        await first.release_async()
        assert await second.acquire_async(0) is True
        await second.release_async()
        await store.aclose()

    asyncio.run(scenario())


def test_one_client_per_event_loop(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)
    store.set("k", entry(clock, "v"))

    async def read():
        try:
            return (await store.aget("k")).value
        finally:
            await store.aclose()  # a loop's client must be closed before the loop ends

    # Two loops one after the other: a client bound to the first must not serve the second.
    assert asyncio.run(read()) == "v"
    assert asyncio.run(read()) == "v"

    async def many():
        try:
            return await asyncio.gather(*(store.aget("k") for _ in range(50)))
        finally:
            await store.aclose()

    assert {e.value for e in asyncio.run(many())} == {"v"}
