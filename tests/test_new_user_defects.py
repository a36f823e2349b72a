"""Defects found by trying the library as a new user would (issue 10).

Each test failed on the code before its fix: pickling for process pools,
``CACHE_VERSION``, one warning per unusable folder, 0700 lock folders, lock
re-entrancy under contention, factory-made functions, ``*_ttl=0`` reads, and
"logged once" for unstorable values. (Integers beyond 64 bits: test_values.py.)
"""

from __future__ import annotations

import concurrent.futures
import copy
import logging
import multiprocessing
import os
import pickle
import stat
import sys
import threading
import time

import pytest

from conftest import cache_files
from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached
from hardening_helpers import need_root, remount, tmpfs, warnings_matching

# -- 1. pickling by reference, for process pools ------------------------------------------

POOL_MODULE = """
import os
from dbp.llm.bedrock.discovery import discovery_cached


@discovery_cached(key="pool_models:<region>")
def list_models(region):
    with open(os.environ["POOL_CALLS"], "a") as f:
        f.write(f"{os.getpid()} {region}\\n")
    return {"region": region, "pid": os.getpid()}


class Discovery:
    @discovery_cached(key="pool_method:<region>")
    def models(self, region):
        return {"region": region}
"""


@pytest.fixture
def pool_module(tmp_path, monkeypatch):
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "pool_mod.py").write_text(POOL_MODULE)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), *sys.path]))
    monkeypatch.setenv("POOL_CALLS", str(calls))
    monkeypatch.setenv("DBP_CACHE_DIR", str(tmp_path / "shared-cache"))
    sys.modules.pop("pool_mod", None)
    import pool_mod

    yield pool_mod, calls
    sys.modules.pop("pool_mod", None)


def test_a_cached_function_pickles_by_reference_and_copies_are_itself(pool_module):
    mod, _ = pool_module
    assert pickle.loads(pickle.dumps(mod.list_models)) is mod.list_models
    assert copy.copy(mod.list_models) is mod.list_models
    assert copy.deepcopy(mod.list_models) is mod.list_models
    through_class = pickle.loads(pickle.dumps(mod.Discovery.models))
    assert through_class(mod.Discovery(), "r") == {"region": "r"}
    bound = pickle.loads(pickle.dumps(mod.Discovery().models))
    assert bound("r2") == {"region": "r2"}
    assert bound.cache_key("r2") == "pool_method:r2"


def test_a_local_cached_function_refuses_to_pickle_clearly(cache):
    @discovery_cached(key="local:<x>", cache=cache)
    def local(x):
        return x

    with pytest.raises(pickle.PicklingError, match="by reference"):
        pickle.dumps(local)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_process_pool_children_use_the_cache(pool_module, method):
    mod, calls = pool_module
    parent = mod.list_models("us-east-1")  # the parent fills the disk tier
    context = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        results = list(pool.map(mod.list_models, ["us-east-1", "us-east-1", "eu-west-1"]))
    assert results[0] == results[1] == parent  # disk hits in the children: the parent's value
    assert results[2]["region"] == "eu-west-1"
    lines = calls.read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["us-east-1", "eu-west-1"]


# -- 2. CACHE_VERSION is the user's data version ----------------------------------------------


def test_bumping_cache_version_makes_old_entries_misses_and_cleanup_removes_them(cache_dir, clock):
    old = DiscoveryCache(base_dir=cache_dir, clock=clock)
    old.set("shape", {"v": 1})
    old.set("kept", "x")

    class Deployed(DiscoveryCache):
        CACHE_VERSION = "2024-06"

    new = Deployed(base_dir=cache_dir, clock=clock)
    assert new.get("shape", "miss") == "miss"
    new.set("kept", "y")  # written under the new version
    assert new.cleanup() == 1  # only the old-version "shape" file goes
    assert new.get("kept") == "y"
    assert DiscoveryCache(base_dir=cache_dir, clock=clock).get("kept", "miss") == "miss"


def test_cache_version_set_on_an_instance_takes_effect(cache, make_cache):
    cache.set("k", 1)
    reader = make_cache(max_memory_entries=0)
    assert reader.get("k") == 1
    reader.CACHE_VERSION = 7
    assert reader.get("k", "miss") == "miss"
    reader.set("k", 2)
    assert reader.get("k") == 2
    assert make_cache().get("k", "miss") == "miss"  # the default version sees a foreign file


def test_cache_version_must_be_an_int_or_a_str(cache_dir):
    class Broken(DiscoveryCache):
        CACHE_VERSION = 1.5  # type: ignore[assignment]

    with pytest.raises(TypeError, match="CACHE_VERSION"):
        Broken(base_dir=cache_dir)


# -- 3. one warning per unusable folder ---------------------------------------------------------


def _use(cache: DiscoveryCache) -> None:
    cache.set("a", 1)
    assert cache.get("a") == 1  # memory keeps working
    cache.set("b", 2)
    assert cache.get("b") == 2

    @discovery_cached(key="unusable:<x>", cache=cache)
    def f(x):
        return x

    assert f(1) == 1
    assert f(1) == 1
    assert cache.get("zzz", "miss") == "miss"


