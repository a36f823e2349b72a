"""Redis key names: everything a script touches for one cache key shares a hash slot.

[Intent]
Work unchanged on Redis Cluster (ElastiCache cluster mode, Valkey cluster): a Lua
script may only touch keys of one hash slot. An entry, its lease and the clear
generations its writes are checked against must therefore share a hash tag.

[Design principles]
- A cache key is hashed (blake2b) into a fixed-length name: any key is a safe
  Redis key and nothing in it can inject a hash tag or a SCAN pattern.
- Keys are spread over :data:`SHARDS` hash tags (``{<prefix>s07}``). Each shard
  holds its own clear generations, so ``clear`` rotates ``SHARDS`` small keys and
  a write script reads the generation of its own shard only. A script never
  touches two cache entries.
- The shard count is part of the key layout: every process of a fleet must agree
  on it, so it is a constant, not an option.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

__all__ = ["SHARDS", "KeyNames", "Namer", "check_prefix", "match_pattern"]

#: Hash tags the key space is spread over (and generations kept per).
SHARDS = 16
_FORBIDDEN_IN_PREFIX = "{}"
_GLOB_SPECIALS = "\\*?[]"


class KeyNames(NamedTuple):
    """The Redis keys of one cache key (all in one hash slot)."""

    entry: str
    lease: str
    generation: str  # of the whole key space, in this key's shard
    shard: int


def check_prefix(prefix: object) -> str:
    """A prefix is a non-empty str without braces (they would split the hash slot)."""
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"redis prefix must be a non-empty str, not {prefix!r}")
    bad = [c for c in _FORBIDDEN_IN_PREFIX if c in prefix]
    if bad:
        raise ValueError(
            f"redis prefix {prefix!r} must not contain {''.join(bad)!r}: "
            "braces are Redis Cluster hash tags"
        )
    return prefix


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class Namer:
    """Builds key names under one prefix; memoizes them (they are hashed on every op)."""

    _MEMO_SIZE = 4096

    def __init__(self, prefix: str) -> None:
        self.prefix = check_prefix(prefix)
        self._memo: dict[str, KeyNames] = {}
        self.channel = f"{prefix}invalidate"
        #: The fleet's clear generation (see :mod:`.generation`); one key, any slot.
        self.fleet_generation = f"{prefix}generation"

    def tag(self, shard: int) -> str:
        return f"{self.prefix}{{{self.prefix}s{shard:02x}}}"

    def names(self, key: str) -> KeyNames:
        found = self._memo.get(key)
        if found is None:
            digest = _digest(key)
            shard = int(digest[:4], 16) % SHARDS
            tag = self.tag(shard)
            found = KeyNames(f"{tag}:e:{digest}", f"{tag}:l:{digest}", f"{tag}:g", shard)
            if len(self._memo) >= self._MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return found

    def owner_generation(self, shard: int, owner: str | None) -> str:
        """The generation of ``owner``'s entries in ``shard`` (``None``: an unused name)."""
        return f"{self.tag(shard)}:go:{_digest(owner) if owner is not None else '-'}"

    def generations(self, owner: str | None) -> list[str]:
        """The generation keys ``clear(owner)`` rotates: one per shard."""
        if owner is None:
            return [f"{self.tag(s)}:g" for s in range(SHARDS)]
        return [self.owner_generation(s, owner) for s in range(SHARDS)]

    def entry_pattern(self) -> str:
        """SCAN pattern matching every entry (not leases or generations) under the prefix."""
        return f"{match_pattern(self.prefix)}{{*}}:e:*"


def match_pattern(text: str) -> str:
    """``text`` with SCAN glob specials escaped, so a prefix matches only itself."""
    return "".join("\\" + c if c in _GLOB_SPECIALS else c for c in text)
