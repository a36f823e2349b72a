"""Value codec: orjson bytes plus a short list of where the non-JSON types were.

[Intent]
A value must come back equal from every tier. JSON alone loses types boto3
responses are full of (``datetime``) and Python ones users return (``tuple``), so
the encoder records the path of every such value and the decoder restores just
those paths. Nothing here can execute code: the format is JSON, never pickle.

[Implementation details]
Encoding walks the value once in Python (writes are rare: once per miss); it also
rejects what would not round-trip (NaN, sets, objects, non-str dict keys) with a
``TypeError``/``ValueError`` naming the key. Paths are stored grouped by shape:
``["modelSummaries", null, "modelLifecycle", "startOfLifeTime"]`` plus the list
indices that fill the ``null``, so decoding walks the common prefix once and then
does one short lookup per value. A payload without special types pays nothing.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

__all__ = ["MAX_DEPTH", "TypePaths", "decode", "encode"]

#: Deepest nesting accepted; orjson itself stops at 255.
MAX_DEPTH = 200

Path = list[Any]  # dict keys (str) and list indices (int)
#: A group of paths of one shape: [pattern with None for list indices, indices].
#: ``indices`` is a flat list of ints when the pattern has one None, a list of
#: int lists when it has several, and empty when it has none (a single path).
PathGroup = list[Any]
TypePaths = dict[str, list[PathGroup]]

_DATETIME = "datetime"
_DATE = "date"
_TUPLE = "tuple"


class _Scan:
    """Collects typed paths while validating a value; one instance per ``encode``."""

    __slots__ = ("dates", "datetimes", "key", "tuples")

    def __init__(self, key: str) -> None:
        self.key = key
        self.datetimes: list[Path] = []
        self.dates: list[Path] = []
        self.tuples: list[Path] = []

    def walk(self, obj: Any, path: Path) -> None:
        if isinstance(obj, str) or obj is None or isinstance(obj, int):
            return
        if len(path) > MAX_DEPTH:
            raise ValueError(
                f"value for cache key {self.key!r} is nested deeper than {MAX_DEPTH} levels"
            )
        if isinstance(obj, dict):
            for k, v in obj.items():
                if not isinstance(k, str):
                    raise TypeError(
                        f"value for cache key {self.key!r} has a dict key of type "
                        f"{type(k).__name__} at {_where(path)}; only str keys can be cached"
                    )
                if not (isinstance(v, str) or v is None or type(v) is int or type(v) is bool):
                    self.walk(v, [*path, k])
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                if not (isinstance(v, str) or v is None or type(v) is int or type(v) is bool):
                    self.walk(v, [*path, i])
        elif isinstance(obj, float):
            if math.isnan(obj) or math.isinf(obj):
                raise ValueError(
                    f"value for cache key {self.key!r} holds {obj!r} at {_where(path)}; "
                    "JSON cannot store non-finite floats"
                )
        elif isinstance(obj, tuple):
            for i, v in enumerate(obj):
                self.walk(v, [*path, i])
            self.tuples.append(path)  # after its children: decoding goes inside out
        elif isinstance(obj, _dt.datetime):
            self.datetimes.append(path)
        elif isinstance(obj, _dt.date):
            self.dates.append(path)
        else:
            raise TypeError(
                f"cannot cache value for key {self.key!r}: {type(obj).__qualname__} at "
                f"{_where(path)} is not JSON data (dict, list, tuple, str, int, float, bool, "
                "None, datetime, date)"
            )


def _where(path: Path) -> str:
    return "value" + "".join(f"[{p!r}]" for p in path)


def group_paths(paths: list[Path]) -> list[PathGroup]:
    """Group paths by shape (list indices replaced by None), deepest shapes first.

    Deepest first keeps tuples correct: an inner tuple is restored while its
    parent is still a (mutable) list.
    """
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for path in paths:
        pattern = tuple(None if type(p) is int else p for p in path)
        ints = [p for p in path if type(p) is int]
        bucket = groups.setdefault(pattern, [])
        if len(ints) == 1:
            bucket.append(ints[0])
        elif ints:
            bucket.append(ints)
    ordered = sorted(groups.items(), key=lambda item: -len(item[0]))
    return [[list(pattern), indices] for pattern, indices in ordered]


def encode(key: str, value: Any) -> tuple[bytes, TypePaths]:
    """Serialize ``value`` for ``key``; ``TypeError``/``ValueError`` if it can't round-trip."""
    import orjson

    scan = _Scan(key)
    scan.walk(value, [])
    types: TypePaths = {}
    for name, paths in ((_DATETIME, scan.datetimes), (_DATE, scan.dates), (_TUPLE, scan.tuples)):
        if paths:
            types[name] = group_paths(paths)
    try:
        return orjson.dumps(value), types
    except orjson.JSONEncodeError as exc:  # e.g. an int beyond 64 bits
        raise TypeError(f"cannot cache value for key {key!r}: {exc}") from None


def decode(body: bytes | memoryview, types: TypePaths) -> Any:
    """Inverse of :func:`encode`: parse ``body`` and restore the recorded types.

    Malformed type paths raise ``TypeError``/``ValueError``/``KeyError``/
    ``IndexError``, which the disk tier treats as a corrupt file.
    """
    import orjson

    value = orjson.loads(body)
    if types:
        value = restore(value, types)
    return value


def restore(value: Any, types: TypePaths) -> Any:
    """Put datetimes, dates and tuples back where ``encode`` found them."""
    for name, convert in _CONVERTERS:
        for pattern, indices in types.get(name, ()):
            wildcards = pattern.count(None)
            if wildcards == 0:
                value = _convert_at(value, pattern, convert)
            elif wildcards == 1:
                value = _convert_each(value, pattern, indices, convert)
            else:
                for ints in indices:
                    slots = iter(ints)
                    path = [next(slots) if step is None else step for step in pattern]
                    value = _convert_at(value, path, convert)
    return value


def _convert_at(value: Any, path: Path, convert: Any) -> Any:
    if not path:
        return convert(value)
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    parent[last] = convert(parent[last])
    return value


def _convert_each(value: Any, pattern: Path, indices: list[int], convert: Any) -> Any:
    """The common case, one list index in the shape: walk the prefix once."""
    split = pattern.index(None)
    container = value
    for step in pattern[:split]:
        container = container[step]
    middle, last = pattern[split + 1 : -1], pattern[-1]
    if split == len(pattern) - 1:  # the values are the list items themselves
        for i in indices:
            container[i] = convert(container[i])
        return value
    if len(middle) == 1:  # e.g. modelSummaries[i].modelLifecycle.startOfLifeTime
        (step,) = middle
        for i in indices:
            parent = container[i][step]
            parent[last] = convert(parent[last])
        return value
    for i in indices:
        parent = container[i]
        for step in middle:
            parent = parent[step]
        parent[last] = convert(parent[last])
    return value


_CONVERTERS = (
    (_DATETIME, _dt.datetime.fromisoformat),
    (_DATE, _dt.date.fromisoformat),
    (_TUPLE, tuple),
)
