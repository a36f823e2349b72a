"""The fleet's statistics: hourly hashes in Redis, one pipeline of ``HINCRBY`` per flush.

[Intent]
Add up what every process of every host did, at the cost of one round trip per
process every few seconds, never one per hit.

[Design principles]
- One hash per hour (``<prefix>stats:<hour start>``), one field per function and
  count (``<function>|<field>``); each flush adds its deltas with ``HINCRBY`` and
  renews the hash's expiry (8 days) in one pipeline, on one key, so it works on a
  cluster too.
- A flush that fails is dropped (the store's fail-open guard and breaker apply);
  it is never retried, and never runs on a caller's thread.
"""

from __future__ import annotations

from typing import Any

from .counts import HOUR, KEEP_SECONDS, Counts, Hours, hour_of

__all__ = ["add_to_fleet", "read_fleet", "stats_key"]

_SEPARATOR = "|"


def stats_key(prefix: str, hour: int) -> str:
    return f"{prefix}stats:{hour}"


def add_to_fleet(store: Any, hour: int, counts: Counts) -> bool:
    """Add ``counts`` to the fleet's bucket of ``hour``; False if Redis failed (dropped)."""
    key = stats_key(store.prefix, hour)

    def run(client: Any) -> Any:
        pipe = client.pipeline(transaction=False)
        for function, fields in counts.items():
            for field, value in fields.items():
                pipe.hincrby(key, f"{function}{_SEPARATOR}{field}", value)
        pipe.expire(key, KEEP_SECONDS)
        return pipe.execute()

    return isinstance(store.command(run), list)


def read_fleet(store: Any, now: float, hours: int = 24) -> Hours:
    """The fleet's last ``hours`` buckets; raises Redis's error when it can't be read."""
    current = hour_of(now)
    wanted = [current - i * HOUR for i in range(hours)]

    def run(client: Any) -> Any:
        pipe = client.pipeline(transaction=False)
        for hour in wanted:
            pipe.hgetall(stats_key(store.prefix, hour))
        return pipe.execute()

    result: Hours = {}
    for hour, raw in zip(wanted, store.command(run, fail_open=False), strict=True):
        counts: Counts = {}
        for name, value in raw.items():
            text = name.decode() if isinstance(name, bytes) else str(name)
            function, _, field = text.rpartition(_SEPARATOR)
            try:
                counts.setdefault(function, {})[field] = int(value)
            except ValueError:
                continue
        if counts:
            result[hour] = counts
    return result
