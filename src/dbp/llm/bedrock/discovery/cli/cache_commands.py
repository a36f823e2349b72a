"""Commands on the local cache: ``cache info``, ``cache ls``, ``cache clear``, ``cache cleanup``.

They never talk to AWS and never import boto3.
"""

from __future__ import annotations

from typing import Any

from ..cache import DiscoveryCache
from .context import Context
from .output import (
    format_duration,
    format_size,
    format_when,
    print_fields,
    print_json,
    print_table,
)
from .watching import (
    inspecting,
    print_redis_rows,
    redis_rows,
    shared_tier,
    statistics,
    statistics_lines,
    stopped_early,
)

__all__ = ["cmd_cache_cleanup", "cmd_cache_clear", "cmd_cache_info", "cmd_cache_ls"]


def _entry_rows(cache: DiscoveryCache) -> list[dict[str, Any]]:
    now = cache.clock.time()
    rows = []
    for entry in cache.entries():
        if entry.key is None:
            state = "unreadable"
        elif now < entry.expires:
            state = "fresh"
        elif now < entry.stale_until:
            state = "stale"
        else:
            state = "expired"
        rows.append(
            {
                "tier": "disk",
                "key": entry.key,
                "file": entry.path,
                "size": entry.size,
                "created": entry.created if entry.key else None,
                "expires": entry.expires if entry.key else None,
                "state": state,
                "owner": entry.owner,
            }
        )
    rows.sort(key=lambda r: (r["key"] is None, r["key"] or r["file"]))
    return rows


def cmd_cache_info(ctx: Context) -> None:
    with inspecting(ctx):
        _cache_info(ctx)


def _cache_info(ctx: Context) -> None:
    cache = ctx.cache
    rows = _entry_rows(cache)
    readable = [r for r in rows if r["key"] is not None]
    oldest = min(readable, key=lambda r: r["created"], default=None)
    newest = max(readable, key=lambda r: r["created"], default=None)
    info = {
        "folder": cache.cache_dir,
        "entries": len(rows),
        "fresh": sum(r["state"] == "fresh" for r in rows),
        "expired": sum(r["state"] in ("stale", "expired") for r in rows),
        "unreadable": sum(r["state"] == "unreadable" for r in rows),
        "size": sum(r["size"] for r in rows),
        "oldest": None if oldest is None else {"key": oldest["key"], "created": oldest["created"]},
        "newest": None if newest is None else {"key": newest["key"], "created": newest["created"]},
        "memory_ttl_seconds": cache.memory_ttl_seconds,
        "disk_ttl_seconds": cache.disk_ttl_seconds,
        "statistics": statistics(ctx),  # this host's processes, and the fleet's with Redis
        "shared": shared_tier(ctx),
    }
    if ctx.args.json:
        print_json(info, ctx.out)
        return
    lines = [
        ("folder", info["folder"]),
        (
            "entries",
            f"{info['entries']} ({info['fresh']} fresh, {info['expired']} expired, "
            f"{info['unreadable']} unreadable)",
        ),
        ("size", format_size(info["size"])),
        ("oldest", "-" if oldest is None else f"{format_when(oldest['created'])}  {oldest['key']}"),
        ("newest", "-" if newest is None else f"{format_when(newest['created'])}  {newest['key']}"),
        (
            "ttl",
            f"memory {format_duration(cache.memory_ttl_seconds)}, "
            f"disk {format_duration(cache.disk_ttl_seconds)}",
        ),
    ]
    print_fields(lines, ctx.out)
    ctx.out.write("\n")  # the statistics: a block of their own, aligned on their own
    print_fields(statistics_lines(info["statistics"], info["shared"]), ctx.out)


def cmd_cache_ls(ctx: Context) -> None:
    with inspecting(ctx):
        _cache_ls(ctx)


def _cache_ls(ctx: Context) -> None:
    cache = ctx.cache
    rows = _entry_rows(cache)
    shared, complete = redis_rows(ctx)
    if ctx.args.json:
        print_json([*rows, *shared], ctx.out)
        if not complete:
            ctx.err.write(stopped_early(ctx))
        return
    now = cache.clock.time()
    table = [
        [
            r["key"] or f"<unreadable {r['file']}>",
            format_size(r["size"]),
            "-" if r["created"] is None else format_duration(now - r["created"]),
            "-" if r["expires"] is None else format_duration(r["expires"] - now),
            r["state"],
        ]
        for r in rows
    ]
    print_table(["KEY", "SIZE", "AGE", "EXPIRES IN", "STATE"], table, ctx.out)
    if cache.redis is not None:
        print_redis_rows(ctx, shared, complete)


def cmd_cache_clear(ctx: Context) -> None:
    cache = ctx.cache
    pattern = ctx.args.key
    if pattern is None:
        removed = cache.invalidate()
    elif any(c in pattern for c in "*?["):  # a glob: every tier, Redis and other hosts too
        removed = cache.invalidate_matching(pattern)
    else:
        removed = cache.invalidate(pattern)
    if ctx.args.json:
        print_json({"removed": removed}, ctx.out)
    else:
        ctx.out.write(f"removed {removed} entr{'y' if removed == 1 else 'ies'}\n")


def cmd_cache_cleanup(ctx: Context) -> None:
    removed = ctx.cache.cleanup()
    if ctx.args.json:
        print_json({"removed": removed}, ctx.out)
    else:
        ctx.out.write(f"removed {removed} file{'' if removed == 1 else 's'}\n")
