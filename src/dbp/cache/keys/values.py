"""The text of an argument in a cache key: only values whose text is their value.

[Intent]
A key must tell apart every two calls whose results may differ. An argument's
``repr`` is not its identity: two ``boto3.Session`` objects of different accounts
both read ``Session(region_name='us-east-1')``, and a function's
``<function f at 0x7f..>`` names an address that a later function can reuse. So a
key is built only from values whose text *is* their value; any other argument
makes the call bypass the cache (one warning), never share another's result.

[Design principles]
- Accepted: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, enum members,
  ``datetime``/``date``/``time``/``timedelta``, ``Decimal``, ``UUID``, ``PurePath``,
  classes reachable by name, and tuples, lists, dicts, sets and frozensets of
  these; named tuples and dataclass instances that compare by their fields
  (``eq=True``, the default) by their class name and fields' values.
- Everything else raises :class:`UnstableKeyError`.
- The text of the plain types is what earlier versions wrote, so their keys (and
  files) stay valid.
"""

from __future__ import annotations

import datetime as _dt
import enum
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["UnstableKeyError", "placeholder_text", "stable_text"]

#: Containers nested deeper than this are refused (a list holding itself, say).
MAX_DEPTH = 50


class UnstableKeyError(TypeError):
    """An argument has no text that is its value, the same in every process."""


_EXACT: dict[type, Callable[[Any], str]] = {
    str: repr,
    int: repr,
    float: repr,
    bool: repr,
    type(None): repr,
    bytes: repr,
    _dt.date: repr,
    _dt.timedelta: repr,
}
_PLAIN_BASES = (bool, int, float, str, bytes)


def stable_text(value: Any) -> str:
    """Text for ``value`` that is equal across processes for equal values.

    Raises :class:`UnstableKeyError` for anything whose text is not its value.
    """
    render = _EXACT.get(value.__class__)
    if render is not None:
        return render(value)
    return _text(value, 0)


def placeholder_text(value: Any) -> str:
    """What a ``<name>`` placeholder inserts: ``str`` for plain values, else :func:`stable_text`."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or value.__class__ in (str, int, float, bool):
        return str(value)
    if isinstance(value, str):  # a subclass: its characters, as for a str
        return str.__str__(value)
    if isinstance(value, (int, float)):
        return (float if isinstance(value, float) else int).__repr__(value)
    return stable_text(value)


def _text(value: Any, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise UnstableKeyError(f"an argument is nested deeper than {MAX_DEPTH} levels")
    cls = value.__class__
    render = _EXACT.get(cls)
    if render is not None:
        return render(value)
    if isinstance(value, enum.Enum):
        if value.name is None:  # a composite flag on Python 3.10
            return f"{cls.__qualname__}({_text(value.value, depth + 1)})"
        return f"{cls.__qualname__}.{value.name}"
    depth += 1
    if isinstance(value, tuple):
        fields = getattr(cls, "_fields", None)
        if isinstance(fields, tuple):  # a named tuple: its class and fields
            inner = ",".join(f"{n}={_text(v, depth)}" for n, v in zip(fields, value, strict=False))
            return f"{_class_text(cls)}({inner})"
        return "(" + ",".join(_text(v, depth) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ",".join(_text(v, depth) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted((_text(k, depth), _text(v, depth)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (set, frozenset)):
        if not value:
            return "set()"  # not "{}", an empty dict's text
        return "{" + ",".join(sorted(_text(v, depth) for v in value)) + "}"
    if isinstance(value, (_dt.datetime, _dt.time)):
        return _time_text(value)
    if isinstance(value, (_dt.date, _dt.timedelta)):
        return repr(value)
    if isinstance(value, _PLAIN_BASES):  # a subclass (not an enum): its plain value
        base = next(b for b in _PLAIN_BASES if isinstance(value, b))
        return base.__repr__(value)
    if isinstance(value, type) and "<locals>" not in value.__qualname__:
        return _class_text(value)
    if _is_stdlib_value(value):
        return repr(value)
    fields = _dataclass_fields(value)
    if fields is not None:
        inner = ",".join(f"{n}={_text(getattr(value, n), depth)}" for n in fields)
        return f"{_class_text(cls)}({inner})"
    raise UnstableKeyError(
        f"a {_class_text(cls)} has no text that is its value (its repr is not its identity)"
    )


def _class_text(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _time_text(value: _dt.datetime | _dt.time) -> str:
    """``repr`` where the zone's text is its identity; else the wall time and offset."""
    tz = value.tzinfo
    named = type(tz).__module__ == "zoneinfo" and getattr(tz, "key", None) is not None
    if tz is None or isinstance(tz, _dt.timezone) or named:
        return repr(value)  # no zone, a fixed offset, or a ZoneInfo named by its key
    return f"{type(value).__name__}({value.isoformat()})"


def _is_stdlib_value(value: Any) -> bool:
    """``Decimal``, ``UUID`` or ``PurePath``, without importing their modules.

    A value of a class whose module was never imported cannot be one of them.
    """
    modules = sys.modules
    for module, name in (("decimal", "Decimal"), ("uuid", "UUID"), ("pathlib", "PurePath")):
        found = getattr(modules.get(module), name, None)
        if found is not None and isinstance(value, found):
            return True
    return False


def _dataclass_fields(value: Any) -> list[str] | None:
    """The field names of a dataclass instance that compares by them, else ``None``."""
    cls = value.__class__
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not getattr(params, "eq", False) or isinstance(value, type):
        return None
    import dataclasses

    return [f.name for f in dataclasses.fields(value)]
