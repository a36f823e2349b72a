"""How the command line prints: aligned tables, JSON, durations, sizes, progress.

Human output is an aligned table on stdout; ``--json`` is machine-readable JSON
(datetimes as ISO-8601 strings). Progress goes to stderr, rewritten on one line.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = [
    "Progress",
    "format_duration",
    "format_size",
    "format_when",
    "print_fields",
    "print_json",
    "print_table",
]


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_json(data: Any, out: TextIO) -> None:
    out.write(json.dumps(data, indent=2, default=_json_default) + "\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
    for line in (headers, *rows):
        cells = [cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=False)] + [line[-1]]
        out.write("  ".join(cells).rstrip() + "\n")


def print_fields(fields: Sequence[tuple[str, str]], out: TextIO) -> None:
    """``name  value`` lines, the values aligned (one record, e.g. ``cache info``)."""
    width = max((len(name) for name, _ in fields), default=0)
    for name, value in fields:
        out.write(f"{name.ljust(width)}  {value}\n")


def format_when(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{sign}{seconds / size:.1f}{unit}"
    return f"{sign}{seconds:.0f}s"


def format_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


class Progress:
    """``[3/17] scanning regions ... eu-west-1`` on one rewritten stderr line."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.width = 0

    def __call__(self, done: int, total: int, region: str) -> None:
        text = f"[{done}/{total}] {self.label} ... {region}"
        self.width = max(self.width, len(text))
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
