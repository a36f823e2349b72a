"""What a clear removed, and removing the keys a glob matches from any store.

[Intent]
A clear names one key, one owner's entries, the keys matching a glob
(``bedrock_models:*``) or everything. The same description travels to other
hosts (:mod:`.redis.invalidation`), which drop the same entries from their
local tiers.
"""

from __future__ import annotations

import fnmatch
from typing import NamedTuple

from .contract import Store

__all__ = ["EVERYTHING", "Cleared", "check_pattern", "clear_matching"]


class Cleared(NamedTuple):
    """One of: ``key``, ``owner``'s entries, keys matching the glob ``match``; none: all."""

    key: str | None = None
    owner: str | None = None
    match: str | None = None


EVERYTHING = Cleared()


def check_pattern(pattern: object) -> str:
    """A glob over cache keys (``*``, ``?``, ``[...]`` as in :mod:`fnmatch`): a non-empty str."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"key pattern must be a non-empty str such as 'models:*', not {pattern!r}")
    return pattern


def clear_matching(store: Store, pattern: str) -> int:
    """Remove from ``store`` every entry whose key matches ``pattern``; how many went.

    A store with a ``clear_matching`` of its own (Redis: in batches, and telling
    other hosts) does it itself; a local one is scanned and each match deleted.
    """
    own = getattr(store, "clear_matching", None)
    if own is not None:
        return int(own(pattern))
    keys = {info.key for info in store.scan() if info.key is not None}
    return sum(store.delete(key) for key in sorted(keys) if fnmatch.fnmatchcase(key, pattern))