@pytest.mark.parametrize("where", ["base_dir_is_a_file", "under_a_file"])
def test_an_unusable_folder_gives_one_warning_naming_it(tmp_path, warnings_log, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    base = blocker if where == "base_dir_is_a_file" else blocker / "sub"
    cache = DiscoveryCache(base_dir=base)
    _use(cache)
    warned = [r.getMessage() for r in warnings_log.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1, warned
    assert str(base / "cache") in warned[0]
    assert "DBP_CACHE_DIR" in warned[0]
    assert ".dbpc" not in warned[0]  # the folder, not a file


def test_a_read_only_parent_gives_one_warning_and_recovers(tmp_path, warnings_log):
    need_root()
    with tmpfs(str(tmp_path / "mnt"), "1m") as mnt:
        remount(mnt, "ro")
        try:
            cache = DiscoveryCache(base_dir=os.path.join(mnt, "app"))
            _use(cache)
            warned = [r.getMessage() for r in warnings_log.records if r.levelno >= logging.WARNING]
            assert len(warned) == 1, warned
            assert "DBP_CACHE_DIR" in warned[0] and os.path.join(mnt, "app", "cache") in warned[0]
        finally:
            remount(mnt, "rw")
        cache.set("later", "on disk")  # works again, quietly
        assert DiscoveryCache(base_dir=os.path.join(mnt, "app")).get("later") == "on disk"


# -- 4. every folder 0700 and every file 0600, whatever the umask --------------------------------


@pytest.mark.parametrize("umask", [0, 0o077, 0o022])
def test_folders_0700_and_files_0600_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        cache = DiscoveryCache(base_dir=tmp_path / "deep" / "base")

        @discovery_cached(key="perm:<x>", cache=cache)
        def f(x):
            return x

        f(1)  # takes the host lock: creates .locks and a lock file
    finally:
        os.umask(old)
    folders, files = [str(tmp_path / "deep")], []
    for root, dirs, names in os.walk(tmp_path / "deep"):
        folders += [os.path.join(root, d) for d in dirs]
        files += [os.path.join(root, n) for n in names]
    expected = {"base", "cache", ".locks", ".owners"}
    assert expected <= {os.path.basename(f) for f in folders}
    for folder in folders:  # every folder the library made: cache, locks, owner index
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
    assert any(f.endswith(".dbpc") for f in files) and any(f.endswith(".lock") for f in files)
    for path in files:  # entries, lock files, owner markers
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


# -- 5. host lock re-entrancy is per holder ---------------------------------------------------------


def test_reentering_the_host_lock_while_another_thread_waits(cache_dir):
    cache = DiscoveryCache(base_dir=cache_dir, lock_timeout=0.5)
    holding, waited, results = threading.Event(), threading.Event(), {}

    def holder():
        with cache.locked("k") as held:
            results["outer"] = held
            holding.set()
            waited.wait(5)
            time.sleep(0.1)  # B is now blocked on the lock
            started = time.monotonic()
            with cache.locked("k") as again:  # re-enter while B waits
                results["inner"] = again
            results["reenter_seconds"] = time.monotonic() - started

    def waiter():
        holding.wait(5)
        waited.set()
        with cache.locked("k") as held:
            results["waiter"] = held

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results["outer"] is True and results["inner"] is True
    assert results["reenter_seconds"] < 0.25  # did not wait lock_timeout for itself
    assert "waiter" in results


# -- 6. functions made by one factory keep their entries apart ----------------------------------------


def test_functions_made_by_one_factory_do_not_share_entries(cache):
    def make_adder(n):
        @discovery_cached(cache=cache)
        def add(x):
            return x + n

        return add

    add1, add2 = make_adder(1), make_adder(2)
    assert add1(10) == 11
    assert add2(10) == 12
    assert add1(10) == 11
    assert add1.cache_key(10) != add2.cache_key(10)
    assert add2.cache_clear() == 1  # only its own entry
    assert add1.cache_info().hits == 1 and add1(10) == 11
    assert add1.cache_info().hits == 2


def test_a_factory_closure_without_stable_text_bypasses_with_one_warning(cache, warnings_log):
    class Client:  # default repr: a memory address
        pass

    def make(client):
        @discovery_cached(cache=cache)
        def models(region):
            return [region, id(client)]

        return models

    a, b = make(Client()), make(Client())
    assert a("r") != b("r")  # never each other's result
    assert a("r")[1] == a("r")[1]
    assert len(warnings_matching(warnings_log, "explicit key=")) == 2  # once per function
    assert cache_files(cache) == []


def test_a_template_key_stays_what_the_user_wrote(cache):
    def make(n):
        @discovery_cached(key="shared:<x>", cache=cache)
        def f(x):
            return x + n

        return f

    assert make(1).cache_key(5) == make(2).cache_key(5) == "shared:5"


# -- 7. a tier at 0 is neither read nor written -------------------------------------------------------


@pytest.mark.parametrize("tier", ["disk", "memory"])
def test_a_tier_at_zero_is_not_read(cache, make_cache, tier):
    only_in = "memory" if tier == "memory" else "disk"  # the other tier stays empty
    skip = {"disk_ttl": 0} if only_in == "memory" else {"memory_ttl": 0}

    @discovery_cached(key="zero:<x>", cache=cache, **skip)
    def other(x):
        return "other's value"

    other(1)  # fills one tier under the shared template key
    reader = cache if tier == "memory" else make_cache()  # disk: a fresh memory

    @discovery_cached(key="zero:<x>", cache=reader, **{f"{tier}_ttl": 0})
    def mine(x):
        return "mine"

    assert mine(1) == "mine"
    info = mine.cache_info()
    assert info.misses == 1 and info.hits == 0 and getattr(info, f"{tier}_hits") == 0


# -- 9. "logged once" for values that cannot be stored -------------------------------------------------


def test_an_unstorable_value_is_warned_once_per_function(cache, warnings_log):
    @discovery_cached(key="obj:<x>", cache=cache)
    def f(x):
        return {"when": object()}

    for i in range(5):
        f(i)
    warned = warnings_matching(warnings_log, "not cached")
    assert len(warned) == 1
    assert "obj:0" in warned[0] and "object" in warned[0]
