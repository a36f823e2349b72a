"""Disk and clock trouble: the program keeps working, warns once per condition, recovers.

Real mechanisms only (the cache under test is never mocked):

- full disk (ENOSPC): a 256 KiB tmpfs mounted over the cache's base folder and
  filled to the last byte;
- read-only folder (EROFS): the same tmpfs remounted ``ro`` (and back ``rw``);
- permission denied (EACCES): a child forked from the test process that drops
  to uid/gid 65534 (``nobody``) with ``setresuid``, acting on root-owned files;
- folder deleted while running, file replaced by a directory, ``.locks`` in the
  way: plain file-system operations.

Mount-based and uid-based tests skip with a reason when not root or when
``mount`` is refused.
"""

from __future__ import annotations

import os
import shutil
import threading
from datetime import timedelta

import pytest

from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached
from hardening_helpers import (
    AsNobody,
    WarningCounter,
    fill_up,
    record,
    remount,
    tmpfs,
    warnings_matching,
    world_traversable_dir,
)

WRITE_FAIL = "cannot write cache file"
READ_FAIL = "cannot read cache file"


def _temps(cache: DiscoveryCache) -> list[str]:
    try:
        return [n for n in os.listdir(cache.cache_dir) if n.endswith(".tmp")]
    except FileNotFoundError:
        return []


def _counted(cache: DiscoveryCache, calls: list[str], key: str = "fault_models:<region>"):
    @discovery_cached(key=key, cache=cache)
    def list_models(region):
        calls.append(region)
        return {"region": region, "models": ["m1", "m2"]}

    return list_models


# -- full disk -----------------------------------------------------------------------
def test_full_disk_keeps_working_in_memory_warns_once_and_recovers(tmp_path, clock, warnings_log):
    with tmpfs(str(tmp_path / "mnt"), "256k") as mnt:
        cache = DiscoveryCache(base_dir=mnt, clock=clock)
        cache.set("before", "written while there was room")
        filler = fill_up(mnt)

        faults = 0
        for i in range(20):
            cache.set(f"k{i}", {"i": i, "pad": "x" * 8000})
            faults += 1
            assert cache.get(f"k{i}") == {"i": i, "pad": "x" * 8000}  # memory tier
        calls: list[str] = []
        list_models = _counted(cache, calls)
        assert list_models("us-east-1") == list_models("us-east-1")
        assert calls == ["us-east-1"]  # computed once, served from memory

        warned = warnings_matching(warnings_log, WRITE_FAIL)
        assert len(warned) == 1 and "ENOSPC" in warned[0], warned
        assert _temps(cache) == []  # the failed writes cleaned up after themselves
        other = DiscoveryCache(base_dir=mnt, clock=clock)
        assert other.get("before") == "written while there was room"  # reads still work
        assert other.get("k0") is None  # a miss, not a half-written file

        os.unlink(filler)  # the condition clears
        cache.set("after", 1)
        assert DiscoveryCache(base_dir=mnt, clock=clock).get("after") == 1
        assert cache.disk.faults.active == frozenset()

        fill_up(mnt)  # and comes back: a new warning
        cache.set("again", 2)
        assert cache.get("again") == 2
        assert len(warnings_matching(warnings_log, WRITE_FAIL)) == 2
        record("fault_enospc", failed_writes=faults + 1, warnings=2)


def test_a_failed_write_does_not_leave_the_superseded_value_to_others(tmp_path, clock):
    with tmpfs(str(tmp_path / "mnt"), "256k") as mnt:
        cache = DiscoveryCache(base_dir=mnt, clock=clock)
        cache.set("k", "v1")
        fill_up(mnt)
        cache.set("k", "v2 " + "x" * 8000)  # cannot be written
        assert cache.get("k").startswith("v2")
        assert DiscoveryCache(base_dir=mnt, clock=clock).get("k", "miss") != "v1"


