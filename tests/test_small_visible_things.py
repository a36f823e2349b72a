"""Small things a user sees: no files with the disk off, garbled bodies, error texts, metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached
from hardening_helpers import remount, tmpfs

ROOT = Path(__file__).resolve().parent.parent


# -- disk_ttl_days=0: no files at all -----------------------------------------------------------
def test_a_cache_without_disk_tier_creates_no_files_even_when_cleared(cache_dir, clock):
    cache = DiscoveryCache(base_dir=cache_dir, clock=clock, disk_ttl_days=0)

    @discovery_cached(cache=cache)
    def f(x):
        return x

    assert f(1) == 1 and f(1) == 1
    assert f.cache_clear() == 1
    cache.invalidate()
    cache.cleanup()
    assert not cache_dir.exists()


def test_a_cache_without_disk_tier_writes_no_index_into_an_existing_folder(cache_dir, clock):
    DiscoveryCache(base_dir=cache_dir, clock=clock).set("old", 1)  # an earlier run's file
    cache = DiscoveryCache(base_dir=cache_dir, clock=clock, disk_ttl_days=0)

    @discovery_cached(cache=cache)
    def f(x):
        return x

    f(1)
    f.cache_clear()
    assert not (cache_dir / "cache" / ".owners").exists()


def test_a_cache_without_disk_tier_does_not_warn_on_a_read_only_disk(tmp_path, clock, caplog):
    with tmpfs(str(tmp_path / "mnt"), "1m") as mnt:
        remount(mnt, "ro")
        try:
            cache = DiscoveryCache(base_dir=os.path.join(mnt, "home"), clock=clock, disk_ttl_days=0)

            @discovery_cached(cache=cache)
            def f(x):
                return x

            with caplog.at_level("DEBUG"):
                assert f(1) == 1
                f.cache_clear()
                cache.cleanup()
                cache.invalidate()
        finally:
            remount(mnt, "rw")
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


# -- a garbled body: never listed as fresh, removed ------------------------------------------------
def _garble(cache: DiscoveryCache, key: str) -> str:
    path = cache.file_for(key)
    with open(path, "r+b") as f:
        data = f.read()
        body_at = data.index(b"\n") + 1
        f.seek(body_at)
        f.write(b"\xff" * (len(data) - body_at))  # same length: the header still matches
    return path


def _ls(cache_dir: Path) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "dbp.llm.bedrock.discovery", "cache", "ls", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "DBP_CACHE_DIR": str(cache_dir)},
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_garbled_body_is_not_listed_fresh_and_cleanup_removes_it(cache, cache_dir, make_cache):
    cache.set("k", {"models": ["a", "b"]})
    cache.set("fine", [1])
    path = _garble(cache, "k")
    (row,) = [r for r in _ls(cache_dir) if r["file"] == path]
    assert row["state"] == "unreadable"
    assert cache.cleanup() == 1
    assert not os.path.exists(path)
    assert make_cache().get("fine") == [1]


def test_the_get_that_finds_a_garbled_body_removes_it(cache, make_cache):
    cache.set("big", {"blob": "x" * 200_000})  # bigger than what cleanup reads whole
    path = _garble(cache, "big")
    assert make_cache().get("big", "MISS") == "MISS"
    assert not os.path.exists(path)


# -- error texts and metadata ---------------------------------------------------------------------
def test_a_negative_max_stale_is_named_without_talking_of_tiers(cache):
    with pytest.raises(ValueError, match="max_stale") as raised:
        discovery_cached(cache=cache, serve_stale_on_error=True, max_stale=-5)(lambda: 1)
    assert "tier" not in str(raised.value)


def test_the_package_description_names_every_tier():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    description = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["description"]
    assert "Two-tier" not in description
    assert "Redis" in description
