"""What the benchmark modules share: the run's configuration and a result row."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Config", "Measured", "Row", "compare", "fmt_ns"]


class Measured(float):
    """A median that remembers its per-round samples, so ratios can be taken round by round."""

    samples: tuple[float, ...]

    def __new__(cls, value: float, samples: tuple[float, ...] = ()) -> Measured:
        self = super().__new__(cls, value)
        self.samples = tuple(samples)
        return self


def paired_ratio(ours: float, peer: float) -> float:
    """Median of the per-round ratios when both sides were timed in the same rounds.

    Rounds alternate the contenders, so a round's two samples are taken moments apart and a
    slow patch of the machine hits both; the median drops the rounds it hit unevenly. Falls
    back to the ratio of the two figures.
    """
    a, b = getattr(ours, "samples", ()), getattr(peer, "samples", ())
    if a and len(a) == len(b) and all(y > 0 for y in b):
        return statistics.median(x / y for x, y in zip(a, b, strict=True))
    return ours / peer if peer > 0 else float("inf")


@dataclass
class Config:
    quick: bool
    iterations: int  # cap on operations per timed batch
    repeats: int  # timed rounds per contender (the median is reported)
    batch_ms: float  # aim for batches of about this long
    startup_runs: int  # interpreter launches per command
    scale_sizes: tuple[int, ...]
    tmp_dir: str
    out_dir: str


@dataclass
class Row:
    """One line of the results table: ours against one peer."""

    name: str
    group: str
    label: str
    ours: float  # nanoseconds (or the unit below)
    peer: str
    peer_value: float
    ratio: float  # ours / peer
    target: str = "info"
    status: str = "info"  # PASS, MISS or info
    unit: str = "ns"
    ours_text: str = ""
    peer_text: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def fmt_ns(ns: float) -> str:
    """A duration for people: ns below 1 µs, then µs, ms, s."""
    if ns < 1_000:
        return f"{ns:.0f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.1f} µs" if ns < 100_000 else f"{ns / 1_000:.0f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def compare(
    name: str,
    label: str,
    ours: float,
    peer: str,
    peer_value: float,
    *,
    limit: float | None = None,
    target: str | None = None,
    notes: str = "",
    extra: dict[str, Any] | None = None,
) -> Row:
    """A timed row: ``ratio = ours / peer`` (round by round when both carry samples); with
    ``limit``, PASS when the ratio <= limit."""
    ratio = paired_ratio(ours, peer_value)
    if limit is None:
        status, shown = "info", target or "info"
    else:
        status = "PASS" if ratio <= limit else "MISS"
        shown = target or f"<= {limit:g}"
    return Row(
        name=name,
        group=name.split(".", 1)[0],
        label=label,
        ours=round(float(ours), 1),
        peer=peer,
        peer_value=round(float(peer_value), 1),
        ratio=round(ratio, 3),
        target=shown,
        status=status,
        ours_text=fmt_ns(ours),
        peer_text=fmt_ns(peer_value),
        notes=notes,
        extra=extra or {},
    )
