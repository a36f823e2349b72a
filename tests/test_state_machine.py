"""Model-based test: DiscoveryCache against a plain-dict model with TTLs.

A hypothesis ``RuleBasedStateMachine`` drives two live ``DiscoveryCache``
instances on one folder (two "processes") through set / get / invalidate /
invalidate-all / cleanup / restart (a new instance on the same folder) /
advance-clock / wall-clock jumps, and checks every ``get`` against a model:

- disk: key -> (value, created, expires) in wall seconds, shared by instances;
- memory, per instance: key -> (value, monotonic deadline); a disk hit is
  promoted for ``min(memory TTL, remaining disk life)``;
- an entry "created" more than 300 s in the future (clock moved back) is a miss
  and is removed by ``cleanup()``.

Times and TTLs are whole seconds so the model's arithmetic is exact and the
boundaries (an entry expires exactly at its TTL) are checked too.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from dbp.llm.bedrock.discovery import DiscoveryCache, ManualClock
from hardening_helpers import record

MISSING = object()
MAX_SKEW = 300
KEYS = st.sampled_from(["a", "bedrock_models:us-east-1", "é/../x\n"])
INSTANCE = st.integers(0, 1)
MEMORY_TTL = {0: 30, 1: 5}  # the instances' defaults (seconds)
DISK_TTL = 100

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | st.datetimes(timezones=st.none() | st.just(dt.timezone.utc))
    | st.dates()
)
VALUES = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
STEPS = {"steps": 0, "gets": 0, "hits": 0, "runs": 0}


class CacheMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="dbp-model-")
        self.clock = ManualClock()
        self.caches = [self._new(0), self._new(1)]
        self.disk: dict[str, tuple[object, int, int]] = {}
        self.memory: list[dict[str, tuple[object, int]]] = [{}, {}]
        self.wall = int(self.clock.time())
        self.mono = int(self.clock.monotonic())
        STEPS["runs"] += 1

    def _new(self, i: int) -> DiscoveryCache:
        return DiscoveryCache(
            base_dir=self.folder,
            clock=self.clock,
            memory_ttl_seconds=MEMORY_TTL[i],
            disk_ttl_days=timedelta(seconds=DISK_TTL),
            durable=False,
        )

    def teardown(self) -> None:
        shutil.rmtree(getattr(self, "folder", ""), ignore_errors=True)

    # -- the model --------------------------------------------------------------
    def _disk_fresh(self, key: str):
        found = self.disk.get(key)
        if found is None:
            return MISSING
        value, created, expires = found
        if expires <= self.wall or created > self.wall + MAX_SKEW:
            return MISSING
        return found

    def expected_get(self, i: int, key: str):
        slot = self.memory[i].get(key)
        if slot is not None and slot[1] > self.mono:
            return slot[0]
        found = self._disk_fresh(key)
        if found is MISSING:
            return MISSING
        value, _, expires = found
        if MEMORY_TTL[i] > 0:  # promoted for at most the remaining disk life
            deadline = min(expires, self.wall + MEMORY_TTL[i]) - self.wall + self.mono
            self.memory[i][key] = (value, deadline)
        return value

    # -- rules -------------------------------------------------------------------
    @rule(
        i=INSTANCE,
        key=KEYS,
        value=VALUES,
        memory_ttl=st.sampled_from([None, 1, 5, 30, 200]),
        disk_ttl=st.sampled_from([None, 1, 10, 50, 400]),
    )
    def set(self, i, key, value, memory_ttl, disk_ttl) -> None:
        STEPS["steps"] += 1
        self.caches[i].set(key, value, memory_ttl=memory_ttl, disk_ttl=disk_ttl)
        m = MEMORY_TTL[i] if memory_ttl is None else memory_ttl
        d = DISK_TTL if disk_ttl is None else disk_ttl
        self.memory[i][key] = (value, self.mono + m)
        self.disk[key] = (value, self.wall, self.wall + d)

    @rule(i=INSTANCE, key=KEYS, value=VALUES)
    def set_with_defaults(self, i, key, value) -> None:
        self.set(i, key, value, None, None)

    @rule(i=INSTANCE, key=KEYS)
    def get(self, i, key) -> None:
        STEPS["steps"] += 1
        STEPS["gets"] += 1
        got = self.caches[i].get(key, MISSING)
        expected = self.expected_get(i, key)
        if expected is MISSING:
            assert got is MISSING, (key, got)
        else:
            STEPS["hits"] += 1
            assert got is not MISSING, (key, expected)
            assert got == expected and type(got) is type(expected), (key, got, expected)

    @rule(key=KEYS)
    def get_from_both(self, key) -> None:
        self.get(0, key)
        self.get(1, key)

    @rule(i=INSTANCE, key=KEYS)
    def invalidate(self, i, key) -> None:
        STEPS["steps"] += 1
        self.caches[i].invalidate(key)
        self.memory[i].pop(key, None)
        self.disk.pop(key, None)

    @rule(i=INSTANCE)
    def invalidate_all(self, i) -> None:
        STEPS["steps"] += 1
        self.caches[i].invalidate()
        self.memory[i].clear()
        self.disk.clear()

    @rule(i=INSTANCE)
    def cleanup(self, i) -> None:
        STEPS["steps"] += 1
        removed = self.caches[i].cleanup()
        doomed = [
            k
            for k, (_, created, expires) in self.disk.items()
            if expires <= self.wall or created > self.wall + MAX_SKEW
        ]
        assert removed == len(doomed), (removed, doomed)
        for k in doomed:
            del self.disk[k]

    @rule(i=INSTANCE)
    def restart(self, i) -> None:
        """A new process on the same folder: empty memory, same disk."""
        STEPS["steps"] += 1
        self.caches[i] = self._new(i)
        self.memory[i] = {}

    @rule(seconds=st.sampled_from([0, 1, 4, 5, 6, 20, 29, 30, 31, 60, 99, 100, 101, 200]))
    def advance(self, seconds) -> None:
        STEPS["steps"] += 1
        self.clock.advance(seconds)
        self.wall += seconds
        self.mono += seconds

    @rule(seconds=st.sampled_from([-3600, -301, -300, -299, -60, -1, 1, 60, 3600]))
    def jump_wall(self, seconds) -> None:
        """NTP steps or a user changes the date: only the wall clock moves."""
        STEPS["steps"] += 1
        self.clock.jump_wall(seconds)
        self.wall += seconds

    @invariant()
    def clocks_agree(self) -> None:
        if hasattr(self, "clock"):
            assert self.clock.time() == self.wall and self.clock.monotonic() == self.mono


@pytest.mark.slow
def test_cache_behaves_like_the_model():
    before = dict(STEPS)
    run_state_machine_as_test(
        CacheMachine,
        settings=settings(
            max_examples=250,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    record(
        "state_machine",
        runs=STEPS["runs"] - before["runs"],
        steps=STEPS["steps"] - before["steps"],
        gets_checked=STEPS["gets"] - before["gets"],
        hits_checked=STEPS["hits"] - before["hits"],
    )


# -- found by the model, kept out of it until fixed ------------------------------------
def test_set_with_memory_ttl_zero_replaces_the_previous_memory_value(cache):
    cache.set("k", "v1")
    cache.set("k", "v2", memory_ttl=0)
    assert cache.get("k") == "v2"


def test_set_with_disk_ttl_zero_replaces_the_previous_disk_value(cache, clock, make_cache):
    cache.set("k", "v1", disk_ttl=3600)
    cache.set("k", "v2", memory_ttl=10, disk_ttl=0)
    assert make_cache().get("k", "miss") != "v1"
    clock.advance(11)
    assert cache.get("k", "miss") == "miss"
