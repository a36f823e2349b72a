"""Datetimes whose ISO text in JSON would not bring them back: exact offsets, named zones.

[Intent]
A value must come back equal, and behave the same, from every tier. orjson writes
an aware datetime's offset in whole minutes (``+01:01`` for ``+01:01:01``, and
``+00:20`` for Amsterdam's ``+00:19:32`` of 1900), and any zone as the fixed
offset of that instant, so a ``ZoneInfo`` datetime read back from disk or Redis
would do its arithmetic across a DST change differently from the one in memory.

[Design principles]
- Only such datetimes take this path (writes are rare; reads of ordinary payloads
  pay nothing): Python's own ``isoformat()`` (offsets to the microsecond), plus the
  zone's key in brackets for a ``ZoneInfo`` that has one, as in RFC 9557:
  ``2024-10-27T02:30:00+01:00[Europe/Amsterdam]``.
- ``fold=1`` is written as a ``[fold=1]`` suffix: with the wall time it fixes the
  offset of an ambiguous or skipped wall time in ``ZoneInfo(key)``, as it went in.
- Other ``tzinfo`` classes (dateutil, pytz) come back as the fixed offset of their
  instant, exact to the microsecond: they have no portable name.
"""

from __future__ import annotations

import datetime as _dt
import sys
from typing import Any

__all__ = ["exact_text", "from_exact_text", "iso_text", "needs_exact_text"]

_MINUTE = _dt.timedelta(minutes=1)
_FOLD = "[fold=1]"


def _zone_key(tz: object) -> str | None:
    """The key of a ``ZoneInfo`` (``None`` for another tzinfo, or one made from a file)."""
    zoneinfo = sys.modules.get("zoneinfo")  # never imported: tz cannot be a ZoneInfo
    if zoneinfo is None or not isinstance(tz, zoneinfo.ZoneInfo):
        return None
    key = tz.key
    return key if isinstance(key, str) else None


def needs_exact_text(value: _dt.datetime) -> bool:
    """Whether orjson's text of ``value`` would bring back a different datetime."""
    if value.fold:  # orjson does not write it
        return True
    tz = value.tzinfo
    if tz is None or tz is _dt.timezone.utc:
        return False
    if _zone_key(tz) is not None:
        return True
    offset = value.utcoffset()
    return offset is not None and offset % _MINUTE != _dt.timedelta(0)


def exact_text(value: _dt.datetime) -> str:
    """ISO text with the full offset, then ``[zone key]`` for a named zone, ``[fold=1]``."""
    text = value.isoformat()
    key = _zone_key(value.tzinfo)
    if key is not None:
        text += f"[{key}]"
    return text + _FOLD if value.fold else text


def iso_text(value: Any) -> str:
    """orjson's ``default`` when datetimes pass through: exact text for every one."""
    if isinstance(value, _dt.datetime):
        return exact_text(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__qualname__} is not JSON data")


def from_exact_text(text: str) -> _dt.datetime:
    """Inverse of :func:`exact_text`; ``ValueError``/``TypeError``/``KeyError`` otherwise.

    The offset is parsed here: ``fromisoformat`` reads ``+00:00:00.003661`` as UTC
    (CPython 3.11).
    """
    if type(text) is not str:
        raise TypeError(f"datetime stored as {type(text).__name__}, not str")
    fold = int(text.endswith(_FOLD))
    if fold:
        text = text[: -len(_FOLD)]
    key = None
    if text.endswith("]"):
        cut = text.index("[")
        text, key = text[:cut], text[cut + 1 : -1]
    sign_at = max(text.rfind("+"), text.rfind("-"))
    if sign_at <= text.find("T"):  # naive: the dashes are the date's
        if key is not None:
            raise ValueError(f"zoned datetime {text!r} has no offset")
        return _dt.datetime.fromisoformat(text).replace(fold=fold)
    stamp = _dt.datetime.fromisoformat(text[:sign_at]).replace(fold=fold)
    if key is None:
        return stamp.replace(tzinfo=_dt.timezone(_offset(text[sign_at:])))
    from zoneinfo import ZoneInfo  # only records holding a zoned datetime need it

    return stamp.replace(tzinfo=ZoneInfo(key))  # its wall time and fold fix the offset


def _offset(text: str) -> _dt.timedelta:
    """``+HH:MM[:SS[.ffffff]]`` as a timedelta."""
    hours, minutes, *rest = text[1:].split(":")
    seconds, _, fraction = rest[0].partition(".") if rest else ("0", "", "")
    if len(rest) > 1 or len(fraction) > 6:
        raise ValueError(f"malformed UTC offset {text!r}")
    offset = _dt.timedelta(
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int(fraction.ljust(6, "0")),
    )
    return -offset if text[0] == "-" else offset
