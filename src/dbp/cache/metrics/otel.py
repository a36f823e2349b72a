"""OpenTelemetry metrics, optional: :func:`enable_metrics` or ``DBP_OTEL_METRICS=1``.

[Intent]
Let an operator see, in the tools they already run, whether the cache works and
what it saves: lookups by result and tier, upstream calls and their duration,
Redis faults and the breaker's state, under the meter ``dbp.cache``.

[Design principles]
- Optional: only ``enable_metrics()`` imports OpenTelemetry (the ``[otel]`` extra,
  ``opentelemetry-api``); the application brings the SDK and the exporter.
- Hits cost nothing more: the counts ``cache_info()`` keeps anyway are read by
  observable instruments when a reader collects. Only the duration histogram is
  recorded as each upstream call ends, on the miss path, which waits for the call.
- No semantic convention for caches exists yet, so the names are our own, in
  OpenTelemetry's style (dot-separated, ``{lookup}`` units, seconds, ``error.type``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..info import CALL_OBSERVERS, all_counters

__all__ = [
    "DURATION_BUCKETS",
    "ENV_OTEL_METRICS",
    "METER_NAME",
    "add_instruments",
    "enable_from_env",
    "enable_metrics",
    "function_totals",
]

ENV_OTEL_METRICS = "DBP_OTEL_METRICS"
METER_NAME = "dbp.cache"
#: OpenTelemetry's advised boundaries for durations in seconds (as for HTTP durations).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
#: The breaker gauge's values.
BREAKER_STATES = {"closed": 0, "open": 1, "half-open": 2}

#: Makes instruments on a meter; see :func:`add_instruments`.
Builder = Callable[[Any], None]
_lock = threading.Lock()
_builders: list[Builder] = []
_meters: list[Any] = []


def add_instruments(builder: Builder) -> None:
    """Have ``builder(meter)`` make more instruments on the ``dbp.cache`` meter.

    Run now for every meter metrics are already on, and for each later one. The
    Bedrock layer adds ``dbp.bedrock.api.calls`` this way (the engine can't import it).
    """
    with _lock:
        _builders.append(builder)
        meters = list(_meters)
    for meter in meters:
        builder(meter)


def enable_metrics(meter_provider: Any = None) -> None:
    """Publish the cache's metrics through OpenTelemetry (``meter_provider`` or the global one).

    Calling it again for the same provider does nothing. Raises ``ImportError``
    naming the extra when ``opentelemetry-api`` is not installed.
    """
    try:
        from opentelemetry import metrics
    except ImportError as exc:
        raise ImportError(
            "enable_metrics needs OpenTelemetry: pip install 'dbp-discovery-cache[otel]' "
            "(and the opentelemetry-sdk with an exporter in the application)"
        ) from exc
    meter = metrics.get_meter(METER_NAME, _version(), meter_provider=meter_provider)
    with _lock:
        if any(known is meter for known in _meters):
            return
        _meters.append(meter)
        builders = [_engine_instruments, *_builders]
    for builder in builders:
        builder(meter)


def enable_from_env() -> None:
    """``DBP_OTEL_METRICS=1`` (or ``true``): :func:`enable_metrics` on the global provider.

    Without OpenTelemetry installed this warns and leaves metrics off: a setting in the
    environment must not stop the application from importing the cache.
    """
    if os.environ.get(ENV_OTEL_METRICS, "").strip().lower() in ("1", "true", "yes", "on"):
        try:
            enable_metrics()
        except ImportError as exc:
            logging.getLogger("dbp.cache").warning(
                "dbp cache: %s is set but metrics stay off: %s", ENV_OTEL_METRICS, exc
            )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dbp-discovery-cache")
    except PackageNotFoundError:
        return ""


def function_totals() -> dict[str, dict[str, int]]:
    """Every decorated function's lifetime counts, summed by function name."""
    merged: dict[str, dict[str, int]] = {}
    for counters in all_counters():
        into = merged.setdefault(counters.name, {})
        for field, value in counters.totals().items():
            into[field] = into.get(field, 0) + value
    return merged


# -- the engine's instruments ----------------------------------------------------------
def _engine_instruments(meter: Any) -> None:
    meter.create_observable_counter(
        "dbp.cache.lookups",
        [_lookups],
        unit="{lookup}",
        description="Calls of cached functions, by result (hit, miss, stale) and, for hits, tier",
    )
    meter.create_observable_counter(
        "dbp.cache.upstream.calls",
        [_upstream_calls],
        unit="{call}",
        description="Calls of the cached functions themselves (cache misses and refreshes)",
    )
    duration = meter.create_histogram(
        "dbp.cache.upstream.duration",
        unit="s",
        description="How long the cached functions' own calls took",
        explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
    )

    def record(function: str, seconds: float, error: str | None) -> None:
        attributes = {"dbp.cache.function": function}
        if error is not None:
            attributes["error.type"] = error
        duration.record(seconds, attributes)

    CALL_OBSERVERS.append(record)
    meter.create_observable_counter(
        "dbp.cache.redis.faults",
        [_redis_faults],
        unit="{fault}",
        description="Failed Redis operations (the cache then computed or served locally)",
    )
    meter.create_observable_gauge(
        "dbp.cache.redis.breaker",
        [_redis_breakers],
        unit="1",
        description="The Redis tier's circuit breaker: 0 closed, 1 open, 2 half-open",
    )


def _observations(pairs: Iterable[tuple[int, dict[str, str]]]) -> list[Any]:
    from opentelemetry.metrics import Observation

    return [Observation(value, attributes) for value, attributes in pairs]


def _lookups(options: Any) -> list[Any]:
    pairs = []
    for function, totals in function_totals().items():
        for field, value in totals.items():
            if field.startswith("hit."):
                attributes = {"dbp.cache.result": "hit", "dbp.cache.tier": field[4:]}
            elif field in ("miss", "stale"):
                attributes = {"dbp.cache.result": field}
            else:
                continue
            pairs.append((value, {"dbp.cache.function": function, **attributes}))
    return _observations(pairs)


def _upstream_calls(options: Any) -> list[Any]:
    pairs = []
    for function, totals in function_totals().items():
        errors = {k[6:]: v for k, v in totals.items() if k.startswith("error.")}
        ok = totals.get("call", 0) - sum(errors.values())
        if ok:
            pairs.append((ok, {"dbp.cache.function": function}))
        pairs.extend(
            (n, {"dbp.cache.function": function, "error.type": kind}) for kind, n in errors.items()
        )
    return _observations(pairs)


def _breakers() -> list[Any]:
    module = sys.modules.get("dbp.cache.stores.redis.breaker")  # not imported: no Redis tier
    return [] if module is None else list(module.all_breakers())


def _redis_faults(options: Any) -> list[Any]:
    by_type: dict[str, int] = {}
    for breaker in _breakers():
        for kind, count in breaker.fault_counts().items():
            by_type[kind] = by_type.get(kind, 0) + count
    return _observations((n, {"error.type": kind}) for kind, n in by_type.items())


def _redis_breakers(options: Any) -> list[Any]:
    worst: dict[str, int] = {}
    for breaker in _breakers():
        state = BREAKER_STATES.get(breaker.state, 1)
        server = breaker.what.removeprefix("Redis at ")
        worst[server] = max(worst.get(server, 0), state)
    return _observations((s, {"dbp.cache.redis.server": k}) for k, s in worst.items())
