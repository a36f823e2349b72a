"""Timing helpers: compiled loops, gc off while timing, interleaved repeats, medians.

The machines these run on are shared and noisy, so every comparison is made inside one
process and one run: the contenders of a benchmark are timed in alternating rounds (the
order rotates every round), and each contender's figure is the median of its rounds.
Ratios are taken between those medians.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "Loop",
    "gc_off",
    "interleave",
    "make_async_loop",
    "make_loop",
    "median",
    "per_op_budget",
    "time_once",
]

#: A timing loop: run ``n`` operations, return the elapsed nanoseconds.
Loop = Callable[[int], int]

_clock = time.perf_counter_ns


@contextmanager
def gc_off() -> Iterator[None]:
    """Disable the cyclic garbage collector for a timed section (restored after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _compile(stmt: str, namespace: dict[str, Any] | None, prefix: str = "") -> Any:
    """``[async] def _loop(n)``: ``for _ in range(n): [await] <stmt>``, timed inside."""
    names = dict(namespace or {})
    params = "".join(f", {name}={name}" for name in names)
    source = (
        f"{prefix}def _loop(_n, _clock=_clock{params}):\n"
        "    _it = range(_n)\n"
        "    _t0 = _clock()\n"
        "    for _ in _it:\n"
        f"        {'await ' if prefix else ''}{stmt}\n"
        "    return _clock() - _t0\n"
    )
    scope: dict[str, Any] = {"_clock": _clock, **names}
    exec(compile(source, f"<{prefix}loop {stmt!r}>", "exec"), scope)
    return scope["_loop"]


def make_loop(
    stmt: str, namespace: dict[str, Any] | None = None, *, manage_gc: bool = True
) -> Loop:
    """Compile ``for _ in range(n): <stmt>`` with the names of ``namespace`` as locals.

    Like ``timeit``: no per-iteration lambda call is added to what is measured, only the
    ``for`` loop itself (measured separately with ``stmt="pass"`` and subtracted by callers
    that want it).
    """
    inner: Callable[[int], int] = _compile(stmt, namespace)
    if not manage_gc:  # the caller (e.g. a multi-threaded run) handles gc itself
        return inner

    def loop(n: int) -> int:
        with gc_off():
            return inner(n)

    return loop


def make_async_loop(stmt: str, namespace: dict[str, Any], runner: Any) -> Loop:
    """Like :func:`make_loop` for ``await <stmt>``: the loop is a coroutine run to completion
    on ``runner`` (an event loop); only the loop inside the coroutine is timed, so
    starting the coroutine on the event loop is not part of any operation's time."""
    inner = _compile(stmt, namespace, "async ")

    def loop(n: int) -> int:
        with gc_off():
            return int(runner.run_until_complete(inner(n)))

    return loop


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def per_op_budget(loop: Loop, budget_ns: float, cap: int, floor: int = 3) -> int:
    """How many operations fit in one batch of about ``budget_ns`` (between floor and cap)."""
    probe = max(1, min(cap, 20))
    loop(probe)  # warm-up
    per_op = max(loop(probe) / probe, 1.0)
    return max(floor, min(cap, int(budget_ns / per_op)))


def interleave(
    loops: dict[str, Loop],
    numbers: dict[str, int],
    repeats: int,
    overhead_ns: float = 0.0,
) -> dict[str, list[float]]:
    """Per-op nanoseconds of each contender, one sample per round; rounds alternate contenders.

    ``overhead_ns`` (the empty loop's cost per iteration) is subtracted from every sample.
    """
    names = list(loops)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            n = numbers[name]
            elapsed = loops[name](n)
            samples[name].append(max(elapsed / n - overhead_ns, 0.0))
    return samples


def time_once(func: Callable[[], Any]) -> tuple[float, Any]:
    """Nanoseconds one call of ``func`` takes (gc off), and its result."""
    with gc_off():
        t0 = _clock()
        result = func()
        elapsed = _clock() - t0
    return float(elapsed), result