# -- read-only folder ----------------------------------------------------------------
def test_read_only_folder_keeps_working_warns_once_and_recovers(tmp_path, clock, warnings_log):
    with tmpfs(str(tmp_path / "mnt"), "1m") as mnt:
        cache = DiscoveryCache(base_dir=mnt, clock=clock)
        cache.set("old", "on disk")
        remount(mnt, "ro")
        try:
            for i in range(10):
                cache.set(f"k{i}", i)
                assert cache.get(f"k{i}") == i
            calls: list[str] = []
            list_models = _counted(cache, calls)
            assert list_models("eu-west-1")["region"] == "eu-west-1"
            assert list_models("eu-west-1")["region"] == "eu-west-1"
            assert calls == ["eu-west-1"]
            fresh = DiscoveryCache(base_dir=mnt, clock=clock)
            assert fresh.get("old") == "on disk"  # reading a read-only folder is fine
            fresh.invalidate("old")  # cannot remove: warns, does not raise
            assert fresh.cleanup() == 0
            warned = warnings_matching(warnings_log, WRITE_FAIL)
            assert len(warned) == 1 and "EROFS" in warned[0], warned
        finally:
            remount(mnt, "rw")
        cache.set("after", "back")
        assert DiscoveryCache(base_dir=mnt, clock=clock).get("after") == "back"
        assert not any(action == "write cache file" for action, _ in cache.disk.faults.active)


def test_read_only_home_before_the_folder_exists(tmp_path, clock, warnings_log):
    """As on AWS Lambda: the cache folder cannot even be created."""
    with tmpfs(str(tmp_path / "mnt"), "1m") as mnt:
        remount(mnt, "ro")
        try:
            cache = DiscoveryCache(base_dir=os.path.join(mnt, "home", ".cache"), clock=clock)
            calls: list[str] = []
            list_models = _counted(cache, calls)
            for _ in range(3):
                assert list_models("us-west-2")["region"] == "us-west-2"
                cache.set("k", [1, 2])
                assert cache.get("k") == [1, 2]
            assert calls == ["us-west-2"]
            assert cache.cleanup() == 0
            assert list(cache.entries()) == []
            warned = warnings_matching(warnings_log, "cannot")
            # one per condition (write, lock), not one per call
            assert len(warned) == len({w.split(" /")[0] for w in warned}) <= 2, warned
            assert all("EROFS" in w for w in warned)
        finally:
            remount(mnt, "rw")


# -- permission denied (as uid 65534) ------------------------------------------------
def test_unwritable_cache_folder_as_unprivileged_user_works_and_recovers():
    """Root owns the cache folder; a process running as nobody can't read or write it."""
    with world_traversable_dir() as root:
        base = os.path.join(root, "base")
        DiscoveryCache(base_dir=base).set("root-entry", "private")  # folders 0700, root's

        def child(channel):
            log = WarningCounter()
            cache = DiscoveryCache(base_dir=base)
            calls: list[str] = []
            list_models = _counted(cache, calls)
            results = [list_models("us-east-1") for _ in range(3)]
            for i in range(5):
                cache.set(f"k{i}", i)
            channel.send(
                {
                    "results": results,
                    "calls": calls,
                    "got": [cache.get(f"k{i}") for i in range(5)],
                    "root_entry": cache.get("root-entry"),
                    "warnings": log.messages,
                }
            )
            channel.wait()  # the parent fixes the permissions
            cache.set("after", "recovered")
            log.messages.clear()
            channel.send(
                {
                    "after": DiscoveryCache(base_dir=base).get("after"),
                    "warnings": log.messages,
                    "active": sorted(a for a, _ in cache.disk.faults.active),
                }
            )

        proc = AsNobody(child)
        first = proc.recv()
        assert first["results"] == [{"region": "us-east-1", "models": ["m1", "m2"]}] * 3
        assert first["calls"] == ["us-east-1"]
        assert first["got"] == [0, 1, 2, 3, 4]
        assert first["root_entry"] is None  # can't read it: a miss, not an error
        warned = first["warnings"]
        assert all("EACCES" in w for w in warned), warned
        assert len([w for w in warned if WRITE_FAIL in w]) == 1, warned

        for folder, dirs, files in os.walk(base):  # the administrator fixes it
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chown(name, 65534, 65534)
        proc.go()
        second = proc.recv()
        assert proc.join() == 0
        assert second["after"] == "recovered"
        assert "write cache file" not in second["active"]
        record("fault_eacces_folder", warnings=len(warned))


