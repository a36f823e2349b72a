"""What the benchmark groups share: the cached function, the timing and the sanity checks.

Every group builds its contenders on the same payload object, gives each library's cache
its own folder, warms every contender up, checks that each returns the payload, and only
then times them in interleaved rounds (see ``timing.py``). This module holds the pieces
of that routine that the group modules (and ``fleet.py``, ``method_hit.py``) have in common.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from common import Config, Measured
from timing import Loop, interleave, make_loop, median, per_op_budget

__all__ = [
    "KEY",
    "REGION",
    "Details",
    "Source",
    "check",
    "check_payload",
    "counting",
    "loop_overhead",
    "measure",
    "medians",
]

REGION = "us-east-1"
KEY = f"bedrock_models:{REGION}"
Details = dict[str, Any]


class Source:
    """The function being cached: returns the payload and counts how often it really ran."""

    _made = itertools.count()

    def __init__(self, payload: Any, delay: float = 0.0) -> None:
        self.payload = payload
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()
        self._number = next(self._made)

    def function(self) -> Callable[[str], Any]:
        # The function closes over this source's number only: a derived key (key=None)
        # tells functions made by one factory apart by their closure's values, and an
        # object is never such a value.
        number = self._number
        _SOURCES[number] = self

        def list_models(region: str) -> Any:
            source = _SOURCES[number]
            with source._lock:
                source.calls += 1
            if source.delay:
                time.sleep(source.delay)
            return source.payload

        return list_models


#: Every Source by number, for the functions it made (see Source.function).
_SOURCES: dict[int, Source] = {}


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    """Median of each contender's rounds, keeping the rounds for paired ratios."""
    return {name: Measured(median(values), tuple(values)) for name, values in samples.items()}


def loop_overhead(config: Config) -> float:
    """Per-iteration cost of the empty timing loop (subtracted from call timings)."""
    empty = make_loop("pass")
    n = max(config.iterations, 1000)
    return median(interleave({"empty": empty}, {"empty": n}, max(config.repeats, 3))["empty"])


def measure(
    config: Config,
    loops: dict[str, Loop],
    overhead: float = 0.0,
    cap: int | None = None,
    rounds: int | None = None,
) -> tuple[dict[str, float], dict[str, int]]:
    """Median per-op ns of each loop, batches sized to about ``config.batch_ms``."""
    cap = cap or config.iterations
    numbers = {
        name: per_op_budget(loop, config.batch_ms * 1e6, cap) for name, loop in loops.items()
    }
    samples = interleave(loops, numbers, rounds or config.repeats, overhead)
    return medians(samples), numbers


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(f"benchmark sanity check failed: {message}")


def _is_aware(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is not None


def check_payload(value: Any, payload: Any, who: str) -> None:
    check(value == payload, f"{who} returned a different value")
    if "modelSummaries" in value:
        first = value["modelSummaries"][0]["modelLifecycle"]
        if isinstance(payload["modelSummaries"][0]["modelLifecycle"]["startOfLifeTime"], str):
            return  # the datetime-free payload
        check(_is_aware(first.get("startOfLifeTime")), f"{who} lost the tz-aware datetime")
    else:
        profiles = value["inferenceProfileSummaries"]
        check(all(_is_aware(p["createdAt"]) for p in profiles), f"{who} lost a datetime")


def counting(obj: Any, attr: str) -> list[int]:
    """Count calls of ``obj.attr`` (instance attribute shadowing the method)."""
    counter = [0]
    original = getattr(obj, attr)

    def counted(*args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return original(*args, **kwargs)

    setattr(obj, attr, counted)
    return counter
