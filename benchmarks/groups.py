"""The benchmark groups. Each takes the run's config and a private temp folder and returns
``(rows, details)``: rows for the results table, details for the JSON file.

Every group builds its contenders on the same payload object, gives each library's cache
its own folder, warms every contender up, checks that each returns the payload, and only
then times them in interleaved rounds (see ``timing.py``).

The groups live in modules per concept (``memory.py``, ``disk.py``, ``scale.py``,
``fleet.py``, ``startup.py``, ``method_hit.py``, ``metrics_overhead.py``); what they share
is in ``harness.py``.
"""

from __future__ import annotations

from async_hit import async_hit
from disk import disk_hit, disk_set
from fleet import fleet
from memory import concurrency, memory_hit
from method_hit import method_hit
from metrics_overhead import metrics_overhead
from scale import scale
from startup import startup

__all__ = ["GROUPS"]

GROUPS = (
    memory_hit,
    disk_hit,
    disk_set,
    concurrency,
    scale,
    fleet,
    startup,
    method_hit,
    metrics_overhead,
    async_hit,
)