def test_permission_denied_on_one_file_is_a_miss_and_is_rewritten():
    with world_traversable_dir() as root:
        base = os.path.join(root, "base")
        cache = DiscoveryCache(base_dir=base)
        cache.set("fault_models:ok", {"region": "ok", "models": ["from disk"]})
        cache.set("fault_models:denied", {"region": "denied", "models": ["root only"]})
        for folder, dirs, files in os.walk(base):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chown(name, 65534, 65534)
        denied = cache.file_for("fault_models:denied")
        os.chown(denied, 0, 0)  # one file the user cannot read (mode 0600, root's)

        def child(channel):
            log = WarningCounter()
            cache = DiscoveryCache(base_dir=base)
            calls: list[str] = []
            list_models = _counted(cache, calls)
            ok = list_models("ok")
            first = list_models("denied")
            again = list_models("denied")
            fresh = DiscoveryCache(base_dir=base).get("fault_models:denied")
            channel.send(
                {"ok": ok, "first": first, "again": again, "fresh": fresh, "calls": calls}
                | {"warnings": log.messages}
            )

        proc = AsNobody(child)
        out = proc.recv()
        assert proc.join() == 0
        assert out["ok"] == {"region": "ok", "models": ["from disk"]}
        assert out["first"] == out["again"] == {"region": "denied", "models": ["m1", "m2"]}
        assert out["calls"] == ["denied"]  # computed once, "ok" came from disk
        assert out["fresh"] == out["first"]  # the unreadable file was replaced by the user's
        warned = [w for w in out["warnings"] if READ_FAIL in w]
        assert len(warned) == 1 and "EACCES" in warned[0], out["warnings"]
        assert os.stat(denied).st_uid == 65534


# -- folder deleted while running -----------------------------------------------------
def test_folder_deleted_while_running(cache, make_cache, cache_dir, warnings_log):
    cache.set("a", 1)
    calls: list[str] = []
    list_models = _counted(cache, calls)
    list_models("us-east-1")
    shutil.rmtree(cache_dir)

    assert cache.get("a") == 1  # memory still has it
    assert make_cache().get("a") is None  # a miss, not an error
    assert list(cache.entries()) == []
    assert cache.cleanup() == 0
    assert cache.invalidate("nothing") == 0
    list_models.invalidate("us-east-1")
    assert list_models("us-east-1")["region"] == "us-east-1"  # recomputed, lock dir recreated
    assert calls == ["us-east-1", "us-east-1"]
    cache.set("b", 2)  # recreates the folder
    assert make_cache().get("b") == 2
    assert warnings_matching(warnings_log, "cannot") == []


@pytest.mark.slow
def test_folder_deleted_again_and_again_under_concurrent_writers(cache_dir):
    cache = DiscoveryCache(base_dir=cache_dir, durable=False, max_memory_entries=0)
    stop = threading.Event()
    errors: list[BaseException] = []
    counts = {"sets": 0, "gets": 0, "rmtree": 0}

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                cache.set(f"k{n}", {"n": n, "i": i})
                value = cache.get(f"k{n}")
                assert value is None or value["n"] == n
                counts["sets"] += 1
                counts["gets"] += 1
            except BaseException as exc:
                errors.append(exc)
                return
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(200):
            shutil.rmtree(cache_dir, ignore_errors=True)
            counts["rmtree"] += 1
            threading.Event().wait(0.005)  # let the writers run between deletions
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    cache.set("final", "ok")
    assert DiscoveryCache(base_dir=cache_dir).get("final") == "ok"
    record("fault_folder_deleted", **counts)


