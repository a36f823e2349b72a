"""The memory hit with OpenTelemetry metrics on vs off (target: within 5 %).

Metrics are read by observable instruments when a reader collects, so the hit path is
the same code either way; what "on" can add is the reader's background collection.
Turning metrics on is one-way in a process, so each side runs in fresh interpreters:
pairs of processes (the order alternating), each timing the same warm decorated hit in
rounds and reporting its median; "on" has an SDK ``MeterProvider`` whose
``PeriodicExportingMetricReader`` collects every 100 ms (far more often than any real
exporter) into the console exporter writing to /dev/null. The ratio is the median of the
pairs' ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from common import Config, Measured, Row, compare

__all__ = ["metrics_overhead"]

#: Allowed slow-down of the memory hit with metrics on.
LIMIT = 1.05

CHILD = """
import json, os, sys, time
sys.path.insert(0, {bench!r})
from payloads import list_foundation_models_response
from timing import make_loop
from dbp.llm.bedrock.discovery import DiscoveryCache, discovery_cached

mode, folder, rounds, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if mode == "on":
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter, PeriodicExportingMetricReader)
    from dbp.cache import enable_metrics
    exporter = ConsoleMetricExporter(out=open(os.devnull, "w"))
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=100)
    enable_metrics(meter_provider=MeterProvider(metric_readers=[reader]))
payload = list_foundation_models_response(100)
cache = DiscoveryCache(base_dir=folder)

@discovery_cached(key="bedrock_models:<region>", cache=cache, memory_ttl=3600, disk_ttl=86400)
def list_models(region):
    return payload

assert list_models("us-east-1") is payload
loop = make_loop("f(a)", {{"f": list_models, "a": "us-east-1"}})
empty = make_loop("pass")
loop(batch)
samples = []
for _ in range(rounds):
    samples.append((loop(batch) - empty(batch)) / batch)
assert list_models.cache_info().misses == 1
print(json.dumps(samples))
"""


def _side(mode: str, folder: str, rounds: int, batch: int) -> float:
    bench = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(bench=bench), mode, folder, str(rounds), str(batch)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    return float(statistics.median(json.loads(done.stdout)))


def metrics_overhead(config: Config, folder: str) -> tuple[list[Row], dict[str, Any]]:
    try:
        import opentelemetry.sdk.metrics  # noqa: F401
    except ImportError:
        print("metrics_overhead: skipped (pip install opentelemetry-sdk)", file=sys.stderr)
        return [], {"skipped": "opentelemetry-sdk not installed"}
    pairs = 3 if config.quick else 7
    rounds = max(config.repeats, 5)
    batch = max(config.iterations, 1000)
    sides: dict[str, list[float]] = {"off": [], "on": []}
    for pair in range(pairs):
        for mode in ("off", "on") if pair % 2 == 0 else ("on", "off"):
            sides[mode].append(_side(mode, os.path.join(folder, f"{mode}{pair}"), rounds, batch))
    on = Measured(statistics.median(sides["on"]), tuple(sides["on"]))
    off = Measured(statistics.median(sides["off"]), tuple(sides["off"]))
    rows = [
        compare(
            "metrics.memory_hit_on_vs_off",
            "decorated memory hit: OpenTelemetry metrics on vs off",
            on,
            "metrics off",
            off,
            limit=LIMIT,
            target=f"<= {LIMIT:g}",
            notes=f"{pairs} pairs of processes; the reader collects every 100 ms",
        )
    ]
    return rows, {"on_ns": sides["on"], "off_ns": sides["off"], "rounds": rounds, "batch": batch}
