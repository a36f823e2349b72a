"""Operations a read-through step yields, and the two drivers that perform them.

A step (:mod:`.steps`) never blocks itself: it yields an :class:`Io` (a method
of a store or lock) or a :class:`Call` (the user's function), and the driver
runs it: :func:`drive` directly, :func:`adrive` by awaiting its async form
(``aget`` for ``get`` when the store has one, ``acquire_async`` for
``acquire``, the coroutine the user's async function returns).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

__all__ = ["Call", "Io", "Op", "adrive", "drive", "on_store"]

#: Async names of the methods whose sync name differs by more than an ``a`` prefix.
_ASYNC_NAMES = {"acquire": "acquire_async", "release": "release_async"}


class Io:
    """``target.method(*args, **kwargs)``, or its async twin when driven async."""

    __slots__ = ("args", "kwargs", "method", "target")

    def __init__(self, target: Any, method: str, *args: Any, **kwargs: Any) -> None:
        self.target = target
        self.method = method
        self.args = args
        self.kwargs = kwargs

    def run(self) -> Any:
        return getattr(self.target, self.method)(*self.args, **self.kwargs)

    async def arun(self) -> Any:
        twin = getattr(self.target, _ASYNC_NAMES.get(self.method, "a" + self.method), None)
        if twin is None:  # local tiers (memory, disk) have no async form: run inline
            return self.run()
        return await twin(*self.args, **self.kwargs)


class Call:
    """The user's function: its value, or (async) the awaited coroutine's."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], Any]) -> None:
        self.compute = compute

    def run(self) -> Any:
        return self.compute()

    async def arun(self) -> Any:
        return await self.compute()


Op = Io | Call


def on_store(store: Any, method: str, *args: Any, **kwargs: Any) -> Generator[Op, Any, Any]:
    """``store.method(*args, **kwargs)``: run inline on a local store, yielded on a remote one.

    Only a store whose operations cross a network (``store.remote``) has async twins
    worth awaiting; a memory or file operation is not worth a trip through the driver.
    The hit's read (``steps.lookup``) writes this rule inline: a frame per hit.
    """
    if store.remote:
        return (yield Io(store, method, *args, **kwargs))
    return getattr(store, method)(*args, **kwargs)


def _returning(plan: Generator[Op, Any, Any], result: list[Any]) -> Generator[Op, Any, None]:
    """``plan``, its return value put in ``result``: it ends without a ``StopIteration``.

    ``yield from`` takes a generator's return value in C; a ``send()`` from Python
    would raise it as an exception, which costs microseconds on a hit that
    yields nothing (memory and disk reads run inline).
    """
    result.append((yield from plan))


def _resume(resume: Callable[[Any], Op], arg: Any) -> Op | None:
    try:
        return resume(arg)
    except StopIteration:
        return None


def drive(plan: Generator[Op, Any, Any]) -> Any:
    """Run ``plan`` in this thread, performing each operation as it comes.

    Every cache ``get()`` runs through here.
    """
    result: list[Any] = []
    steps = _returning(plan, result)
    op = next(steps, None)
    while op is not None:
        try:
            value = op.run()
        except BaseException as exc:
            op = _resume(steps.throw, exc)
        else:
            op = _resume(steps.send, value)
    return result[0]


async def adrive(plan: Generator[Op, Any, Any]) -> Any:
    """Run ``plan`` in a coroutine, awaiting each operation's async form."""
    result: list[Any] = []
    steps = _returning(plan, result)
    op = next(steps, None)
    while op is not None:
        try:
            value = await op.arun()
        except BaseException as exc:
            op = _resume(steps.throw, exc)
        else:
            op = _resume(steps.send, value)
    return result[0]
