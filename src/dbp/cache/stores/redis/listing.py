"""Listing the shared tier for people (``dbp-discovery cache ls`` / ``cache info``).

[Design principles]
- ``SCAN`` in batches, never ``KEYS`` (which blocks a server, and which managed
  services refuse); the listing stops once its time budget is spent and says so,
  so a keyspace of millions never hangs the command.
- Unlike the store's own operations this raises Redis's errors: a person asked,
  and "Redis is down" is the answer they need.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from .core import SCAN_BATCH, RedisEntryInfo

__all__ = ["Listing", "list_entries"]


class Listing(NamedTuple):
    """The entries seen, each with Redis's own time to live (seconds, None: no expiry)."""

    entries: list[tuple[RedisEntryInfo, float | None]]
    complete: bool  # False: the time budget ran out before the SCAN did


def list_entries(
    store: Any, seconds: float, *, monotonic: Callable[[], float] = time.monotonic
) -> Listing:
    """Every entry under ``store``'s prefix, read in batches for at most about ``seconds``."""
    deadline = monotonic() + seconds

    def run(client: Any) -> Listing:
        found: list[tuple[RedisEntryInfo, float | None]] = []
        batch: list[str] = []
        names = client.scan_iter(match=store.namer.entry_pattern(), count=SCAN_BATCH)
        for name in names:
            batch.append(name.decode() if isinstance(name, bytes) else name)
            if len(batch) >= SCAN_BATCH:
                found += _read(client, store, batch)
                batch = []
                if monotonic() >= deadline:
                    return Listing(found, False)
        found += _read(client, store, batch)
        return Listing(found, True)

    result: Listing = store.command(run, fail_open=False)
    return result


def _read(client: Any, store: Any, batch: list[str]) -> list[tuple[RedisEntryInfo, float | None]]:
    if not batch:
        return []
    pipe = client.pipeline(transaction=False)
    for name in batch:  # one key per command: entries live in different slots
        pipe.get(name)
        pipe.pttl(name)
    replies = pipe.execute()
    found = []
    for index, name in enumerate(batch):
        raw, ms = replies[2 * index], replies[2 * index + 1]
        if raw is None:  # expired or removed between SCAN and GET
            continue
        found.append((store.info(name, raw), None if ms is None or ms < 0 else ms / 1000))
    return found
