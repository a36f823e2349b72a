"""cache_clear() reads only the function's own files, and stays right across crashes and races.

The disk tier lists each decorated function's entry files in an owner index
(``.owners/<hash>/<entry>``), written before the entry is renamed into place.
These tests check what a user relies on: a clear removes every entry of the
function written by any process (also by a writer killed mid-write, or by code
that predates the index), never another function's entry, never a file renamed
into place after it was judged, and readers of a folder being emptied see
misses, never errors.
"""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from conftest import cache_files
from dbp.cache.stores.owner_index import MARKER_GRACE
from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached


def _owned(cache: DiscoveryCache, prefix: str) -> list[str]:
    """Keys on disk starting with ``prefix`` whose header names an owner (a function)."""
    return sorted(e.key for e in cache.entries() if e.key and e.key.startswith(prefix) and e.owner)


def _owner(cache: DiscoveryCache, key: str) -> str:
    return next(e.owner for e in cache.entries() if e.key == key and e.owner)


def _functions(cache: DiscoveryCache):
    @discovery_cached(key="models:<region>", cache=cache, memory_ttl=0)
    def models(region):
        return "m-" + region

    @discovery_cached(key="profiles:<region>", cache=cache, memory_ttl=0)
    def profiles(region):
        return "p-" + region

    return models, profiles


def _count_header_reads(cache: DiscoveryCache) -> list[str]:
    reads: list[str] = []
    peek = cache.disk._peek

    def counted(path):
        reads.append(path)
        return peek(path)

    cache.disk._peek = counted
    return reads


def test_cache_clear_reads_only_the_functions_own_files(cache):
    models, profiles = _functions(cache)
    for i in range(300):
        cache.set(f"filler:{i}", i)
    for r in ("a", "b", "c"):
        models(r)
        profiles(r)
    assert models.cache_clear() == 3  # the first clear of a folder sweeps it once
    for r in ("a", "b", "c"):
        models(r)
    reads = _count_header_reads(cache)
    assert models.cache_clear() == 3
    assert len(reads) == 3  # not 306: the index names the function's files
    assert [cache.get(f"models:{r}", "MISS") for r in "abc"] == ["MISS"] * 3
    assert [cache.get(f"profiles:{r}") for r in "abc"] == ["p-a", "p-b", "p-c"]
    assert cache.get("filler:7") == 7


def test_entries_written_before_the_index_existed_are_cleared(cache, make_cache):
    models, profiles = _functions(cache)
    for r in ("a", "b"):
        models(r)
        profiles(r)
    # A folder written by a version without the index: no .owners folder at all.
    import shutil

    shutil.rmtree(os.path.join(cache.cache_dir, ".owners"))
    other = make_cache()
    m2, p2 = _functions(other)
    assert m2.cache_clear() == 2
    assert _owned(other, "models:") == []
    assert len(_owned(other, "profiles:")) == 2
    reads = _count_header_reads(other)
    assert p2.cache_clear() == 2  # the sweep indexed the other function's entries
    assert len(reads) == 2
    assert cache_files(other) == []


def test_a_stale_or_planted_marker_never_removes_another_functions_entry(cache):
    models, profiles = _functions(cache)
    models("a")
    profiles("a")
    owner = _owner(cache, "models:a")
    models.cache_clear()
    # Plant a marker in models' index that names profiles' entry.
    folder = cache.disk.index.folder(owner)
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, os.path.basename(cache.file_for("profiles:a"))), "w").close()
    assert models.cache_clear() == 0
    assert cache.get("profiles:a") == "p-a"


def test_a_damaged_index_costs_a_full_read_never_a_lost_clear(cache, caplog):
    models, profiles = _functions(cache)
    for r in "ab":
        models(r)
        profiles(r)
    folder = cache.disk.index.folder(_owner(cache, "models:a"))
    models.cache_clear()
    for r in "ab":
        models(r)
    import shutil

    shutil.rmtree(folder)
    open(folder, "w").close()  # the function's marker folder is now a plain file
    assert models.cache_clear() == 2
    assert _owned(cache, "models:") == []
    assert len(_owned(cache, "profiles:")) == 2


def test_clear_keeps_a_file_renamed_into_place_after_its_header_was_read(cache, make_cache):
    models, _ = _functions(cache)
    models("a")
    models.cache_clear()  # index complete
    models("a")
    peek = cache.disk._peek

    def peek_then_race(path):
        judged = peek(path)
        make_cache().set("models:a", "newer")  # another process renames a new file in
        return judged

    cache.disk._peek = peek_then_race
    assert models.cache_clear() == 0
    assert make_cache().get("models:a") == "newer"


