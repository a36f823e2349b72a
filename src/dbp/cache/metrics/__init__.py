"""Watching the cache work: OpenTelemetry metrics and statistics across processes and hosts.

:mod:`.otel` publishes the counts ``cache_info()`` keeps through OpenTelemetry
(optional); :mod:`.flusher` adds each process's counts to this host's files
(:mod:`.host`) and the fleet's Redis buckets (:mod:`.fleet`); :mod:`.counts` is
the shape they share and the summaries ``dbp-discovery cache info`` prints.
"""

from __future__ import annotations

from .counts import report
from .fleet import read_fleet
from .flusher import ENV_STATS_INTERVAL, configure_stats, flush_stats
from .host import read_host
from .otel import ENV_OTEL_METRICS, METER_NAME, add_instruments, enable_from_env, enable_metrics

__all__ = [
    "ENV_OTEL_METRICS",
    "ENV_STATS_INTERVAL",
    "METER_NAME",
    "add_instruments",
    "configure_stats",
    "enable_from_env",
    "enable_metrics",
    "flush_stats",
    "read_fleet",
    "read_host",
    "report",
]
