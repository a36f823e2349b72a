"""The README's example runs offline and shows every tier."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_example(name: str, *args: str) -> str:
    """The example's output; it must exit 0."""
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def test_quickstart_shows_cold_memory_and_disk(tmp_path):
    env = {**os.environ, "DBP_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "1. cold call" in out
    assert "upstream calls: 1" in out
    assert "3. new process, read from disk:" in out
    assert "upstream calls: 0" in out  # the new process never called upstream
    assert "with tzinfo=UTC" in out
    assert "4. another disk read, same process:" in out
    assert str(tmp_path / "cache") in out
    assert "key='bedrock_models:us-east-1'" in out


def test_the_resolve_example_runs_offline_and_a_warm_resolve_makes_no_call(tmp_path, aws_env):
    out = run_example("resolve.py", "--cache-dir", str(tmp_path))
    assert "STAND-IN" in out
    assert "-> us.anthropic.claude-3-5-sonnet-20241022-v2:0  (inference-profile" in out
    assert "-> global.amazon.nova-pro-v1:0" in out
    assert "LEGACY (end of life 2026-07-21)" in out
    assert "NOT INVOCABLE: not authorized" in out
    assert "-> not available: not offered there" in out
    regions = out.split("fastest first:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(regions) == 8
    assert "3. the same resolves from a new cache object (disk): 0 API call(s)" in out


def test_the_metrics_example_prints_the_meter_through_the_console_exporter(tmp_path, aws_env):
    out = run_example("metrics.py", "--cache-dir", str(tmp_path))
    assert "STAND-IN" in out
    info = "CacheInfo(hits=6, misses=4, memory_hits=3, disk_hits=3, flight_hits=0, stale_hits=1"
    assert info in out
    function = "dbp.cache.function=dbp.llm.bedrock.discovery.bedrock.models.BedrockModelDiscovery._cached_models"
    for series, count in (
        (f"dbp.cache.lookups{{{function}, dbp.cache.result=hit, dbp.cache.tier=disk}}", "3"),
        (f"dbp.cache.lookups{{{function}, dbp.cache.result=hit, dbp.cache.tier=memory}}", "3"),
        (f"dbp.cache.lookups{{{function}, dbp.cache.result=miss}}", "4"),
        (f"dbp.cache.lookups{{{function}, dbp.cache.result=stale}}", "1"),
        (f"dbp.cache.upstream.calls{{{function}}}", "3"),
        (
            "dbp.bedrock.api.calls{aws.operation=ListFoundationModels, cloud.region=eu-west-1, "
            "error.type=ThrottlingException}",
            "1",
        ),
    ):
        assert f"  {series} {count}\n" in out
    assert out.count("dbp.cache.lookups{") == 4  # printed once
    assert f"dbp.cache.upstream.duration{{{function}}} count=3 sum=" in out


def test_the_targets_example_resolves_each_kind_offline_and_warm_makes_no_call(tmp_path, aws_env):
    out = run_example("targets.py", "--cache-dir", str(tmp_path))
    assert "STAND-IN" in out
    for kind in ("provisioned", "custom", "deployment", "imported", "router", "marketplace"):
        assert f"\n  {kind} " in out, kind
    for method in ("provisioned", "custom-deployment", "imported", "prompt-router", "marketplace"):
        assert f"-> {method}: arn:aws:" in out, method
    assert "note: InvokeModel only: Converse does not take imported models" in out
    assert "-> NOT USABLE: provisioned throughput nova-pt in us-east-1 is Creating" in out
    assert "-> NOT USABLE: custom model draft-bot in us-east-1 has no Active on-demand" in out
    assert "INCOMPATIBLE_ENDPOINT, not usable" in out
    assert "prefer='provisioned' -> provisioned: arn:aws:bedrock:us-east-1:" in out
    assert "4. the same resolves from a new cache object (disk): 0 API call(s)" in out
