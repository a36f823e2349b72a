"""The asyncio half of the Redis store: one ``redis.asyncio`` client per event loop.

[Design principles]
- A redis.asyncio client is bound to the loop it first ran on, so each loop gets
  its own (kept in a weak map: a finished loop's client goes with it).
- Every step that does not await (packing, decoding, script arguments, the
  breaker) is :class:`~.core.RedisCore`'s, shared with the blocking half.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from ...entry import Entry
from ...sentinel import MISS, Miss
from ..cleared import EVERYTHING, Cleared
from .client import build_async
from .connection import Connection
from .core import FAILED, REDIS_ERRORS, SCAN_BATCH, RedisCore, check_owner
from .lease import Acquired

__all__ = ["AsyncRedisOps"]


class AsyncRedisOps(RedisCore):
    """``aget``/``aset``/``adelete``/``aclear`` and the async lease calls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async_lock = threading.Lock()
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Connection] = (
            weakref.WeakKeyDictionary()
        )

    def _aconn(self) -> Connection:
        loop = asyncio.get_running_loop()
        conn = self._async.get(loop)
        if conn is None:
            with self._async_lock:
                conn = self._async.get(loop)
                if conn is None:
                    conn = Connection.of(build_async(self.options))
                    self._async[loop] = conn
        return conn

    async def _aguard(
        self, call: Callable[[Connection], Awaitable[Any]], *, charge: bool = True
    ) -> Any:
        """The asyncio twin of ``RedisStore._guard`` (the budget's limit by ``wait_for``)."""
        budget = self.opening()
        if budget is False:
            return FAILED
        started = time.monotonic()
        limit = self.limit(budget, charge)
        try:
            pending = call(self._aconn())
            result = await (pending if limit is None else asyncio.wait_for(pending, limit))
        except REDIS_ERRORS as exc:
            self.closing(budget, started, exc, charge)
            return FAILED
        self.closing(budget, started, None, charge)
        return result

    async def aget(self, key: str, *, stale: bool = False) -> Entry | Miss:
        """The asyncio twin of ``get``."""
        if self.sync_due():
            await self.async_sync()
        entry_key = self.namer.names(key).entry
        raw = await self._aguard(lambda c: c.client.get(entry_key))
        return MISS if raw is FAILED else self.unpack(key, raw, stale)

    async def async_sync(self) -> bool:
        """The asyncio twin of ``RedisStore.sync``."""
        if not self.sync_due():
            return self._follower is not None
        keys, args = self.generation_call()
        check = await self._aguard(lambda c: c.current_generation(keys=keys, args=args))
        return self.synced(check)

    async def aset(
        self, key: str, entry: Entry, *, fence: object | None = None, body: bytes | None = None
    ) -> bool:
        """The asyncio twin of ``set``."""
        packed = self.pack(key, entry, body)
        if packed is None:
            return True  # already past its stale window: nothing worth storing
        keys, args = self.write_call(key, packed, entry.created, fence)
        result = await self._aguard(lambda c: c.set_entry(keys=keys, args=args))
        self.wrote(fence, result)
        return bool(result == 1)

    async def adelete(self, key: str) -> bool:
        """The asyncio twin of ``delete``."""
        entry_key = self.namer.names(key).entry
        removed = await self._aguard(lambda c: c.client.delete(entry_key))
        await self._aannounce(Cleared(key=key))
        return removed not in (FAILED, 0)

    async def aclear(self, owner: str | None = None) -> int:
        """The asyncio twin of ``clear``."""
        cleared = Cleared(owner=check_owner(owner))

        async def run(conn: Connection) -> int:
            client = conn.client
            pipe = client.pipeline(transaction=False)
            for name in self.namer.generations(owner):
                pipe.set(name, self.fresh_generation())
            await pipe.execute()
            removed = 0
            batch: list[str] = []
            async for found in client.scan_iter(match=self.namer.entry_pattern(), count=SCAN_BATCH):
                batch.append(found.decode() if isinstance(found, bytes) else found)
                if len(batch) >= SCAN_BATCH:
                    removed += await self._adelete_batch(client, batch, cleared)
                    batch = []
            if batch:
                removed += await self._adelete_batch(client, batch, cleared)
            return removed

        removed = await self._aguard(run)
        await self._aannounce(cleared)
        return 0 if removed is FAILED else int(removed)

    async def _adelete_batch(self, client: Any, batch: list[str], cleared: Cleared) -> int:
        if cleared != EVERYTHING:
            pipe = client.pipeline(transaction=False)
            for name in batch:
                pipe.get(name)
            batch = self.chosen(batch, await pipe.execute(), cleared)
        if not batch:
            return 0
        pipe = client.pipeline(transaction=False)
        for name in batch:
            pipe.delete(name)
        return sum(await pipe.execute())

    async def _aannounce(self, cleared: Cleared) -> None:
        """The asyncio twin of ``RedisStore._announce``."""
        keys, args = self.generation_call()

        async def run(conn: Connection) -> object:
            replaced = await conn.replace_generation(keys=keys, args=args)
            await conn.client.execute_command(
                "PUBLISH", self.namer.channel, self.message(cleared, replaced, args[0])
            )
            return replaced

        self.announced(cleared, await self._aguard(run), args[0])

    # -- the lease's Redis side (see lease.LeaseOps) ------------------------
    async def try_acquire_async(
        self, key: str, token: str, owner: str | None, ms: int, find: bool, charge: bool
    ) -> Acquired:
        keys, args = self.acquire_call(key, token, owner, ms, find)
        reply = await self._aguard(lambda c: c.acquire(keys=keys, args=args), charge=charge)
        return self.acquire_result(key, reply)

    async def release_lease_async(self, key: str, token: str, failed: bool, ms: int) -> bool:
        keys, args = self.release_call(key, token, failed, ms)
        return bool(await self._aguard(lambda c: c.release(keys=keys, args=args)) == 1)

    async def aclose(self) -> None:
        """Close this event loop's client (other loops' clients go with their loops)."""
        with self._async_lock:
            conn = self._async.pop(asyncio.get_running_loop(), None)
        if conn is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await conn.client.aclose()