def test_old_markers_of_gone_entries_are_pruned_and_fresh_ones_kept(cache, clock):
    models, _ = _functions(cache)
    for r in "abcd":
        models(r)
    models.cache_clear()
    for r in "abcd":
        models(r)
    folder = cache.disk.index.folder(_owner(cache, "models:a"))
    names = {r: os.path.basename(cache.file_for(f"models:{r}")) for r in "abcd"}
    old = time.time() - MARKER_GRACE - 60
    for r in "acd":
        os.utime(os.path.join(folder, names[r]), (old, old))
    cache.invalidate("models:a")  # gone, marker old: the next clear prunes it
    cache.invalidate("models:b")  # gone, marker fresh: a writer may be mid-write, kept
    assert sorted(os.listdir(folder)) == sorted(names.values())
    assert models.cache_clear() == 2  # c and d; their old markers go too
    assert os.listdir(folder) == [names["b"]]
    # cleanup() drops the marker of an expired entry it removes (once the marker is old).
    models("d")
    os.utime(os.path.join(folder, names["d"]), (old, old))
    clock.advance(10 * 86400)
    assert cache.cleanup() == 1
    assert os.listdir(folder) == [names["b"]]


def test_planted_index_symlink_is_not_followed(cache, tmp_path, caplog):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.makedirs(cache.cache_dir, exist_ok=True)
    os.symlink(elsewhere, os.path.join(cache.cache_dir, ".owners"))
    models, _ = _functions(cache)
    assert models("a") == "m-a"  # the call works; the entry is not stored un-indexed
    assert os.listdir(elsewhere) == []
    assert _owned(cache, "models:") == []
    assert "symbolic link" in caplog.text


def _fork(body) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            code = body() or 0
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 2
        finally:
            os._exit(code)
    return pid


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return status


@pytest.mark.parametrize("kill_after", ["marker", "entry"])
def test_writer_killed_mid_write_leaves_nothing_a_clear_misses(cache, make_cache, kill_after):
    models, _ = _functions(cache)
    models("a")
    models.cache_clear()  # index complete
    models("a")  # an older value on disk, listed in the index
    cache_dir = cache.cache_dir

    def child():
        if kill_after == "marker":
            mark = cache.disk.index.mark

            def mark_then_die(owner, entry):
                mark(owner, entry)
                os.kill(os.getpid(), signal.SIGKILL)

            cache.disk.index.mark = mark_then_die
        else:
            replace = os.replace

            def replace_then_die(src, dst):
                replace(src, dst)
                if os.path.dirname(dst) == cache_dir and dst.endswith(".dbpc"):
                    os.kill(os.getpid(), signal.SIGKILL)

            os.replace = replace_then_die
        models("b")  # a new entry: killed before or after its rename
        return 0

    status = _wait(_fork(child))
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    fresh = make_cache()
    m2, _ = _functions(fresh)
    on_disk = ["models:a"] + (["models:b"] if kill_after == "entry" else [])
    assert _owned(fresh, "models:") == on_disk
    assert m2.cache_clear() == len(on_disk)
    assert _owned(fresh, "models:") == []
    assert cache_files(fresh) == []


def test_clear_and_fill_racing_in_two_processes_leave_no_entry_behind(cache, make_cache, caplog):
    caplog.set_level(logging.WARNING)
    models, profiles = _functions(cache)
    profiles("keep")
    models("a")
    models.cache_clear()  # index complete
    regions = [f"r{i}" for i in range(12)]

    def filler():
        filler_cache = make_cache(max_memory_entries=0)
        mine, _ = _functions(filler_cache)
        for _ in range(25):
            for r in regions:
                if mine(r) != "m-" + r:
                    return 3
        return 1 if filler_cache.disk.faults.active else 0

    pid = _fork(filler)
    clears = 0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        models.cache_clear()
        clears += 1
        if done:
            break
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert clears > 1
    models.cache_clear()  # the writer has stopped: this clear must find everything
    assert _owned(cache, "models:") == []
    assert cache.get("profiles:keep") == "p-keep"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_invalidate_everything_while_another_process_reads_shows_misses_not_errors(
    cache, make_cache
):
    keys = [f"k{i}" for i in range(150)]
    for k in keys:
        cache.set(k, {"key": k})
    ready = os.path.join(cache.base_dir, "reader.ready")

    def reader():
        seen: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = seen.append  # type: ignore[method-assign]
        logging.getLogger("dbp").addHandler(handler)
        reading = make_cache(max_memory_entries=0)
        hits = misses = 0
        open(ready, "w").close()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            for k in keys:
                got = reading.get(k, "MISS")
                if got == "MISS":
                    misses += 1
                elif got != {"key": k}:
                    return 3
                else:
                    hits += 1
            reading.cleanup() if misses % 7 == 0 else None
            list(reading.entries())
        if any(r.levelno >= logging.WARNING for r in seen):
            return 4
        return 0 if hits and misses else 5

    pid = _fork(reader)
    while not os.path.exists(ready):
        time.sleep(0.01)
    rounds = 0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        assert cache.invalidate() >= 0
        for k in keys:
            cache.set(k, {"key": k})
        rounds += 1
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert rounds > 1
