"""Value codec: orjson bytes plus a short list of where the non-JSON types were.

[Intent]
A value must come back equal from every tier. JSON alone loses types boto3
responses are full of (``datetime``) and Python ones users return (``tuple``, ints
beyond 64 bits, which orjson refuses), so the encoder records the path of every
such value and the decoder restores just those paths. Nothing here can execute
code: the format is JSON, never pickle.

[Implementation details]
Encoding walks the value once in Python (writes are rare: once per miss); it also
rejects what would not round-trip (NaN, sets, objects, non-str dict keys) with a
``TypeError``/``ValueError`` naming the key. Paths are stored grouped by shape:
``["modelSummaries", null, "modelLifecycle", "startOfLifeTime"]`` plus the list
indices that fill the ``null``, so decoding walks the common prefix once and then
does one short lookup per value. A payload without special types pays nothing.

Ints beyond orjson's 64-bit range are written as hex strings (``"-1f"``) under the
``int`` type: hex, not decimal, because CPython refuses to convert more than 4300
decimal digits. They are looked for only after orjson has refused the value, so
payloads without them pay nothing on write either.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from .datetimes import from_exact_text, iso_text, needs_exact_text

__all__ = ["MAX_DEPTH", "NewerFormat", "TypePaths", "decode", "encode", "json_lib"]

#: Deepest nesting accepted; orjson itself stops at 255.
MAX_DEPTH = 200

Path = list[Any]  # dict keys (str) and list indices (int)
#: A group of paths of one shape; see ``_Scan.type_paths``.
PathGroup = list[Any]
TypePaths = dict[str, list[PathGroup]]

_DATETIME = "datetime"
#: A datetime orjson's text would change (an offset with seconds, a named zone):
#: stored as :func:`.datetimes.exact_text`. Older versions do not know the name, so
#: for them such a record is a miss, never a wrong value.
_EXACT_DATETIME = "datetime_exact"
_DATE = "date"
_BIGINT = "int"
_TUPLE = "tuple"
#: Leaves before tuples: a tuple is rebuilt from a list whose items are final.
_ORDER = (_DATETIME, _EXACT_DATETIME, _DATE, _BIGINT, _TUPLE)
#: orjson's native int range (i64 and u64).
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


_PLAIN = frozenset((str, int, bool, type(None)))  # leaves that need no look

_orjson: Any = None


class NewerFormat(ValueError):
    """A body naming a type this version cannot restore: written by a newer version."""


def json_lib() -> Any:
    """``orjson``, imported on first use.

    Its import costs start-up time a process that never reads or writes a record
    should not pay; an ``import`` statement in every function that needs it costs
    a lookup on every disk hit (measured: about 1 us after decoding a large value).
    """
    global _orjson
    if _orjson is None:
        import orjson

        _orjson = orjson
    return _orjson


class _Scan:
    """Validates a value and groups the paths of its datetimes, dates and tuples.

    One instance per ``encode``. ``pattern`` is the current path with ``None`` for
    list indices and ``ints`` the indices themselves, kept as stacks so that
    walking allocates nothing per node.
    """

    __slots__ = ("found", "ints", "key", "pattern")

    def __init__(self, key: str) -> None:
        self.key = key
        self.found: dict[str, dict[tuple[Any, ...], list[Any]]] = {}
        self.pattern: list[str | None] = []
        self.ints: list[int] = []

    def walk(self, obj: Any) -> None:
        if len(self.pattern) > MAX_DEPTH:
            raise ValueError(
                f"value for cache key {self.key!r} is nested deeper than {MAX_DEPTH} levels"
            )
        kind = type(obj)
        if kind is dict or (kind is not list and isinstance(obj, dict)):
            pattern = self.pattern
            for k, v in obj.items():
                if type(k) is not str and not isinstance(k, str):
                    raise TypeError(
                        f"value for cache key {self.key!r} has a dict key of type "
                        f"{type(k).__name__} at {self.where()}; only str keys can be cached"
                    )
                if type(v) not in _PLAIN:
                    pattern.append(k)
                    self.walk(v)
                    pattern.pop()
        elif kind is list or (kind is not tuple and isinstance(obj, list)):
            self.walk_items(obj)
        elif kind is float or (kind is not tuple and isinstance(obj, float)):
            if math.isnan(obj) or math.isinf(obj):
                raise ValueError(
                    f"value for cache key {self.key!r} holds {obj!r} at {self.where()}; "
                    "JSON cannot store non-finite floats"
                )
        elif isinstance(obj, (str, int)) or obj is None:
            return  # subclasses of the plain types (IntEnum, StrEnum)
        elif isinstance(obj, tuple):
            self.walk_items(obj)
            self.record(_TUPLE)  # after its children: decoding goes inside out
        elif isinstance(obj, _dt.datetime):
            self.record(_EXACT_DATETIME if needs_exact_text(obj) else _DATETIME)
        elif isinstance(obj, _dt.date):
            self.record(_DATE)
        else:
            raise TypeError(
                f"cannot cache value for key {self.key!r}: {type(obj).__qualname__} at "
                f"{self.where()} is not JSON data (dict, list, tuple, str, int, float, bool, "
                "None, datetime, date)"
            )

    def walk_items(self, items: list[Any] | tuple[Any, ...]) -> None:
        self.pattern.append(None)
        self.ints.append(0)
        ints = self.ints
        for i, v in enumerate(items):
            if type(v) not in _PLAIN:
                ints[-1] = i
                self.walk(v)
        self.pattern.pop()
        self.ints.pop()

    def hex_big_ints(self, obj: Any) -> Any:
        """A copy of ``obj`` with each int beyond 64 bits as hex, its path recorded.

        Runs only after orjson refused ``obj`` (rare), on a value ``walk`` checked.
        """
        if isinstance(obj, int) and not _INT_MIN <= obj <= _INT_MAX:
            self.record(_BIGINT)
            return format(obj, "x")
        if isinstance(obj, dict):
            copy: dict[str, Any] = {}
            for k, v in obj.items():
                self.pattern.append(k)
                copy[k] = self.hex_big_ints(v)
                self.pattern.pop()
            return copy
        if isinstance(obj, (list, tuple)):
            self.pattern.append(None)
            self.ints.append(0)
            items: list[Any] = []
            for i, v in enumerate(obj):
                self.ints[-1] = i
                items.append(self.hex_big_ints(v))
            self.pattern.pop()
            self.ints.pop()
            return items
        return obj

    def record(self, name: str) -> None:
        bucket = self.found.setdefault(name, {}).setdefault(tuple(self.pattern), [])
        if len(self.ints) == 1:
            bucket.append(self.ints[0])
        elif self.ints:
            bucket.append(list(self.ints))

    def where(self) -> str:
        slots = iter(self.ints)
        return _where([next(slots) if p is None else p for p in self.pattern])

    def type_paths(self) -> TypePaths:
        """The groups: leaves before tuples, deepest shapes first (inner tuples first).

        A shape with one list index is stored as ``[prefix, suffix, indices]``
        (the steps before and after the index, and the indices), which is what
        decoding needs without further work; any other shape as
        ``[pattern, None, indices]``.
        """
        types: TypePaths = {}
        for name in _ORDER:
            groups = self.found.get(name)
            if not groups:
                continue
            types[name] = []
            for pattern, indices in sorted(groups.items(), key=lambda g: -len(g[0])):
                if pattern.count(None) == 1:
                    split = pattern.index(None)
                    types[name].append([list(pattern[:split]), list(pattern[split + 1 :]), indices])
                else:
                    types[name].append([list(pattern), None, indices])
        return types


def _where(path: Path) -> str:
    return "value" + "".join(f"[{p!r}]" for p in path)


def encode(key: str, value: Any) -> bytes:
    """Serialize ``value`` for ``key`` as ``[types, value]``.

    ``TypeError``/``ValueError`` (naming the key) if the value can't round-trip.
    """
    import orjson  # writes are rare: the plain import is fine here

    scan = _Scan(key)
    scan.walk(value)
    # With exact datetimes, every datetime is written by Python's isoformat().
    exact = _EXACT_DATETIME in scan.found
    option, default = (orjson.OPT_PASSTHROUGH_DATETIME, iso_text) if exact else (None, None)
    try:
        return orjson.dumps([scan.type_paths(), value], default=default, option=option)
    except orjson.JSONEncodeError as exc:
        refused = exc
    plain = scan.hex_big_ints(value)
    if _BIGINT in scan.found:
        try:
            return orjson.dumps([scan.type_paths(), plain], default=default, option=option)
        except orjson.JSONEncodeError as exc:
            refused = exc
    raise TypeError(f"cannot cache value for key {key!r}: {refused}") from None


def decode(body: bytes | memoryview) -> Any:
    """Inverse of :func:`encode`.

    Malformed data raises ``TypeError``/``ValueError``/``KeyError``/``IndexError``
    (``orjson.JSONDecodeError`` is a ``ValueError``), which the disk tier treats
    as a corrupt file.
    """
    types, value = json_lib().loads(body)
    if types:
        value = restore(value, types)
    return value


def restore(value: Any, types: TypePaths) -> Any:
    """Put datetimes, dates, big ints and tuples back where ``encode`` found them.

    ``types`` lists the leaves before tuples (``encode`` writes them in
    that order), so converted leaves land in lists that are still mutable.
    The common shape, one list index (``modelSummaries[i].modelLifecycle.startOfLifeTime``),
    walks its prefix once and converts in a loop of its own here: a function call per
    group was measured at about a third of restoring a 100-model listing's datetimes.
    Converting equal texts once (a memo) was measured too: slower on these payloads,
    the hashing costs what ``fromisoformat`` saves.
    """
    for name, groups in types.items():
        convert = _CONVERTERS.get(name)
        if convert is None:
            raise NewerFormat(f"value holds a type this version does not know: {name!r}")
        for head, suffix, indices in groups:
            if suffix is None:  # no list index, or several: one path per value
                value = _convert_paths(value, head, indices, convert)
                continue
            container = value
            for step in head:
                container = container[step]
            if len(suffix) == 2:  # e.g. modelSummaries[i].modelLifecycle.startOfLifeTime
                middle, last = suffix
                for i in indices:
                    parent = container[i][middle]
                    parent[last] = convert(parent[last])
            elif len(suffix) == 1:  # e.g. inferenceProfileSummaries[i].createdAt
                (last,) = suffix
                for i in indices:
                    parent = container[i]
                    parent[last] = convert(parent[last])
            else:
                _convert_under(container, suffix, indices, convert)
    return value


def _convert_paths(value: Any, head: Path, indices: list[list[int]], convert: Any) -> Any:
    """Shapes with no list index (one path) or several (a path per index tuple)."""
    if not indices:
        return _convert_at(value, head, convert)
    for ints in indices:
        slots = iter(ints)
        path = [next(slots) if step is None else step for step in head]
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


def _convert_under(container: Any, suffix: Path, indices: list[int], convert: Any) -> None:
    """One list index, any other suffix: ``container[i]`` itself (no suffix) or deeper."""
    if not suffix:  # the values are the list items themselves
        for i in indices:
            container[i] = convert(container[i])
        return
    last = suffix[-1]
    middle_steps = suffix[:-1]
    for i in indices:
        parent = container[i]
        for step in middle_steps:
            parent = parent[step]
        parent[last] = convert(parent[last])


def _int_from_hex(text: str) -> int:
    if type(text) is not str:  # int(5, 16) would say so too, less clearly
        raise TypeError(f"big int stored as {type(text).__name__}, not str")
    return int(text, 16)


_CONVERTERS: dict[str, Any] = {
    _DATETIME: _dt.datetime.fromisoformat,
    _EXACT_DATETIME: from_exact_text,
    _DATE: _dt.date.fromisoformat,
    _BIGINT: _int_from_hex,
    _TUPLE: tuple,
}
