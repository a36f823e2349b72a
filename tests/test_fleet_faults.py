"""A dead or frozen Redis never fails a call nor makes it much slower; sharing resumes.

Two "hosts" (caches with their own ``base_dir``) in this process share one real
``redis-server``, which is SIGKILLed and restarted, or SIGSTOPped for longer than
the budget. The Redis calls keep the library's default budget (50 ms per call).
Timings are asserted with generous slack: the machine is shared and loaded; what
is guarded against is redis-py's own defaults (5 s time-outs, 10 retries).
"""

from __future__ import annotations

import collections
import itertools
import threading
import time

import pytest

from dbp.cache import TieredCache, discovery_cached
from hardening_helpers import record

#: The library's per-call budget and the most Redis calls one miss makes (get, lease, set).
BUDGET, CALLS_PER_MISS = 0.05, 3
#: One call's extra delay may be at most this (budget x calls, plus slack for a loaded box).
MAX_EXTRA = CALLS_PER_MISS * BUDGET + 0.75


class Upstream:
    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    def __call__(self, region: str) -> dict:
        with self.lock:
            self.calls[region] += 1
        return {"region": region}


@pytest.fixture
def two_hosts(tmp_path, redis_server):
    caches = [
        TieredCache(base_dir=tmp_path / f"host-{name}", redis_url=redis_server.url) for name in "ab"
    ]
    upstream = Upstream()
    funcs = [discovery_cached(key="fleet_models:<region>", cache=c)(upstream) for c in caches]
    for func, name in zip(funcs, "ab", strict=True):
        # Connections opened before the test: a connection's set-up is paid within the
        # first call's Redis budget, and on a loaded box it can take the whole budget.
        func(f"connect-{name}")
    yield funcs, upstream
    for cache in caches:
        cache.close()


def timed_calls(func, regions) -> list[float]:
    """Call ``func`` for each region; every call must return its value. Seconds per call."""
    took = []
    for region in regions:
        started = time.monotonic()
        assert func(region) == {"region": region}
        took.append(time.monotonic() - started)
    return took


def sharing_resumes(funcs, upstream: Upstream, timeout: float = 20.0) -> float:
    """Seconds until a key missed by host a then host b is computed once for both."""
    started = time.monotonic()
    fa, fb = funcs
    for i in itertools.count():
        region = f"after-{i}"
        fa(region)
        fb(region)
        if upstream.calls[region] == 1:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, "sharing did not resume"
        time.sleep(0.1)
    raise AssertionError  # pragma: no cover


def test_a_killed_and_restarted_redis_fails_no_call_and_sharing_resumes(two_hosts, redis_server):
    funcs, upstream = two_hosts
    fa, fb = funcs
    assert fa("warm") == fb("warm") and upstream.calls["warm"] == 1  # shared

    redis_server.kill()
    took = timed_calls(fa, [f"down-{i}" for i in range(20)]) + timed_calls(fb, ["warm", "down-0"])
    assert max(took) < MAX_EXTRA, took
    assert sum(took) < 2.0, took  # after the breaker opens, Redis costs nothing
    redis_server.start()  # same port, empty
    resumed = sharing_resumes(funcs, upstream)
    record("fleet_redis_killed", calls=len(took), max_s=max(took), resumed_s=resumed)


def test_a_frozen_redis_costs_each_call_one_budget_at_most_and_sharing_resumes(
    two_hosts, redis_server
):
    funcs, upstream = two_hosts
    fa, fb = funcs
    assert fa("warm") == fb("warm") and upstream.calls["warm"] == 1

    redis_server.stop()  # SIGSTOP: connections stay open, nothing answers
    took: list[float] = []
    frozen_until = time.monotonic() + 1.5  # much longer than the budget
    for i in itertools.count():
        if time.monotonic() >= frozen_until:
            break
        took += timed_calls(fa if i % 2 else fb, [f"frozen-{i}", "warm"])
    redis_server.cont()
    assert max(took) < MAX_EXTRA, sorted(took)[-5:]
    slow = [t for t in took if t >= BUDGET * 0.9]
    assert len(slow) <= 8, slow  # each host: until its breaker opens, then one probe a second
    resumed = sharing_resumes(funcs, upstream)
    record(
        "fleet_redis_frozen", calls=len(took), slow=len(slow), max_s=max(took), resumed_s=resumed
    )
