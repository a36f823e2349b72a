"""The shape of the shared statistics: counts per function, in hourly buckets.

A function's counts are the fields of :meth:`dbp.cache.info.Counters.totals`:
``hit.<tier>`` (``memory``, ``disk``, ``redis``, ``flight``), ``miss``, ``stale``,
``call``, ``call_us`` (microseconds) and ``error.<type>``. Buckets are keyed by the
start of their hour (Unix seconds), so processes and hosts merge them by adding.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "HOUR",
    "KEEP_SECONDS",
    "WINDOWS",
    "Counts",
    "Hours",
    "add_counts",
    "add_hours",
    "hour_of",
    "report",
    "summary",
]

HOUR = 3600
#: How long hourly buckets are kept (files and Redis alike).
KEEP_SECONDS = 8 * 86_400
#: function -> field -> count
Counts = dict[str, dict[str, int]]
#: hour start -> counts
Hours = dict[int, Counts]


def hour_of(when: float) -> int:
    return int(when // HOUR * HOUR)


def add_counts(into: Counts, more: Counts) -> None:
    for function, fields in more.items():
        target = into.setdefault(function, {})
        for field, value in fields.items():
            target[field] = target.get(field, 0) + value


def add_hours(into: Hours, more: Hours) -> None:
    for hour, counts in more.items():
        add_counts(into.setdefault(hour, {}), counts)


def summary(fields: dict[str, int]) -> dict[str, Any]:
    """What an operator reads: hit ratio, hits by tier, misses, upstream calls and their mean."""
    tiers = {k[4:]: v for k, v in sorted(fields.items()) if k.startswith("hit.")}
    hits, misses = sum(tiers.values()), fields.get("miss", 0)
    calls = fields.get("call", 0)
    errors = {k[6:]: v for k, v in sorted(fields.items()) if k.startswith("error.")}
    return {
        "hit_ratio": None if hits + misses == 0 else hits / (hits + misses),
        "hits": hits,
        "hits_by_tier": tiers,
        "misses": misses,
        "upstream_calls": calls,
        "upstream_mean_seconds": None if calls == 0 else fields.get("call_us", 0) / calls / 1e6,
        "upstream_errors": sum(errors.values()),
        "upstream_errors_by_type": errors,
        "stale_served": fields.get("stale", 0),
    }


#: The windows ``cache info`` shows: (name, number of hourly buckets, the current one included).
WINDOWS = (("last_hour", 1), ("last_24h", 24))


def report(hours: Hours, now: float, *, by_function: bool = False) -> dict[str, Any]:
    """Summaries over the current hour's bucket and the last 24 (``since``: where each starts)."""
    current = hour_of(now)
    result: dict[str, Any] = {}
    functions: dict[str, dict[str, Any]] = {}
    for name, buckets in WINDOWS:
        since = current - (buckets - 1) * HOUR
        merged: Counts = {}
        for hour, counts in hours.items():
            if since <= hour <= current:
                add_counts(merged, counts)
        total: dict[str, int] = {}
        for fields in merged.values():
            for field, value in fields.items():
                total[field] = total.get(field, 0) + value
        result[name] = {"since": since, **summary(total)}
        if by_function:
            for function, fields in sorted(merged.items()):
                functions.setdefault(function, {})[name] = summary(fields)
    if by_function:
        result["functions"] = functions
    return result
