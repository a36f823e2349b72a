"""The disk tier: format, atomicity, promotion, faults, permissions, location."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import subprocess
import sys

import orjson
import pytest

from conftest import cache_files
from dbp.cache.stores.disk import FORMAT_VERSION, TEMP_SUFFIX
from dbp.llm.bedrock.discovery import DiscoveryCache

DAY = 86400


def read_record(cache: DiscoveryCache, key: str) -> tuple[dict, bytes]:
    raw = open(cache.file_for(key), "rb").read()
    header, _, body = raw.partition(b"\n")
    return orjson.loads(header), body


def test_record_is_versioned_json_envelope_not_pickle(cache, clock):
    cache.set("bedrock_models:us-east-1", [{"modelId": "m"}])
    header, body = read_record(cache, "bedrock_models:us-east-1")
    assert header["v"] == FORMAT_VERSION == DiscoveryCache.CACHE_VERSION
    assert header["key"] == "bedrock_models:us-east-1"
    assert header["created"] == clock.time()
    assert header["expires"] == clock.time() + 3 * DAY
    assert orjson.loads(body) == [{}, [{"modelId": "m"}]]  # [typed paths, value]
    assert not body.startswith(b"\x80")  # no pickle protocol marker


def test_file_name_is_a_hash_of_the_key_not_md5(cache):
    cache.set("k", 1)
    (name,) = cache_files(cache)
    assert hashlib.md5(b"k").hexdigest() not in name
    assert name.endswith(".dbpc")
    assert len(name.removesuffix(".dbpc")) == 40


def test_read_through_does_not_rewrite_or_extend_disk_entry(cache, make_cache, clock):
    cache.set("k", "v")
    path = cache.file_for("k")
    before = open(path, "rb").read()
    mtime = os.stat(path).st_mtime_ns
    clock.advance(2 * DAY)
    reader = make_cache()
    assert reader.get("k") == "v"  # promoted from disk
    assert open(path, "rb").read() == before
    assert os.stat(path).st_mtime_ns == mtime
    clock.advance(DAY + 1)  # the original lifetime ends; reading did not renew it
    assert make_cache().get("k") is None


def test_promoted_entry_lives_no_longer_than_remaining_disk_lifetime(cache, make_cache, clock):
    cache.set("k", "v", memory_ttl=3600, disk_ttl=100)
    clock.advance(90)
    reader = make_cache(memory_ttl_seconds=3600)
    assert reader.get("k") == "v"  # promoted with 10 s of disk life left
    clock.advance(11)
    assert reader.get("k") is None


def test_other_keys_file_is_a_miss(cache, make_cache):
    cache.set("a", "value of a")
    cache.set("b", "value of b")
    os.replace(cache.file_for("a"), cache.file_for("b"))  # b's file now holds a's record
    assert make_cache().get("b") is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01garbage",
        b'{"v":2,"key":"k"',
        b"not json at all\n[1,2,3]",
        b"[]\n1",
        b"\x80\x04\x95pickle-ish\n.",
    ],
    ids=["empty", "binary", "truncated-header", "bad-header", "wrong-header-type", "pickle"],
)
def test_corrupt_files_are_misses(cache, make_cache, content, warnings_log):
    cache.set("k", {"a": 1})
    with open(cache.file_for("k"), "wb") as f:
        f.write(content)
    assert make_cache().get("k", "miss") == "miss"


def test_truncated_body_is_a_miss(cache, make_cache):
    cache.set("k", {"numbers": list(range(100))})
    path = cache.file_for("k")
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:-5])
    assert make_cache().get("k", "miss") == "miss"


def test_foreign_version_is_a_miss(cache, make_cache):
    cache.set("k", 1)
    path = cache.file_for("k")
    header, body = read_record(cache, "k")
    header["v"] = FORMAT_VERSION + 1
    with open(path, "wb") as f:
        f.write(orjson.dumps(header) + b"\n" + body)
    assert make_cache().get("k", "miss") == "miss"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_a_miss_with_one_warning(cache, make_cache, caplog):
    cache.set("k", 1)
    os.chmod(cache.file_for("k"), 0)
    reader = make_cache()
    with caplog.at_level(logging.WARNING):
        assert reader.get("k", "miss") == "miss"
        assert reader.get("k", "miss") == "miss"
    assert len([r for r in caplog.records if "cannot read" in r.getMessage()]) == 1


def test_file_replaced_by_directory_is_a_miss(cache, make_cache, caplog):
    cache.set("k", 1)
    path = cache.file_for("k")
    os.unlink(path)
    os.mkdir(path)
    reader = make_cache()
    with caplog.at_level(logging.WARNING):
        assert reader.get("k", "miss") == "miss"
        reader.set("k", 2)  # cannot replace a directory: memory keeps it
        assert reader.get("k") == 2
    assert os.path.isdir(path)


def test_cleanup_removes_expired_corrupt_foreign_and_temp_files(cache, clock):
    cache.set("expired", 1, disk_ttl=10)
    cache.set("fresh", 2)
    cache.set("corrupt", 3)
    cache.set("foreign", 4)
    with open(cache.file_for("corrupt"), "wb") as f:
        f.write(b"{broken")
    header, body = read_record(cache, "foreign")
    header["v"] = 999
    with open(cache.file_for("foreign"), "wb") as f:
        f.write(orjson.dumps(header) + b"\n" + body)
    dead_temp = os.path.join(cache.cache_dir, f".x.dbpc.999999999.abc{TEMP_SUFFIX}")
    open(dead_temp, "wb").close()
    unrelated = os.path.join(cache.cache_dir, "README")
    open(unrelated, "w").close()
    clock.advance(11)
    assert cache.cleanup() == 4
    assert cache_files(cache) == [os.path.basename(cache.file_for("fresh"))]
    assert not os.path.exists(dead_temp)
    assert os.path.exists(unrelated)
    assert cache.get("fresh") == 2
    assert cache.cleanup() == 0


def test_cleanup_reads_only_headers(cache, monkeypatch):
    """A big body is not read: cleanup decides from the header line alone."""
    cache.set("big", {"blob": "x" * 2_000_000})
    reads: list[int] = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    assert cache.cleanup() == 0
    assert sum(reads) < 100_000


def test_live_writers_temp_file_is_kept_by_cleanup(cache):
    live = os.path.join(cache.cache_dir, f".x.dbpc.{os.getpid()}.abc{TEMP_SUFFIX}")
    os.makedirs(cache.cache_dir, exist_ok=True)
    open(live, "wb").close()
    cache.cleanup()
    assert os.path.exists(live)


def test_writes_leave_no_temp_files(cache):
    for i in range(20):
        cache.set(f"k{i}", i)
    assert [n for n in os.listdir(cache.cache_dir) if n.endswith(TEMP_SUFFIX)] == []


@pytest.mark.parametrize("umask", [0o022, 0o277], ids=["usual", "hostile"])
def test_permissions_private_whatever_the_umask(cache_dir, clock, umask):
    old = os.umask(umask)
    try:
        c = DiscoveryCache(base_dir=cache_dir, clock=clock)
        c.set("k", 1)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(c.cache_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(c.base_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(c.file_for("k")).st_mode) == 0o600
    assert DiscoveryCache(base_dir=cache_dir, clock=clock).get("k") == 1


def test_file_in_the_way_means_memory_only_with_one_warning(tmp_path, clock, caplog):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be")
    c = DiscoveryCache(base_dir=blocker, clock=clock)
    with caplog.at_level(logging.WARNING):
        for i in range(5):
            c.set(f"k{i}", i)
        assert [c.get(f"k{i}") for i in range(5)] == list(range(5))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(blocker) in warnings[0].getMessage()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_home_means_memory_only(tmp_path, clock, caplog):
    home = tmp_path / "ro-home"
    home.mkdir()
    home.chmod(0o500)
    try:
        c = DiscoveryCache(base_dir=home / ".cache" / "dbp", clock=clock)
        with caplog.at_level(logging.WARNING):
            c.set("k", 1)
            c.set("k2", 2)
        assert c.get("k") == 1
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    finally:
        home.chmod(0o700)


def test_file_in_the_way_of_the_cache_subfolder(tmp_path, clock, caplog):
    base = tmp_path / "base"
    base.mkdir()
    (base / "cache").write_text("not a folder")
    c = DiscoveryCache(base_dir=base, clock=clock)
    with caplog.at_level(logging.WARNING):
        c.set("k", 1)
    assert c.get("k") == 1
    assert "cache" in caplog.records[-1].getMessage()


def test_default_location_from_env_and_nothing_created_until_write(tmp_path, monkeypatch):
    target = tmp_path / "env-cache"
    monkeypatch.setenv("DBP_CACHE_DIR", str(target))
    c = DiscoveryCache()
    assert c.cache_dir == str(target / "cache")
    assert not target.exists()
    c.set("k", 1)
    assert (target / "cache").is_dir()


def test_default_location_is_platformdirs_user_cache_dir(monkeypatch):
    import platformdirs

    monkeypatch.delenv("DBP_CACHE_DIR", raising=False)
    c = DiscoveryCache()
    assert c.base_dir == platformdirs.user_cache_dir("dbp", appauthor=False)


def test_import_creates_nothing_and_does_not_import_boto3(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("DBP_CACHE_DIR", None)
    code = (
        "import sys, dbp.llm.bedrock.discovery as d\n"
        "from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached, CacheInfo\n"
        "from dbp.llm.bedrock.discovery.cache import DiscoveryCache as C2\n"
        "assert C2 is DiscoveryCache\n"
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []


def test_cleanup_does_not_remove_a_file_renamed_into_place_after_it_was_judged(cache, clock):
    """Another process writes a fresh value between cleanup's header read and its unlink."""
    cache.set("k", "old", disk_ttl=10)
    clock.advance(11)  # "old" is expired: cleanup will decide to remove it
    scan = cache.disk.scan

    def scan_then_race(**kwargs):
        judged = list(scan(**kwargs))  # headers read: "old" is expired
        DiscoveryCache(base_dir=cache.base_dir, clock=clock).set("k", "new")  # renamed in
        yield from judged

    cache.disk.scan = scan_then_race
    assert cache.cleanup() == 0
    assert DiscoveryCache(base_dir=cache.base_dir, clock=clock).get("k") == "new"
