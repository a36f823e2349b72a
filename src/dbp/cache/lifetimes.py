"""Each tier's lifetime and the policy a plain ``get()`` uses, for :class:`~.tiered.TieredCache`.

[Intent]
The lifetime rules live in one place: the defaults per tier, a per-call override
by tier name, a memory tier bounded to 0 entries being off, and the one policy
object a call without overrides reuses (``get()`` is the hot path).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .readthrough.steps import Policy
from .ttl import SECONDS_PER_DAY

if TYPE_CHECKING:
    from .stores.contract import Store

__all__ = ["Lifetimes"]


class Lifetimes:
    """Mixin: the tiers' lifetimes (seconds; 0 = that tier is off) and the plain policy."""

    memory_ttl_seconds: float
    disk_ttl_seconds: float
    redis_ttl_seconds: float
    max_memory_entries: int
    stores: tuple[Store, ...]

    #: What a plain get()'s policy is made of: setting one of these drops it.
    _POLICY_INPUTS = frozenset((
        "memory_ttl_seconds", "disk_ttl_seconds", "redis_ttl_seconds", "max_memory_entries",
        "stores",
    ))  # fmt: skip

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in self._POLICY_INPUTS:
            self.__dict__.pop("plain_policy", None)

    @functools.cached_property
    def plain_policy(self) -> Policy:
        """The policy of a get() without overrides, made once: get() is the hot path.

        A new object whenever a lifetime, the memory bound or the tiers changed, so
        a policy derived from it (a decorated function's) knows when to be remade.
        """
        return Policy(self.ttls())

    @property
    def disk_ttl_days(self) -> float:
        return self.disk_ttl_seconds / SECONDS_PER_DAY

    def ttls(self, overrides: Mapping[str, float | None] | None = None) -> tuple[float, ...]:
        """Each tier's lifetime in seconds, nearest first: ``overrides[name]`` or the default.

        A memory tier bounded to 0 entries is off whatever its lifetime.
        """
        defaults = {
            "memory": self.memory_ttl_seconds,
            "disk": self.disk_ttl_seconds,
            "redis": self.redis_ttl_seconds,
        }
        result = []
        for store in self.stores:
            ttl = None if overrides is None else overrides.get(store.name)
            result.append(defaults[store.name] if ttl is None else ttl)
        if self.max_memory_entries <= 0:
            result[0] = 0.0
        return tuple(result)
