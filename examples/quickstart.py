"""Quick start: the cache at work on a (simulated) slow Bedrock discovery call.

Runs offline: ``list_foundation_models`` below stands in for boto3's call of the
same name and sleeps like a slow, rate-limited control-plane request. The script
shows the cold call, the warm memory hit, then starts a *new process* that gets
the value from disk, and finally shows where the files live.

    python examples/quickstart.py
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

from dbp.llm.bedrock.discovery import DiscoveryCache, default_cache, discovery_cached

UPSTREAM_LATENCY = 0.8  # seconds; real ListFoundationModels calls take 0.3-2 s
_calls = 0


@discovery_cached(key="bedrock_models:<region>", memory_ttl=600, disk_ttl=dt.timedelta(days=1))
def list_foundation_models(region: str) -> list[dict]:
    """Stand-in for ``boto3.client("bedrock", region).list_foundation_models()``."""
    global _calls
    _calls += 1
    time.sleep(UPSTREAM_LATENCY)
    launched = dt.datetime(2024, 10, 22, tzinfo=dt.timezone.utc)
    return [
        {
            "modelId": f"anthropic.claude-3-5-sonnet-20241022-v2:{i}",
            "providerName": "Anthropic",
            "inferenceTypesSupported": ["INFERENCE_PROFILE"],
            "modelLifecycle": {"status": "ACTIVE", "startOfLifeTime": launched},
        }
        for i in range(3)
    ]


def timed(label: str, region: str) -> list[dict]:
    start = time.perf_counter()
    models = list_foundation_models(region)
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {elapsed * 1000:9.3f} ms  ({len(models)} models, upstream calls: {_calls})")
    return models


def main() -> None:
    if "--restarted" in sys.argv:
        models = timed("3. new process, read from disk:", "us-east-1")
        start = models[0]["modelLifecycle"]["startOfLifeTime"]
        print(
            f"   (the first disk read also loads orjson); timestamps come back as "
            f"{type(start).__name__} with tzinfo={start.tzinfo}"
        )
        reader = DiscoveryCache(max_memory_entries=0)  # memory off: every get reads the file
        began = time.perf_counter()
        reader.get("bedrock_models:us-east-1")
        elapsed = time.perf_counter() - began
        print(f"{'4. another disk read, same process:':<34} {elapsed * 1000:9.3f} ms")
        return

    list_foundation_models.cache_clear()  # start cold, so every run shows all three tiers
    timed("1. cold call (slow upstream):", "us-east-1")
    timed("2. same process, memory hit:", "us-east-1")
    subprocess.run([sys.executable, __file__, "--restarted"], check=True)

    cache = default_cache()
    print(f"\nCache folder: {cache.cache_dir}  (set DBP_CACHE_DIR to move it)")
    for entry in cache.entries():
        print(f"  {os.path.basename(entry.path)}  key={entry.key!r}  {entry.size} bytes")
    print("\ncache_info():", list_foundation_models.cache_info())


if __name__ == "__main__":
    main()
