"""Watching the cache work: OpenTelemetry metrics and statistics across processes and hosts.

:mod:`.otel` publishes the counts ``cache_info()`` keeps through OpenTelemetry
(optional); :mod:`.flusher` adds each process's counts to this host's files
(:mod:`.host`) and the fleet's Redis buckets (:mod:`.fleet`); :mod:`.counts` is
the shape they share and the summaries ``dbp-discovery cache info`` prints.
Names are re-exported lazily: importing ``dbp.cache`` loads none of this but
:mod:`.otel`'s switch, so the library imports as fast as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .flusher import ENV_STATS_INTERVAL, configure_stats, flush_stats
    from .otel import ENV_OTEL_METRICS, METER_NAME, add_instruments, enable_metrics

__all__ = [
    "ENV_OTEL_METRICS",
    "ENV_STATS_INTERVAL",
    "METER_NAME",
    "add_instruments",
    "configure_stats",
    "enable_metrics",
    "flush_stats",
]

_MODULE_OF = {
    "ENV_STATS_INTERVAL": ".flusher",
    "configure_stats": ".flusher",
    "flush_stats": ".flusher",
    "ENV_OTEL_METRICS": ".otel",
    "METER_NAME": ".otel",
    "add_instruments": ".otel",
    "enable_metrics": ".otel",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
