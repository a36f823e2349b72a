"""One conformance suite every store (tier) must pass, as dogpile.cache's backends do.

The ``store`` fixture is parametrized over the stores; a new tier joins by adding
a factory to ``STORES``. A store that needs a server (Redis) is listed in
``SERVERS`` with the fixture that provides it: its tests skip without the server's
binary (and fail under ``CI=true``), like the other Redis tests.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dbp.cache import MISS, ManualClock
from dbp.cache.codec import encode
from dbp.cache.entry import Entry
from dbp.cache.stores.contract import Store
from dbp.cache.stores.disk import DiskStore
from dbp.cache.stores.memory import MemoryStore
from redis_server import SERVERLESS_CONFIG, RedisServer, require_redis

StoreFactory = Callable[[Path, ManualClock], Any]


def _memory(folder: Path, clock: ManualClock) -> MemoryStore:
    return MemoryStore(1000, clock)


def _disk(folder: Path, clock: ManualClock) -> DiskStore:
    return DiskStore(str(folder / "cache"), clock, logging.getLogger("test.store"), durable=False)


def _redis(folder: Path, clock: ManualClock, *, url: str) -> Any:
    from dbp.cache.stores.redis import RedisStore

    return RedisStore(
        url,
        clock=clock,
        logger=logging.getLogger("test.store"),
        default_ttl=3600.0,
        data_version=lambda: 1,
        prefix=f"c{uuid.uuid4().hex[:10]}:",  # one server per module: a namespace per store
        socket_timeout=1.0,
        connect_timeout=1.0,
    )


STORES: dict[str, StoreFactory] = {"memory": _memory, "disk": _disk, "redis": _redis}
#: Stores that need a server: the fixture whose ``.url`` the factory gets.
SERVERS = {"redis": "conformance_redis"}
#: Stores whose medium drops dead entries by itself (Redis: PX, in real time), so
#: ``cleanup()`` has nothing of them to remove while a manual clock runs ahead.
EXPIRES_ITSELF = {"redis"}


@pytest.fixture(scope="module")
def conformance_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for this module's Redis cases (each store has its own prefix).

    It refuses what ElastiCache Serverless refuses: the contract holds there too.
    """
    require_redis()
    server = RedisServer(
        tmp_path_factory.mktemp("conformance-redis"), config=SERVERLESS_CONFIG
    ).start()
    yield server
    server.close()


def _factory(request: pytest.FixtureRequest, name: str) -> StoreFactory:
    factory = STORES[name]
    if name in SERVERS:
        server = request.getfixturevalue(SERVERS[name])
        return functools.partial(factory, url=server.url)
    return factory


@pytest.fixture(params=sorted(STORES))
def store(request, tmp_path, clock):
    made = _factory(request, request.param)(tmp_path, clock)
    yield made
    close = getattr(made, "close", None)
    if close is not None:
        close()


def put(store, clock, key, value, *, ttl=60.0, stale=0.0, owner=None) -> bool:
    now = clock.time()
    entry = Entry(value, now, now + ttl, now + ttl + stale, owner)
    return store.set(key, entry, body=encode(key, value))


def test_satisfies_the_protocol(store):
    assert isinstance(store, Store)
    assert isinstance(store.name, str) and store.name
    # The read-through path runs a local store's reads inline and yields a remote one's,
    # which an async caller then awaits through the async twin.
    assert store.remote is (store.name == "redis")
    assert callable(getattr(store, "aget", None)) is store.remote


def test_missing_key_is_a_miss(store):
    assert store.get("nope") is MISS
    assert store.get("nope", stale=True) is MISS
    assert store.delete("nope") is False


def test_round_trip_keeps_value_and_times(store, clock):
    value = {"when": dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc), "t": (1, [2, None])}
    assert put(store, clock, "k", value, ttl=30, stale=10, owner="me")
    entry = store.get("k")
    assert entry.value == value and isinstance(entry.value["t"], tuple)
    assert entry.created == clock.time()
    assert entry.expires == clock.time() + 30
    assert entry.stale_until == clock.time() + 40
    assert entry.owner == "me"


def test_none_is_a_value_not_a_miss(store, clock):
    put(store, clock, "k", None)
    assert store.get("k") is not MISS and store.get("k").value is None


def test_expiry_then_stale_window_then_gone(store, clock):
    put(store, clock, "k", "v", ttl=10, stale=5)
    clock.advance(10)
    assert store.get("k") is MISS
    assert store.get("k", stale=True).value == "v"
    clock.advance(5)
    assert store.get("k", stale=True) is MISS


def test_overwrite_and_delete(store, clock):
    put(store, clock, "k", 1)
    put(store, clock, "k", 2)
    assert store.get("k").value == 2
    assert store.delete("k") is True
    assert store.get("k") is MISS


def test_clear_by_owner_keeps_the_others(store, clock):
    put(store, clock, "a1", 1, owner="a")
    put(store, clock, "a2", 2, owner="a")
    put(store, clock, "b", 3, owner="b")
    put(store, clock, "none", 4)
    assert store.clear("a") == 2
    assert store.get("a1") is MISS and store.get("a2") is MISS
    assert store.get("b").value == 3 and store.get("none").value == 4
    assert store.clear() == 2
    assert store.get("b") is MISS


