"""Signing stored values, so whoever can write Redis without the secret cannot plant them.

[Intent]
A shared Redis is writable by every client that has its password (and, without
ACLs, by anything on the network path). With a ``secret`` each value carries an
HMAC-SHA256 tag over the cache key and the record, checked before the record is
parsed; a value without a valid tag is a miss. Without a secret nothing is signed
and the tier trusts Redis as much as the disk tier trusts the user's home folder.

[Design principles]
- The tag is a fixed 32-byte prefix, so the rest stays the disk tier's envelope.
- The key is part of the signed text: a valid value copied to another key fails.
- ``hmac.compare_digest`` compares tags, never ``==``.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["TAG_SIZE", "Signer", "check_secret"]

TAG_SIZE = 32
_MIN_SECRET = 16


def check_secret(secret: object) -> bytes | None:
    """``None``, or a str/bytes secret of at least 16 bytes (a shorter one is named)."""
    if secret is None:
        return None
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes):
        raise TypeError(f"redis secret must be str, bytes or None, not {type(secret).__name__}")
    if len(secret) < _MIN_SECRET:
        raise ValueError(
            f"redis secret is {len(secret)} bytes; use at least {_MIN_SECRET} random bytes"
        )
    return secret


class Signer:
    """Adds and checks the tag; with no secret both are the identity."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes | None) -> None:
        self._secret = secret

    @property
    def offset(self) -> int:
        """Where the envelope starts in a stored value."""
        return TAG_SIZE if self._secret is not None else 0

    def _tag(self, key: str, record: bytes | memoryview) -> bytes:
        assert self._secret is not None
        mac = hmac.new(self._secret, key.encode("utf-8", "surrogatepass"), hashlib.sha256)
        mac.update(b"\0")
        mac.update(record)
        return mac.digest()

    def sign(self, key: str, record: bytes) -> bytes:
        if self._secret is None:
            return record
        return self._tag(key, record) + record

    def verify(self, key: str, stored: bytes) -> bytes | None:
        """The record inside ``stored`` if its tag is valid (or nothing is signed), else None."""
        if self._secret is None:
            return stored
        if len(stored) < TAG_SIZE:
            return None
        record = memoryview(stored)[TAG_SIZE:]
        if not hmac.compare_digest(stored[:TAG_SIZE], self._tag(key, record)):
            return None
        return bytes(record)
