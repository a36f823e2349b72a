"""Checking a finished cache key."""

from __future__ import annotations

__all__ = ["check_key"]


def check_key(key: object) -> str:
    """A cache key is a non-empty ``str``; anything else is a clear error."""
    if not isinstance(key, str):
        raise TypeError(f"cache key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("cache key must be a non-empty string")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"cache key {key!r} is not valid Unicode text: {exc.reason}") from None
    return key
