"""Watching the cache work: OpenTelemetry metrics and statistics across processes and hosts.

:mod:`.otel` publishes the counts ``cache_info()`` keeps through OpenTelemetry
(optional; OpenTelemetry itself is imported only when turned on); :mod:`.flusher`
adds each process's counts to this host's files (:mod:`.host`) and the fleet's Redis
buckets (:mod:`.fleet`); :mod:`.counts` is the shape they share and the summaries
``dbp-discovery cache info`` prints.
"""

from __future__ import annotations

from .flusher import ENV_STATS_INTERVAL, configure_stats, flush_stats
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
]
