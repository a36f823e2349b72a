"""Holding every tier's lock of a key at once, for a read-modify-write."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..stores.contract import KeyLock, Store

__all__ = ["hold_all"]


@contextmanager
def hold_all(stores: Sequence[Store], key: str, timeout: float) -> Iterator[bool]:
    """Take each store's lock of ``key`` nearest first; yield whether all were taken.

    A lock busy past ``timeout`` or unusable is given up (the caller goes on
    without it, as a miss does); every lock taken is released in reverse order.
    """
    held: list[KeyLock] = []
    complete = True
    try:
        for store in stores:
            lock = store.lock(key)
            if lock is None:
                continue
            if lock.acquire(timeout):
                held.append(lock)
            else:
                complete = False
                break
        yield complete
    finally:
        for lock in reversed(held):
            lock.release()
