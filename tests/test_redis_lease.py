"""The fleet lease against a real redis-server: exclusion, compare-and-delete, fenced writes."""

from __future__ import annotations

import threading
import time

from dbp.cache import MISS
from dbp.cache.entry import Entry
from redis_server import command


def entry(clock, value, *, created_offset: float = 0.0, owner=None):
    created = clock.time() + created_offset
    return Entry(value, created, created + 60, created + 120, owner)


def test_two_holders_cannot_both_hold(redis_server, make_redis_store):
    a = make_redis_store(redis_server.url)
    b = make_redis_store(redis_server.url)
    first, second = a.lock("k"), b.lock("k")
    assert first.acquire(0) is True and first.fence is not None
    started = time.monotonic()
    assert second.acquire(0.15) is False  # busy past the timeout
    assert 0.14 <= time.monotonic() - started < 0.5
    assert second.fence is None
    pttl = int(command(redis_server.port, "PTTL", a.namer.names("k").lease)[1:].strip())
    assert 0 < pttl <= 30_000  # never a lease without PX
    first.release()
    assert second.acquire(0) is True


def test_many_threads_one_holder_at_a_time(redis_server, make_redis_store):
    store = make_redis_store(redis_server.url)
    inside, overlaps, done = [0], [0], []
    guard = threading.Lock()

    def worker() -> None:
        lease = store.lock("k")
        assert lease.acquire(5.0) is True
        with guard:
            inside[0] += 1
            overlaps[0] = max(overlaps[0], inside[0])
        time.sleep(0.005)
        with guard:
            inside[0] -= 1
        lease.release()
        done.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(done) == 8 and overlaps[0] == 1


def test_release_never_frees_another_holders_lease(redis_server, make_redis_store):
    store = make_redis_store(redis_server.url, lease_seconds=0.05)
    late = store.lock("k")
    assert late.acquire(0) is True
    time.sleep(0.08)  # the lease lapses while its holder still computes
    current = store.lock("k")
    assert current.acquire(0) is True
    late.release()  # compare-and-delete: the token is not ours any more
    assert store.lock("k").acquire(0) is False
    current.release()
    assert store.lock("k").acquire(0) is True


def test_a_lapsed_holder_cannot_overwrite_the_newer_value(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url, lease_seconds=0.05)
    late = store.lock("k")
    assert late.acquire(0) is True
    late_value = entry(clock, "late")  # computed from older data
    time.sleep(0.08)
    current = store.lock("k")
    assert current.acquire(0) is True
    clock.advance(1)
    assert store.set("k", entry(clock, "newer"), fence=current.fence) is True
    current.release()
    assert store.set("k", late_value, fence=late.fence) is False  # lease free, value newer
    assert store.get("k").value == "newer"
    assert current.acquire(0) is True
    assert store.set("k", late_value, fence=late.fence) is False  # someone else holds it
    assert store.get("k").value == "newer"


def test_a_lapsed_holder_may_still_fill_an_empty_key(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url, lease_seconds=0.05)
    lease = store.lock("k")
    assert lease.acquire(0) is True
    time.sleep(0.08)
    assert store.set("k", entry(clock, "v"), fence=lease.fence) is True  # nobody newer
    assert store.get("k").value == "v"


def test_an_unfenced_write_never_replaces_a_newer_entry(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)
    assert store.set("k", entry(clock, "new", created_offset=5)) is True
    assert store.set("k", entry(clock, "old")) is False
    assert store.get("k").value == "new"
    assert store.set("k", entry(clock, "newest", created_offset=6)) is True


def test_a_fill_begun_before_a_clear_cannot_write_after_it(redis_server, make_redis_store, clock):
    filler = make_redis_store(redis_server.url)
    clearer = make_redis_store(redis_server.url)
    filler.set("k", entry(clock, "old"))
    lease = filler.lock("k")
    assert lease.acquire(0) is True  # the fill starts, from data the clear will void
    assert clearer.clear() == 1
    assert filler.set("k", entry(clock, "old again", created_offset=1), fence=lease.fence) is False
    assert filler.get("k") is MISS
    lease.release()
    fresh = filler.lock("k")  # a fill begun after the clear writes normally
    assert fresh.acquire(0) is True
    assert filler.set("k", entry(clock, "new", created_offset=2), fence=fresh.fence) is True


def test_clear_by_owner_fences_that_owners_fills_only(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)
    mine, theirs = store.lock("f:1", owner="f"), store.lock("g:1", owner="g")
    assert mine.acquire(0) is True and theirs.acquire(0) is True
    store.clear(owner="f")
    assert store.set("f:1", entry(clock, 1, owner="f"), fence=mine.fence) is False
    assert store.set("g:1", entry(clock, 2, owner="g"), fence=theirs.fence) is True


def test_an_evicted_generation_never_lets_an_old_fill_through(
    redis_server, make_redis_store, clock
):
    store = make_redis_store(redis_server.url)
    lease = store.lock("k")
    assert lease.acquire(0) is True
    # maxmemory eviction (or a FLUSHALL) loses the generation: the next lease makes a
    # new random one, which the old fence can never match (a counter would restart at 0).
    command(redis_server.port, "DEL", store.namer.names("k").generation)
    assert store.set("k", entry(clock, "old"), fence=lease.fence) is False
    command(redis_server.port, "DEL", store.namer.names("k").lease)
    other = store.lock("k")
    assert other.acquire(0) is True
    assert store.set("k", entry(clock, "old"), fence=lease.fence) is False
    assert store.set("k", entry(clock, "new"), fence=other.fence) is True


def _wait_behind(lock, timeout: float = 5.0):
    """Acquire ``lock`` in a thread (it waits for the current holder); the thread's outcome."""
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(lock.acquire(timeout)))
    thread.start()
    return thread, outcome


def test_a_lapsed_holders_failure_says_nothing_to_the_next_holders_waiters(
    redis_server, make_redis_store
):
    a = make_redis_store(redis_server.url, lease_seconds=0.05)
    b = make_redis_store(redis_server.url)
    late, current, waiter = a.lock("k"), b.lock("k"), b.lock("k")
    assert late.acquire(0) is True
    time.sleep(0.1)  # its lease lapsed
    assert current.acquire(0) is True
    thread, outcome = _wait_behind(waiter)
    time.sleep(0.05)
    late.release(failed=True)  # not its lease any more: no mark
    current.release()
    thread.join(5)
    assert outcome == [True] and waiter.holder_failed is False
    waiter.release()