# -- a file replaced by a directory ----------------------------------------------------
def test_entry_file_replaced_by_a_directory(cache, make_cache, warnings_log):
    cache.set("k", "v")
    path = cache.file_for("k")
    os.unlink(path)
    os.mkdir(path)
    other = make_cache()
    assert other.get("k", "miss") == "miss"
    other.set("k", "new")  # cannot replace a directory: memory only
    assert other.get("k") == "new"
    other.set("k", "newer")
    assert other.get("k") == "newer"
    other.cleanup()
    other.invalidate()
    assert len(warnings_matching(warnings_log, WRITE_FAIL)) == 1
    assert len(warnings_matching(warnings_log, READ_FAIL)) == 1

    os.rmdir(path)  # cleared
    other.set("k", "on disk again")
    assert make_cache().get("k") == "on disk again"
    assert not any(action == "write cache file" for action, _ in other.disk.faults.active)


def test_a_read_fault_that_recurs_after_recovery_warns_again(cache, make_cache, warnings_log):
    cache.set("k", "v")
    path = cache.file_for("k")
    reader = make_cache(max_memory_entries=0)
    os.unlink(path)
    os.mkdir(path)  # read fails (EISDIR)
    assert reader.get("k") is None
    os.rmdir(path)
    cache.set("k", "v2")
    assert reader.get("k") == "v2"  # reads work again
    os.unlink(path)
    os.mkdir(path)  # ... and fail again
    assert reader.get("k") is None
    assert len(warnings_matching(warnings_log, READ_FAIL)) == 2


def test_lock_folder_in_the_way_computes_without_the_lock(cache, make_cache, warnings_log):
    cache.set("x", 1)  # the cache folder exists
    with open(os.path.join(cache.cache_dir, ".locks"), "w") as f:
        f.write("not a folder")
    calls: list[str] = []
    list_models = _counted(cache, calls)
    assert list_models("us-east-1")["region"] == "us-east-1"
    assert list_models("us-east-2")["region"] == "us-east-2"
    assert calls == ["us-east-1", "us-east-2"]
    assert len(warnings_matching(warnings_log, "cannot lock")) == 1
    assert make_cache().get("fault_models:us-east-1")["region"] == "us-east-1"


# -- clock trouble --------------------------------------------------------------------
def test_entry_created_in_the_future_is_not_trusted(clock, make_cache):
    """Written while the clock was a year ahead; once the clock is fixed it must not live on."""
    ahead = make_cache()
    clock.jump_wall(365 * 86400)
    ahead.set("k", "from the future", disk_ttl=timedelta(days=3))
    clock.jump_wall(-365 * 86400)  # NTP fixes the clock
    now = make_cache()
    assert now.get("k", "miss") == "miss"  # naive: served for a year and three days
    assert now.cleanup() == 1  # and removed
    now.set("k", "fresh")
    assert make_cache().get("k") == "fresh"


def test_small_clock_skew_between_processes_is_tolerated(clock, make_cache):
    ahead = make_cache()
    clock.jump_wall(60)  # another process whose clock is a minute ahead
    ahead.set("k", "v")
    clock.jump_wall(-60)
    reader = make_cache()
    assert reader.get("k") == "v"
    assert reader.cleanup() == 0


def test_wall_clock_jumps_do_not_make_memory_entries_immortal(cache, clock):
    cache.set("k", "v", memory_ttl=60, disk_ttl=0)
    clock.jump_wall(-10 * 365 * 86400)  # the wall clock goes back ten years
    assert cache.get("k") == "v"
    clock.advance(61)
    assert cache.get("k", "miss") == "miss"


def test_wall_clock_jump_forward_does_not_expire_memory_early(cache, clock):
    cache.set("k", "v", memory_ttl=60, disk_ttl=0)
    clock.jump_wall(10 * 365 * 86400)
    assert cache.get("k") == "v"
    clock.advance(59)
    assert cache.get("k") == "v"
    clock.advance(2)
    assert cache.get("k", "miss") == "miss"


def test_disk_hit_promoted_to_memory_then_wall_clock_goes_back(clock, make_cache):
    make_cache().set("k", "v", memory_ttl=600, disk_ttl=100)
    reader = make_cache()
    clock.advance(50)
    assert reader.get("k") == "v"  # promoted for its remaining 50 s of disk life
    clock.jump_wall(-86400)
    clock.advance(51)
    assert reader.get("k", "miss") == "miss"  # memory copy ends when the disk entry would
