"""The record envelope every serializing tier (disk, Redis) stores.

[Intent]
One format, so a value comes back the same from every tier and a record can be
checked before it is trusted: a header line (JSON) naming the format version, the
user's data version, the key, the owner, the times and the body length, then the
body (``codec.encode``'s orjson ``[typed paths, value]``).

[Design principles]
- Anything unexpected (bad JSON, another format or data version, another key,
  wrong types, a short body, a created time in the future) is :class:`Corrupt`,
  which every tier treats as a miss, never an error.
- The data version is the user's (``TieredCache.CACHE_VERSION``): bumping it on a
  deploy turns every older record into a miss that ``cleanup()`` removes. When it
  equals the format version (the default) it is not written, so records written
  before it existed stay readable.
"""

from __future__ import annotations

from typing import Any

from . import codec
from .entry import Entry

__all__ = [
    "FORMAT_VERSION",
    "MAX_CLOCK_SKEW",
    "Corrupt",
    "DataVersion",
    "GarbledBody",
    "Header",
    "check_data_version",
    "decode",
    "encode",
    "parse_header",
]

#: Bumped whenever the record layout changes; records of another version are misses.
FORMAT_VERSION = 3
#: A created time further ahead than this means the clock moved back: distrust it.
MAX_CLOCK_SKEW = 300.0

DataVersion = int | str

#: A validated header: (key, owner, created, expires, stale_until, body length).
#: A plain tuple, not a NamedTuple: it is built on every read.
Header = tuple[str, "str | None", float, float, float, int]

_NUMBER = (int, float)


class Corrupt(Exception):
    """A record that is not one of this format, data version and key."""


class GarbledBody(Corrupt):
    """A sound header over a body that does not decode: damaged, never servable."""


def check_data_version(value: object) -> DataVersion:
    """``CACHE_VERSION`` must be an int or a non-empty str: anything else is named."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise TypeError(
            f"CACHE_VERSION must be an int or a non-empty str, not {value!r} "
            f"({type(value).__name__})"
        )
    return value


def parse_header(line: bytes | memoryview, data_version: DataVersion) -> Header:
    """Parse and type-check a header line; anything unexpected is :class:`Corrupt`."""
    orjson = codec.json_lib()
    try:
        header: Any = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise Corrupt(f"header is not JSON: {exc}") from None
    if type(header) is not dict:
        raise Corrupt("header is not an object")
    get: Any = header.get
    version = get("v")
    if version != FORMAT_VERSION or type(version) is not int:
        raise Corrupt(f"format version {version!r}, expected {FORMAT_VERSION}")
    stored_data_version = get("dv", FORMAT_VERSION)
    if stored_data_version != data_version or type(stored_data_version) is not type(data_version):
        raise Corrupt(f"data version {stored_data_version!r}, expected {data_version!r}")
    key, owner, created, expires, stale_until, length = (
        get("key"),
        get("owner"),
        get("created"),
        get("expires"),
        get("stale_until"),
        get("n"),
    )
    if (
        type(key) is not str
        or (owner is not None and type(owner) is not str)
        or type(created) not in _NUMBER
        or type(expires) not in _NUMBER
        or type(stale_until) not in _NUMBER
        or type(length) is not int
    ):
        raise Corrupt("a header field has the wrong type")
    if length < 0 or not created <= expires <= stale_until:
        raise Corrupt("header times or length are inconsistent")
    return (key, owner, float(created), float(expires), float(stale_until), length)


def encode(key: str, entry: Entry, body: bytes, data_version: DataVersion) -> bytes:
    """The complete record: header line, newline, ``body`` (``codec.encode`` of the value)."""
    import orjson

    fields: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "key": key,
        "created": entry.created,
        "expires": entry.expires,
        "stale_until": entry.stale_until,
        "n": len(body),
    }
    if data_version != FORMAT_VERSION:  # absent means the default: old records stay valid
        fields["dv"] = data_version
    if entry.owner is not None:  # absent means None: a shorter header to parse
        fields["owner"] = entry.owner
    return b"".join((orjson.dumps(fields), b"\n", body))


def decode(key: str, data: bytes, now: float, data_version: DataVersion) -> Entry:
    """The entry in ``data`` if it is a sound record of ``key``; else :class:`Corrupt`."""
    newline = data.find(b"\n")
    if newline < 0:
        raise Corrupt("no header line")
    stored_key, owner, created, expires, stale_until, length = parse_header(
        data[:newline], data_version
    )
    if stored_key != key:
        raise Corrupt(f"record holds key {stored_key!r}")
    body = memoryview(data)[newline + 1 :]
    if len(body) != length:
        raise Corrupt(f"body is {len(body)} bytes, header says {length}")
    if created > now + MAX_CLOCK_SKEW:
        raise Corrupt("created in the future (the clock moved back)")
    try:
        value = codec.decode(body)
    except codec.NewerFormat as exc:  # another version reads it: not damaged
        raise Corrupt(str(exc)) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise GarbledBody(f"body does not decode: {exc}") from None
    return Entry(value, created, expires, stale_until, owner)