def test_scan_lists_entries_with_their_facts(store, clock):
    put(store, clock, "x", 1, owner="o", ttl=20)
    put(store, clock, "y", 2)
    found = {info.key: info for info in store.scan()}
    assert set(found) == {"x", "y"}
    assert found["x"].owner == "o" and found["x"].expires == clock.time() + 20


def test_cleanup_removes_only_what_can_never_be_served(store, clock):
    put(store, clock, "gone", 1, ttl=10)
    put(store, clock, "stale", 2, ttl=10, stale=100)
    put(store, clock, "fresh", 3, ttl=1000)
    clock.advance(20)
    assert store.cleanup() == (0 if store.name in EXPIRES_ITSELF else 1)
    assert store.get("gone", stale=True) is MISS
    assert store.get("stale", stale=True).value == 2
    assert store.get("fresh").value == 3


def test_lock_is_of_the_stores_own_scope(store):
    lock = store.lock("k")
    if store.name == "memory":
        assert lock is None  # the in-process flight is its lock
        return
    assert lock.acquire(1.0) is True
    other: list[Any] = []
    thread = threading.Thread(target=lambda: other.append(store.lock("k").acquire(0.05)))
    thread.start()
    thread.join()
    assert other == [False]  # another holder waits, then is told "busy"
    lock.release()
    second = store.lock("k")
    assert second.acquire(1.0) is True
    second.release()


@pytest.mark.parametrize("failed", [True, False])
def test_a_waiter_learns_whether_the_holder_it_waited_for_failed(store, failed):
    if store.lock("k") is None:
        return  # memory: no lock of its own
    holder, waiter = store.lock("k"), store.lock("k")
    assert holder.acquire(1.0) is True and holder.holder_failed is False  # did not wait
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(waiter.acquire(5.0)))
    thread.start()
    time.sleep(0.05)  # the waiter found the lock busy
    holder.release(failed=failed)
    thread.join(5)
    assert got == [True] and waiter.holder_failed is failed
    waiter.release()
    again = store.lock("k")
    assert again.acquire(1.0) is True and again.holder_failed is False  # only its waiters
    again.release()


# -- the model-based test: any sequence of operations matches a dict ---------------------------

KEYS = st.sampled_from(["a", "b", "c"])
OWNERS = st.sampled_from([None, "f", "g"])
VALUES = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3), st.lists(st.booleans()))


class StoreMachine(RuleBasedStateMachine):
    """Random operations on a store against a dict of (value, expires, stale_until, owner)."""

    factory: StoreFactory

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="dbp-conformance-"))
        self.clock = ManualClock()
        self.store = self.factory(self.folder, self.clock)
        self.model: dict[str, tuple[Any, float, float, str | None]] = {}

    def teardown(self) -> None:
        import shutil

        close = getattr(self.store, "close", None)
        if close is not None:
            close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(key=KEYS, value=VALUES, ttl=st.integers(1, 20), stale=st.integers(0, 20), owner=OWNERS)
    def set(self, key, value, ttl, stale, owner):
        put(self.store, self.clock, key, value, ttl=ttl, stale=stale, owner=owner)
        now = self.clock.time()
        self.model[key] = (value, now + ttl, now + ttl + stale, owner)

    @rule(key=KEYS)
    def delete(self, key):
        removed = self.store.delete(key)
        if key not in self.model:
            assert removed is False
        elif self._alive(key):
            assert removed is True  # (a dead record may or may not still be stored)
        self.model.pop(key, None)

    @rule(owner=OWNERS)
    def clear(self, owner):
        self.store.clear(owner)
        for key in [k for k, m in self.model.items() if owner is None or m[3] == owner]:
            del self.model[key]

    @rule(seconds=st.integers(1, 15))
    def advance(self, seconds):
        self.clock.advance(seconds)

    @rule()
    def cleanup(self):
        self.store.cleanup()
        if self.store.name in EXPIRES_ITSELF:
            return  # dead entries go in real time: the model keeps them, as dead
        for key in [k for k in self.model if not self._alive(k)]:
            del self.model[key]

    def _alive(self, key: str) -> bool:
        return self.clock.time() < self.model[key][2]

    @invariant()
    def reads_match_the_model(self):
        now = self.clock.time()
        for key in ["a", "b", "c"]:
            fresh, stale = self.store.get(key), self.store.get(key, stale=True)
            expected = self.model.get(key)
            if expected is None or now >= expected[2]:
                assert fresh is MISS and stale is MISS
            elif now >= expected[1]:
                assert fresh is MISS and stale.value == expected[0]
            else:
                assert fresh.value == expected[0] and stale.value == expected[0]


def _machine_for(name: str, factory: StoreFactory | None = None) -> type:
    return type(
        f"{name.title()}StoreMachine",
        (StoreMachine,),
        {"factory": staticmethod(factory or STORES[name])},
    )


def _settings(**kwargs: Any) -> Any:
    return settings(deadline=None, **kwargs)


TestMemoryStoreMachine = _settings(max_examples=40, stateful_step_count=25)(
    _machine_for("memory")
).TestCase
TestDiskStoreMachine = _settings(max_examples=40, stateful_step_count=25)(
    _machine_for("disk")
).TestCase


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_server_store_machine(request, name):
    """The model-based test for stores that need a server (fewer, shorter examples)."""
    machine = _machine_for(name, _factory(request, name))
    run_state_machine_as_test(machine, settings=_settings(max_examples=15, stateful_step_count=15))
