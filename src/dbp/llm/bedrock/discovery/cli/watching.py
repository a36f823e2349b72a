"""What ``cache info`` and ``cache ls`` add: statistics of the host and fleet, the shared tier.

[Design principles]
- Statistics come from the records every process flushes (:mod:`dbp.cache.metrics`):
  this host's files in the cache folder and, with a Redis URL, the fleet's hourly
  buckets; ``cache_info()`` stays per process.
- The shared tier is read with a bounded ``SCAN`` that says when it stopped early.
- A Redis that cannot be reached is one line and exit code 1: the person asked
  about it, so failing open (as the cache does) would hide the answer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from dbp.cache.metrics.counts import report
from dbp.cache.metrics.host import read_host

from .context import LOGGER, CliError, Context
from .output import format_duration, format_size, format_when, print_table

__all__ = [
    "DEFAULT_SCAN_SECONDS",
    "inspecting",
    "print_redis_rows",
    "redis_rows",
    "shared_tier",
    "statistics",
    "statistics_lines",
]

#: How long ``cache ls`` / ``cache info`` scan the shared tier before stopping early.
DEFAULT_SCAN_SECONDS = 2.0


def _not_redis_fault(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("dbp cache: Redis at")


@contextlib.contextmanager
def inspecting(ctx: Context) -> Iterator[None]:
    """While a command inspects Redis, an outage is its one error line, not also a warning.

    (The cache's own background connections would otherwise log it as well.)
    """
    LOGGER.addFilter(_not_redis_fault)
    try:
        yield
    finally:
        ctx.cache.close()  # its background subscriber too: nothing may log after the error
        LOGGER.removeFilter(_not_redis_fault)


def _store(ctx: Context) -> Any:
    return ctx.cache.redis


def _fail(ctx: Context, exc: BaseException) -> CliError:
    return CliError(f"cannot reach Redis at {_store(ctx).url}: {exc}")


def _listing(ctx: Context) -> Any:
    from dbp.cache.stores.redis.core import REDIS_ERRORS
    from dbp.cache.stores.redis.listing import list_entries

    seconds = ctx.args.scan_seconds
    if seconds < 0:
        raise CliError("--scan-seconds must be >= 0")
    try:
        return list_entries(_store(ctx), seconds)
    except REDIS_ERRORS as exc:
        raise _fail(ctx, exc) from exc


def statistics(ctx: Context) -> dict[str, Any]:
    """``{"host": report, "fleet": report or None}`` over the last hour and 24 hours."""
    cache, by_function = ctx.cache, ctx.args.by_function
    now = cache.clock.time()
    result: dict[str, Any] = {
        "host": report(read_host(cache.cache_dir), now, by_function=by_function),
        "fleet": None,
    }
    if _store(ctx) is not None:
        from dbp.cache.metrics.fleet import read_fleet
        from dbp.cache.stores.redis.core import REDIS_ERRORS

        try:
            hours = read_fleet(_store(ctx), now)
        except REDIS_ERRORS as exc:
            raise _fail(ctx, exc) from exc
        result["fleet"] = report(hours, now, by_function=by_function)
    return result


def shared_tier(ctx: Context) -> dict[str, Any] | None:
    """The shared tier's entry count and size (``complete`` False: the SCAN stopped early)."""
    if _store(ctx) is None:
        return None
    listing = _listing(ctx)
    return {
        "url": _store(ctx).url,
        "entries": len(listing.entries),
        "size": sum(info.size for info, _ in listing.entries),
        "complete": listing.complete,
    }


def _summary_text(summary: dict[str, Any]) -> str:
    ratio, mean = summary["hit_ratio"], summary["upstream_mean_seconds"]
    tiers = ", ".join(f"{tier} {n}" for tier, n in summary["hits_by_tier"].items())
    parts = [
        f"hit ratio {'-' if ratio is None else f'{ratio:.1%}'}",
        f"hits {summary['hits']}" + (f" ({tiers})" if tiers else ""),
        f"misses {summary['misses']}",
        f"upstream calls {summary['upstream_calls']}"
        + ("" if mean is None else f" (mean {_seconds(mean)})"),
    ]
    if summary["upstream_errors"]:
        parts.append(f"failed {summary['upstream_errors']}")
    parts.append(f"stale served {summary['stale_served']}")
    return ", ".join(parts)


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def statistics_lines(stats: dict[str, Any], shared: dict[str, Any] | None) -> list[tuple[str, str]]:
    """``cache info``'s lines for the statistics and the shared tier."""
    lines: list[tuple[str, str]] = []
    for scope in ("host", "fleet"):
        found = stats.get(scope)
        if found is None:
            continue
        for window, label in (("last_hour", "this hour"), ("last_24h", "last 24 h")):
            since = format_when(found[window]["since"])[:16]  # whole hours: no seconds
            lines.append((f"{scope} {label}", f"since {since}: {_summary_text(found[window])}"))
        for function, windows in found.get("functions", {}).items():
            lines.append((f"  {function}", f"24 h: {_summary_text(windows['last_24h'])}"))
    if shared is not None:
        state = "" if shared["complete"] else " (scan stopped early: at least this many)"
        lines.append(
            (
                "shared tier",
                f"{shared['url']}: {shared['entries']} entries, "
                f"{format_size(shared['size'])}{state}",
            )
        )
    return lines


def redis_rows(ctx: Context) -> tuple[list[dict[str, Any]], bool]:
    """``cache ls`` rows of the shared tier, and whether the SCAN finished."""
    if _store(ctx) is None:
        return [], True
    listing = _listing(ctx)
    rows = [
        {
            "tier": "redis",
            "key": info.key,
            "redis_key": info.redis_key,
            "size": info.size,
            "created": info.created if info.key else None,
            "expires": info.expires if info.key else None,
            "ttl": ttl,
            "owner": info.owner,
        }
        for info, ttl in listing.entries
    ]
    rows.sort(key=lambda r: (r["key"] is None, r["key"] or r["redis_key"]))
    return rows, listing.complete


def print_redis_rows(ctx: Context, rows: list[dict[str, Any]], complete: bool) -> None:
    now = ctx.cache.clock.time()
    ctx.out.write(f"\nshared tier {_store(ctx).url}: {len(rows)} entries\n")
    table = [
        [
            r["key"] or f"<unreadable {r['redis_key']}>",
            format_size(r["size"]),
            "-" if r["expires"] is None else format_duration(r["expires"] - now),
            "-" if r["ttl"] is None else format_duration(r["ttl"]),
            r["owner"] or "-",
        ]
        for r in rows
    ]
    print_table(["KEY", "SIZE", "EXPIRES IN", "TTL", "WRITER"], table, ctx.out)
    if not complete:
        ctx.err.write(stopped_early(ctx))


def stopped_early(ctx: Context) -> str:
    return (
        f"dbp-discovery: the shared tier's SCAN stopped after {ctx.args.scan_seconds:g}s; "
        "more entries remain (raise --scan-seconds to see them)\n"
    )
