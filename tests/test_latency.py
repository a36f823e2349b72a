"""RegionLatencyTracker: moving averages, ordering, persistence across restarts and processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dbp.llm.bedrock.discovery import DiscoveryCache
from dbp.llm.bedrock.discovery.bedrock.latency import LATENCY_KEY, RegionLatencyTracker


def test_moving_average_weights_recent_samples(cache):
    tracker = RegionLatencyTracker(cache, alpha=0.5)
    assert tracker.average("us-east-1") is None
    tracker.record("us-east-1", 0.100)
    tracker.record("us-east-1", 0.300)
    assert tracker.average("us-east-1") == pytest.approx(0.200)
    tracker.record("us-east-1", 0.200)
    assert tracker.average("us-east-1") == pytest.approx(0.200)
    assert tracker.stats()["us-east-1"].samples == 3


def test_order_is_fastest_first_and_unmeasured_last_in_given_order(cache):
    tracker = RegionLatencyTracker(cache)
    tracker.record("eu-west-1", 0.30)
    tracker.record("us-east-1", 0.05)
    tracker.record("ap-south-1", 0.90)
    order = tracker.order(["sa-east-1", "ap-south-1", "ca-central-1", "eu-west-1", "us-east-1"])
    assert order == ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1", "ca-central-1"]
    assert tracker.fastest(["eu-west-1", "ap-south-1"]) == "eu-west-1"
    assert tracker.fastest([]) is None


def test_survives_a_restart(cache, make_cache):
    RegionLatencyTracker(cache).record("eu-west-1", 0.25)
    restarted = RegionLatencyTracker(make_cache())
    assert restarted.average("eu-west-1") == pytest.approx(0.25)


def test_without_autosave_nothing_is_stored_until_save(cache, make_cache):
    tracker = RegionLatencyTracker(cache, autosave=False)
    tracker.record("eu-west-1", 0.25)
    assert RegionLatencyTracker(make_cache()).average("eu-west-1") is None
    tracker.save()
    assert RegionLatencyTracker(make_cache()).average("eu-west-1") == pytest.approx(0.25)


def test_has_its_own_key_and_outlives_model_data(cache, clock):
    tracker = RegionLatencyTracker(cache)
    tracker.record("us-east-1", 0.1)
    cache.set_model_cache("us-east-1", [{"modelId": "x"}])
    cache.invalidate("bedrock_models:us-east-1")
    clock.advance(4 * 86_400)  # model data (3-day disk TTL) would be gone by now
    cache.cleanup()
    assert cache.get(LATENCY_KEY) is not None
    assert RegionLatencyTracker(cache).average("us-east-1") == pytest.approx(0.1)


def test_reset_forgets_one_region_or_all(cache, make_cache):
    tracker = RegionLatencyTracker(cache)
    tracker.record("us-east-1", 0.1)
    tracker.record("eu-west-1", 0.2)
    tracker.reset("us-east-1")
    assert set(RegionLatencyTracker(make_cache()).stats()) == {"eu-west-1"}
    tracker.reset()
    assert RegionLatencyTracker(make_cache()).stats() == {}


def test_a_malformed_stored_value_is_an_empty_history(cache):
    cache.set(LATENCY_KEY, {"regions": {"us-east-1": {"avg": "fast"}, "eu-west-1": 3}})
    tracker = RegionLatencyTracker(cache)
    assert tracker.stats() == {}
    tracker.record("us-east-1", 0.1)
    assert tracker.average("us-east-1") == pytest.approx(0.1)


def test_invalid_arguments_are_rejected(cache):
    with pytest.raises(ValueError, match="alpha"):
        RegionLatencyTracker(cache, alpha=0)
    with pytest.raises(ValueError, match="latency"):
        RegionLatencyTracker(cache).record("us-east-1", -1)


WORKER = textwrap.dedent(
    """
    import sys
    from dbp.llm.bedrock.discovery import DiscoveryCache
    from dbp.llm.bedrock.discovery.bedrock.latency import RegionLatencyTracker

    base, own_region, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    tracker = RegionLatencyTracker(DiscoveryCache(base_dir=base, durable=False))
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for _ in range(25):
        tracker.record("us-east-1", seconds)
        tracker.record(own_region, seconds)
    """
)


def test_two_processes_recording_at_once_lose_no_samples(tmp_path):
    base = tmp_path / "shared"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(base), region, seconds],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for region, seconds in (("eu-west-1", "0.1"), ("ap-south-1", "0.3"))
    ]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        assert worker.wait(timeout=60) == 0

    stats = RegionLatencyTracker(DiscoveryCache(base_dir=base)).stats()
    assert stats["us-east-1"].samples == 50  # both processes' samples survived
    assert stats["eu-west-1"].samples == 25 and stats["ap-south-1"].samples == 25
    assert stats["eu-west-1"].average == pytest.approx(0.1)
    assert stats["ap-south-1"].average == pytest.approx(0.3)
    assert 0.1 <= stats["us-east-1"].average <= 0.3
    order = RegionLatencyTracker(DiscoveryCache(base_dir=base)).order(
        ["ap-south-1", "eu-west-1", "us-west-2"]
    )
    assert order == ["eu-west-1", "ap-south-1", "us-west-2"]
