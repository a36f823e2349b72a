"""Watch the cache work: its OpenTelemetry metrics, printed by the SDK's console exporter.

Offline: the AWS Bedrock control plane is replaced by a LOCAL STAND-IN
(``dbp.llm.bedrock.discovery.testing.FakeBedrockServer``); the boto3 clients are real.
Needs ``pip install '.[bedrock,otel]' opentelemetry-sdk``.

    python examples/metrics.py

It lists the models of three regions twice (cold, then warm from memory), once more
from a new cache object on the same folder (disk), lets one region fail with a
throttling error after its value expired (the expired value is served), and prints
every metric of the ``dbp.cache`` meter, one line per series, next to ``cache_info()``.
"""

from __future__ import annotations

import argparse
import logging
import tempfile

from offline import start_stand_in
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

from dbp.cache import enable_metrics
from dbp.llm.bedrock.discovery import BedrockModelDiscovery, DiscoveryCache, ManualClock
from dbp.llm.bedrock.discovery.bedrock.errors import RetryPolicy

REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]


def one_line_per_series(data) -> str:
    """The console exporter's formatter: ``name{attributes} value`` instead of JSON."""
    lines = []
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    labels = ", ".join(f"{k}={v}" for k, v in sorted(point.attributes.items()))
                    if hasattr(point, "bucket_counts"):  # a histogram
                        shown = f"count={point.count} sum={point.sum * 1000:.1f} ms"
                    else:
                        shown = str(point.value)
                    lines.append(f"  {metric.name}{{{labels}}} {shown}")
    return "\n".join(sorted(lines)) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=None, help="base folder (default: a temp folder)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the stale value's warning is expected here

    exporter = ConsoleMetricExporter(formatter=one_line_per_series)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    enable_metrics(meter_provider=provider)  # or DBP_OTEL_METRICS=1 with a global provider

    server, session = start_stand_in({"eu-west-1": 0.05})
    base_dir = args.cache_dir or tempfile.mkdtemp(prefix="dbp-metrics-")
    clock = ManualClock()
    retry = RetryPolicy(attempts=1)
    try:
        options = {"endpoint_url": server.url, "regions": REGIONS, "retry": retry}
        cache = DiscoveryCache(base_dir, clock=clock)
        models = BedrockModelDiscovery(session, cache=cache, **options)
        for _ in range(2):  # cold, then memory hits
            for region in REGIONS:
                models.list_models(region)
        other = BedrockModelDiscovery(  # a new cache object, memory cold: disk hits
            session, cache=DiscoveryCache(base_dir, clock=clock), **options
        )
        for region in REGIONS:
            other.list_models(region)
        clock.advance(4 * 86_400)  # every value expired; AWS throttles eu-west-1
        server.throttle("eu-west-1")
        models.list_models("eu-west-1")  # ThrottlingException: the expired value is served

        print("cache_info() of the models listing, this process:")
        print(f"  {type(models)._cached_models.cache_info()}")
        print(f"Bedrock requests: {server.count()} (the stand-in's count)\n")
        print("the dbp.cache meter, through the SDK's ConsoleMetricExporter:")
    finally:
        provider.shutdown()  # the reader's last export prints them
        server.stop()


if __name__ == "__main__":
    main()
