"""One call's allowance for waiting on remote tiers (a hard per-call budget).

[Intent]
However many operations one cached call makes on a shared server (look up, take
the lease, write), its total wait there must stay within one budget, and after
the first time-out the rest of the call must not touch the server at all: a slow
network costs a call at most its budget, then the local tiers answer.

[Design principles]
- The read-through path opens a scope per call (:func:`call_scope`, a context
  variable: per thread and per asyncio task); a remote store keeps its own
  :class:`Allowance` in it, made on its first operation of the call.
- Outside a scope (a plain ``get``), each operation is a call of its own.
- Only time spent waiting on the server is charged, never the user's function.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Allowance", "allowance", "call_scope"]

_SCOPE: contextvars.ContextVar[dict[int, Allowance] | None] = contextvars.ContextVar(
    "dbp_cache_call_scope", default=None
)


class Allowance:
    """What one store may still wait in this call; ``closed`` after a time-out."""

    __slots__ = ("closed", "left")

    def __init__(self, seconds: float) -> None:
        self.left = seconds
        self.closed = False

    def charge(self, seconds: float) -> None:
        self.left -= seconds
        if self.left <= 0:
            self.closed = True


@contextmanager
def call_scope() -> Iterator[None]:
    """Everything inside is one call: each remote store's allowance is spent once."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def allowance(owner: object, seconds: float) -> Allowance | None:
    """``owner``'s allowance in the current call (made with ``seconds``), or None outside one."""
    scope = _SCOPE.get()
    if scope is None:
        return None
    found = scope.get(id(owner))
    if found is None:
        found = scope[id(owner)] = Allowance(seconds)
    return found
