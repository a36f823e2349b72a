"""TTL arguments: one place that decides what ``None``, ``0``, numbers and timedeltas mean.

``None`` means "use the default", ``0`` means "this tier is off" (the seed's
``x or default`` turned 0 into the default), negatives and non-numbers are errors
that name the parameter.
"""

from __future__ import annotations

import datetime as _dt
import math

__all__ = ["TTLArg", "check_max_entries", "tier_overrides", "ttl_seconds"]

TTLArg = int | float | _dt.timedelta | None

SECONDS_PER_DAY = 86_400.0


def ttl_seconds(
    value: object,
    name: str,
    *,
    default: float,
    unit: float = 1.0,
    zero: str | None = "0 disables that tier",
) -> float:
    """Return ``value`` as seconds (``default`` when ``None``).

    ``unit`` scales plain numbers (``SECONDS_PER_DAY`` for ``disk_ttl_days``);
    a ``timedelta`` is always taken as it is. ``zero`` says what 0 means in the
    error for a negative value (``None`` for a duration that is not a tier's).
    """
    if value is None:
        return default
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a number of {'days' if unit == SECONDS_PER_DAY else 'seconds'}, "
            f"a datetime.timedelta or None, not {type(value).__name__}"
        )
    else:
        seconds = float(value) * unit
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if seconds < 0:
        meaning = f" ({zero})" if zero else ""
        raise ValueError(f"{name} must be >= 0{meaning}, got {value!r}")
    return seconds


def check_max_entries(value: object, name: str = "max_memory_entries") -> int:
    """Validate an LRU bound: a non-negative int (0 turns the memory tier off)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (0 disables the memory tier), got {value!r}")
    return value


def tier_overrides(**ttls: TTLArg) -> dict[str, float | None]:
    """``memory_ttl=``/``disk_ttl=``/... as seconds by tier name (``None``: the cache's default)."""
    return {
        name.removesuffix("_ttl"): None if value is None else ttl_seconds(value, name, default=0)
        for name, value in ttls.items()
    }
