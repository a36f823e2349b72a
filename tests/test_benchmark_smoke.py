"""The benchmark script runs end to end (tiny batches) and reports every benchmark.

Benchmarks are not timed tests: this checks that ``benchmarks/run.py`` works and that its
JSON names every benchmark with a ratio, never how fast anything is.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cachetools")
pytest.importorskip("diskcache")
pytest.importorskip("dogpile.cache")
pytest.importorskip("async_lru")
pytest.importorskip("aiocache")
pytest.importorskip("cashews")

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "memory_hit.vs_cachetools",
    "memory_hit.vs_lru_cache",
    "memory_hit.vs_cachetools_locked",
    "memory_hit.vs_dogpile",
    "memory_hit.vs_diskcache_memoize",
    "memory_hit.vs_plain_call",
    "memory_hit.vs_wrapt_passthrough",
    "memory_hit.keyword_call",
    "memory_hit.derived_key",
    "memory_hit.imperative_get",
    "disk_hit.100.vs_diskcache",
    "disk_hit.100.vs_read_orjson",
    "disk_hit.100.vs_orjson_loads",
    "disk_hit.100.vs_floor_and_fromisoformat",
    "disk_hit.5.vs_diskcache",
    "disk_hit.5.vs_read_orjson",
    "disk_hit.5.vs_orjson_loads",
    "disk_hit.5.vs_floor_and_fromisoformat",
    "disk_hit.profiles.vs_diskcache",
    "disk_hit.profiles.vs_read_orjson",
    "disk_hit.profiles.vs_orjson_loads",
    "disk_hit.profiles.vs_floor_and_fromisoformat",
    "disk_hit.100_plain.vs_diskcache",
    "disk_hit.100_plain.vs_read_orjson",
    "disk_hit.100_plain.vs_orjson_loads",
    "set.100.durable_vs_diskcache",
    "set.100.not_durable_vs_diskcache",
    "set.5.durable_vs_diskcache",
    "set.5.not_durable_vs_diskcache",
    "concurrency.hits_8_threads.vs_cachetools_locked",
    "concurrency.hits_8_threads.vs_cachetools_condition",
    "concurrency.hits_8_threads.vs_lru_cache",
    "concurrency.hits_8_threads.vs_dogpile",
    "concurrency.stampede_32.vs_lru_cache",
    "concurrency.stampede_32.vs_cachetools_locked",
    "concurrency.stampede_32.vs_cachetools_condition",
    "concurrency.stampede_32.vs_dogpile",
    "concurrency.stampede_32.vs_diskcache_memoize",
    "scale.get_1000_vs_10",
    "scale.get_10000_vs_10",
    "scale.get_10000.vs_diskcache",
    "scale.set_1000_vs_10",
    "scale.set_10000_vs_10",
    "scale.set_10000.vs_diskcache",
    "scale.cleanup_10000.vs_diskcache_expire",
    "scale.invalidate_key_10000.vs_diskcache_delete",
    "scale.cache_clear_10000.vs_diskcache_evict",
    "scale.cache_clear_10000.budget",
    "scale.cache_clear_10000_vs_10",
    "scale.cache_clear_10000.first_sweep",
    "scale.cleanup_10000.vs_before_index",
    "scale.invalidate_all_10000.vs_diskcache_clear",
    "startup.import.vs_wrapt",
    "startup.import.vs_bare",
    "startup.import.vs_cachetools",
    "startup.import.vs_diskcache",
    "startup.import.vs_dogpile",
    "startup.first_use.vs_wrapt",
    "method_hit.vs_cachedmethod",
    "method_hit.provider_vs_cachedmethod",
    "metrics.memory_hit_on_vs_off",
    "method_hit.bind_share",
    "method_hit.prebound_vs_cachedmethod",
    "async_hit.function.vs_alru",
    "async_hit.method.vs_alru",
    "async_hit.function.vs_aiocache",
    "async_hit.function.vs_cashews",
    "async_hit.function.vs_sync_hit",
    "async_hit.function.vs_plain",
    "async_hit.disk.vs_sync_disk",
}
#: The fleet group starts its own redis-server; without the binary it is skipped.
FLEET = {
    "fleet.redis_hit.vs_dogpile_redis",
    "fleet.redis_hit.vs_disk_hit",
    "fleet.redis_hit.vs_redis_get_orjson",
    "fleet.redis_hit.vs_redis_get",
    "fleet.redis_hit.vs_ping",
    "fleet.redis_hit.vs_redis_get_decode",
    "fleet.stampede_8_processes_2_hosts.vs_no_fleet_tier",
}
if shutil.which("redis-server") is not None and importlib.util.find_spec("redis"):
    EXPECTED |= FLEET
    if importlib.util.find_spec("hiredis"):  # with and without it, in the same rounds
        EXPECTED |= {
            "fleet.redis_hit.hiredis_vs_python_parser",
            "fleet.redis_get.hiredis_vs_python_parser",
            "fleet.redis_hit.vs_dogpile_redis_python_parser",
        }
#: Timed against the engine of an old commit, taken from git history when there is one.
PRE_ENGINE = {"disk_hit.5.vs_pre_engine", "disk_hit.100.vs_pre_engine"}
_HAS_HISTORY = (
    shutil.which("git") is not None
    and subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", "697cb42^{commit}"], capture_output=True
    ).returncode
    == 0
)
if _HAS_HISTORY:
    EXPECTED |= PRE_ENGINE


@pytest.mark.slow
def test_benchmark_script_runs_and_reports_every_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--iterations",
            "50",
            "--repeats",
            "1",
            "--out",
            str(out),
            "--tmp-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in result["benchmarks"]}
    assert set(rows) == EXPECTED
    for name, row in rows.items():
        assert isinstance(row["ratio"], (int, float)), name
        assert math.isfinite(row["ratio"]) and row["ratio"] >= 0, name
        assert row["status"] in ("PASS", "MISS", "info"), name
    targeted = {name for name, row in rows.items() if row["status"] != "info"}
    assert {
        "memory_hit.vs_cachetools",
        "disk_hit.100.vs_diskcache",
        "disk_hit.5.vs_diskcache",
        "disk_hit.100.vs_read_orjson",
        "disk_hit.profiles.vs_diskcache",
        "disk_hit.profiles.vs_read_orjson",
        "disk_hit.100_plain.vs_diskcache",
        "scale.cache_clear_10000.budget",
        "scale.cache_clear_10000_vs_10",
        "scale.cleanup_10000.vs_before_index",
        "scale.invalidate_all_10000.vs_diskcache_clear",
        "scale.get_10000_vs_10",
        "scale.set_10000_vs_10",
        "startup.import.vs_wrapt",
    } | (
        FLEET
        & EXPECTED
        & {
            "fleet.redis_hit.vs_dogpile_redis",
            "fleet.stampede_8_processes_2_hosts.vs_no_fleet_tier",
        }
    ) <= targeted
    for key in ("cpu", "cores", "python", "packages", "date"):
        assert result["machine"][key], key
    markdown = (out / "latest.md").read_text(encoding="utf-8")
    assert "| benchmark | ours | peer | peer time | ratio | target | result |" in markdown
    assert "| benchmark |" in proc.stdout  # the table is printed too
