"""Shared fixtures: a cache in a temp folder driven by a manual clock."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbp.llm.bedrock.discovery import DiscoveryCache, ManualClock, set_default_cache

pytest_plugins = ["bedrock_fixtures", "redis_server"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "base"


@pytest.fixture
def cache(cache_dir: Path, clock: ManualClock) -> DiscoveryCache:
    """A cache whose folder is private to the test and whose time moves only on demand."""
    return DiscoveryCache(base_dir=cache_dir, clock=clock)


@pytest.fixture
def make_cache(cache_dir: Path, clock: ManualClock):
    """Build more caches on the same folder and clock (a "restart")."""

    def make(**kwargs) -> DiscoveryCache:
        kwargs.setdefault("base_dir", cache_dir)
        kwargs.setdefault("clock", clock)
        return DiscoveryCache(**kwargs)

    return make


@pytest.fixture(autouse=True)
def _isolated_default_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test touches the real user cache folder through the default cache."""
    monkeypatch.setenv("DBP_CACHE_DIR", str(tmp_path / "default-cache"))
    set_default_cache(None)
    yield
    set_default_cache(None)


@pytest.fixture
def warnings_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="dbp.llm.bedrock.discovery")
    return caplog


def cache_files(cache: DiscoveryCache) -> list[str]:
    """Entry files currently on disk (temp and lock files excluded)."""
    try:
        return sorted(n for n in os.listdir(cache.cache_dir) if n.endswith(".dbpc"))
    except FileNotFoundError:
        return []
