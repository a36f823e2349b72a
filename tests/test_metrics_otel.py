"""OpenTelemetry metrics: every figure equals what ``cache_info()`` says for the same work.

Read with the SDK's ``InMemoryMetricReader`` on a ``MeterProvider`` of the test's own;
work is done from threads and asyncio tasks, with memory, disk, Redis and flight hits,
misses, failures and stale values, on real stores (a real redis-server for the shared tier)
and, for the Bedrock layer, real boto3 clients against the local stand-in.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from dbp.cache import ManualClock, TieredCache, discovery_cached, enable_metrics
from dbp.cache.stores.redis.breaker import all_breakers


def metrics_of(reader: InMemoryMetricReader) -> dict[tuple[str, tuple[tuple[str, Any], ...]], Any]:
    """``{(instrument, sorted attributes): data point}`` of the ``dbp.cache`` meter."""
    found: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            if scope.scope.name != "dbp.cache":
                continue
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    found[(metric.name, tuple(sorted(point.attributes.items())))] = point
    return found


def value(points: dict, instrument: str, **attributes: str) -> int:
    point = points.get((instrument, tuple(sorted(attributes.items()))))
    return 0 if point is None else int(point.value)


def name_of(func: Callable[..., Any], points: dict | None = None) -> str:
    """The ``dbp.cache.function`` of ``func``: module and qualified name (a local function's
    also carries where it is defined, so two of the same name stay apart)."""
    name = f"{func.__module__}.{func.__qualname__}"
    if points is None or "<" not in name:
        return name
    found = {
        dict(attributes)["dbp.cache.function"]
        for _, attributes in points
        if dict(attributes).get("dbp.cache.function", "").startswith(name + "@")
    }
    assert len(found) == 1, found
    return found.pop()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    reader = InMemoryMetricReader()
    enable_metrics(meter_provider=MeterProvider(metric_readers=[reader]))
    return reader


def assert_lookups_match(points: dict, func: Any) -> None:
    info, name = func.cache_info(), name_of(func, points)
    for tier, hits in (*info.tier_hits.items(), ("flight", info.flight_hits)):
        assert value(
            points, "dbp.cache.lookups", **{
                "dbp.cache.function": name, "dbp.cache.result": "hit", "dbp.cache.tier": tier
            }
        ) == hits, tier  # fmt: skip
    for result, count in (("miss", info.misses), ("stale", info.stale_hits)):
        attributes = {"dbp.cache.function": name, "dbp.cache.result": result}
        assert value(points, "dbp.cache.lookups", **attributes) == count, result


def test_every_figure_equals_cache_info_across_threads_and_asyncio(tmp_path, reader):
    clock = ManualClock()
    cache = TieredCache(base_dir=tmp_path, clock=clock)
    gate = threading.Event()
    broken = {"now": False}

    @discovery_cached(key="otel_models:<region>", cache=cache, memory_ttl=60, disk_ttl=600)
    def list_models(region):
        gate.wait(5)
        if region == "bad":
            raise ValueError("no such region")
        return {"region": region}

    @discovery_cached(
        key="otel_stale:<region>", cache=cache, serve_stale_on_error=True, memory_ttl=10
    )
    def flaky(region):
        if broken["now"]:
            raise ConnectionError("upstream down")
        return [region]

    @discovery_cached(key="otel_async:<region>", cache=cache)
    async def alist(region):
        await asyncio.sleep(0.01)
        return {"async": region}

    # Threads: a cold key released at once (one miss, the others wait or hit memory),
    # then warm hits from every thread, then a disk hit once memory is dropped.
    threads = [
        threading.Thread(target=lambda: [list_models(r) for r in ("a", "b", "a", "b")])
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    cache.memory.clear()
    assert list_models("a") == {"region": "a"}  # from disk
    with pytest.raises(ValueError, match="no such region"):
        list_models("bad")

    # Stale-on-error: fresh, then expired and failing, then served stale.
    flaky("eu")
    clock.advance(cache.disk_ttl_seconds + 1)
    broken["now"] = True
    assert flaky("eu") == ["eu"]

    async def tasks():
        await asyncio.gather(*(alist("x") for _ in range(10)))
        await asyncio.gather(*(alist(r) for r in ("x", "y", "x")))

    asyncio.run(tasks())

    points = metrics_of(reader)
    for func in (list_models, flaky, alist):
        assert_lookups_match(points, func)
    assert list_models.cache_info().disk_hits == 1
    assert flaky.cache_info().stale_hits == 1
    assert alist.cache_info().flight_hits + alist.cache_info().memory_hits >= 9

    # Upstream calls: one per miss, failures by error.type; durations in the histogram.
    name = name_of(list_models, points)
    calls = "dbp.cache.upstream.calls"
    assert (
        value(points, calls, **{"dbp.cache.function": name}) == list_models.cache_info().misses - 1
    )
    assert value(points, calls, **{"dbp.cache.function": name, "error.type": "ValueError"}) == 1
    stale_name = name_of(flaky, points)
    assert value(points, calls, **{"dbp.cache.function": stale_name}) == 1
    assert (
        value(points, calls, **{"dbp.cache.function": stale_name, "error.type": "ConnectionError"})
        == 1
    )
    durations = points[("dbp.cache.upstream.duration", (("dbp.cache.function", name),))]
    assert durations.count == list_models.cache_info().misses - 1
    assert list(durations.explicit_bounds)[:3] == [0.005, 0.01, 0.025]  # OTel's advised buckets
    async_durations = points[
        ("dbp.cache.upstream.duration", (("dbp.cache.function", name_of(alist, points)),))
    ]
    assert async_durations.count == alist.cache_info().misses == 2
    assert async_durations.sum >= 0.02  # two calls of at least 10 ms each


# One flavour only: the instruments add up by function name across the process, and a
# second run of this very function (the "restricted" server) would add to the first's.
@pytest.mark.parametrize("redis_server", ["plain"], indirect=True)
def test_redis_hits_faults_and_the_breaker_state(tmp_path, reader, redis_server):
    def host(name: str) -> TieredCache:
        return TieredCache(
            base_dir=tmp_path / name, redis_url=redis_server.url, redis_socket_timeout=0.2,
            redis_connect_timeout=0.2,
        )  # fmt: skip

    first, second = host("a"), host("b")
    try:

        @discovery_cached(key="otel_fleet:<region>", cache=first)
        def on_a(region):
            return {"region": region}

        @discovery_cached(key="otel_fleet:<region>", cache=second)
        def on_b(region):
            return {"region": region}

        on_a("us-east-1")
        assert on_b("us-east-1") == {"region": "us-east-1"}  # from Redis
        points = metrics_of(reader)
        assert on_b.cache_info().redis_hits == 1
        assert_lookups_match(points, on_b)
        server = redis_server.url.split("://", 1)[1]
        breaker = ("dbp.cache.redis.breaker", (("dbp.cache.redis.server", f"redis://{server}"),))
        assert points[breaker].value == 0  # closed

        redis_server.kill()
        for region in ("r1", "r2", "r3", "r4"):  # computed locally, the breaker opens
            assert on_b(region) == {"region": region}
        # (a call stops at its first Redis fault, and the breaker opens after two in a row)
        assert sum(second.redis.breaker.faults.values()) >= 2

        def faults_now() -> int:  # every breaker of the process (background subscribers too)
            return sum(
                n
                for b in all_breakers()
                for k, n in b.fault_counts().items()
                if k == "ConnectionError"
            )

        before = faults_now()
        points = metrics_of(reader)
        after = faults_now()
        observed = value(points, "dbp.cache.redis.faults", **{"error.type": "ConnectionError"})
        assert before >= 2 and before <= observed <= after
        assert points[breaker].value == 1  # open
    finally:
        first.close()
        second.close()


def test_bedrock_api_calls_by_operation_region_and_error(reader, make_models, fake_bedrock):
    def api(points: dict, region: str, error: str | None = None) -> int:
        attributes = {"aws.operation": "ListFoundationModels", "cloud.region": region}
        if error:
            attributes["error.type"] = error
        return value(points, "dbp.bedrock.api.calls", **attributes)

    cases = [("us-east-1", None), ("us-west-2", None), ("eu-west-1", "InternalServerException")]
    before = metrics_of(reader)  # the counter counts the process's requests since it began
    models = make_models()
    models.list_models("us-east-1")
    models.list_models("us-west-2")
    models.list_models("us-east-1")  # cached: no request
    fake_bedrock.fail("eu-west-1", 500, "InternalServerException")
    with pytest.raises(Exception, match="InternalServerException"):
        models.list_models("eu-west-1")
    after = metrics_of(reader)
    for region, error in cases:
        made = api(after, region, error) - api(before, region, error)
        assert made == fake_bedrock.count(region=region, operation="ListFoundationModels")
    assert fake_bedrock.count(region="eu-west-1") == 3  # the retry policy's three attempts
    assert fake_bedrock.count(region="us-east-1") == 1


SCRIPT = textwrap.dedent(
    """
    import json, sys
    import dbp.llm.bedrock.discovery
    from dbp.cache import TieredCache, discovery_cached
    loaded_at_import = "opentelemetry" in sys.modules
    result = {"otel_imported": loaded_at_import}
    if loaded_at_import:  # the application sets its provider after importing the library
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    @discovery_cached(key="env:<x>", cache=TieredCache(base_dir=sys.argv[1]))
    def f(x):
        return x

    for _ in range(3):
        f(1)
    result["otel_imported_after_work"] = "opentelemetry" in sys.modules
    if loaded_at_import:
        data = reader.get_metrics_data()
        points = [(m.name, dict(p.attributes), p.value)
                  for r in data.resource_metrics for s in r.scope_metrics
                  for m in s.metrics if m.name == "dbp.cache.lookups"
                  for p in m.data.data_points]
        result["points"] = points
    print(json.dumps(result))
    """
)


@pytest.mark.parametrize("setting", [None, "1"])
def test_only_dbp_otel_metrics_imports_opentelemetry(tmp_path, setting):
    env = {k: v for k, v in os.environ.items() if k != "DBP_OTEL_METRICS"}
    if setting:
        env["DBP_OTEL_METRICS"] = setting
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout)
    assert result["otel_imported"] is bool(setting)
    assert result["otel_imported_after_work"] is bool(setting)
    if setting:
        function = "__main__.f"
        assert sorted((p[1]["dbp.cache.result"], p[2]) for p in result["points"]
                      if p[1]["dbp.cache.function"] == function) == [("hit", 2), ("miss", 1)]  # fmt: skip


def test_enable_metrics_without_opentelemetry_names_the_extra(tmp_path):
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from dbp.cache import enable_metrics\n"
        "try:\n    enable_metrics()\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "pip install 'dbp-discovery-cache[otel]'" in out


def test_dbp_otel_metrics_without_opentelemetry_warns_and_the_cache_still_works(tmp_path):
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from dbp.cache import TieredCache, discovery_cached\n"
        "@discovery_cached(key='w:<x>', cache=TieredCache(base_dir=sys.argv[1]))\n"
        "def f(x):\n    return x * 2\n"
        "print(f(21))\n"
    )
    env = {**os.environ, "DBP_OTEL_METRICS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout == "42\n"
    assert "DBP_OTEL_METRICS is set but metrics stay off" in done.stderr
    assert "pip install 'dbp-discovery-cache[otel]'" in done.stderr
