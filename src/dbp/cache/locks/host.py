"""Host locks: one process on the host computes a key while the others wait.

[Intent]
The disk tier is shared by the processes of a host, so its per-key lock is a lock
file: ``<cache>/.locks/<hash>.lock``, held with ``flock`` through ``filelock``. The
kernel releases a dead holder's lock at once; a live but stuck holder is waited
for at most ``timeout`` seconds.

[Design principles]
- Re-entrant per holder (a thread, or an asyncio task): a holder that takes the
  key's lock again (a cached function calling another with the same key) is let
  through instead of waiting for itself. The record of who holds what is kept per
  key and holder under a lock, and written only once the lock is held, so a
  waiting thread can never overwrite the holder's record.
- The lock folder is created by us, ``0700`` whatever the umask (``filelock`` would
  create missing parents with the umask's mode), and never through a planted link.
- A lock that cannot be used (read-only folder) answers ``None``: the caller
  computes without it, with one warning per condition.
- A holder whose call failed says so as it lets go (``release(failed=True)``
  rewrites ``<hash>.failed`` with a random mark); a process that waited meanwhile
  sees the mark change (``holder_failed``) and calls at once instead of queueing
  behind the lock for another try: a failing upstream is called at most once per
  process, in parallel, as without a cache, never N times one after another.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from typing import TYPE_CHECKING

from ..faults import FaultLog
from ..locations import make_private_dirs
from ..sentinel import MISS, Miss

if TYPE_CHECKING:
    import filelock

__all__ = ["HostLock", "HostLocks", "current_holder"]

_POLL = 0.01


def current_holder() -> int:
    """Who is asking: the running asyncio task if any, else the thread."""
    import sys

    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running loop in this thread
            task = None
        if task is not None:
            return id(task)
    return threading.get_ident()


class HostLocks:
    """The lock files of one cache folder, and who in this process holds which."""

    def __init__(self, folder: str, faults: FaultLog) -> None:
        self.folder = folder
        self.faults = faults
        self._guard = threading.Lock()
        self._held: dict[str, tuple[int, int]] = {}  # key -> (holder, depth)
        self._folder_ready = False

    def lock(self, key: str, name: str) -> HostLock:
        """The lock of ``key`` (whose lock file is ``<name>.lock``)."""
        return HostLock(self, key, os.path.join(self.folder, name + ".lock"))

    # -- re-entrancy bookkeeping -------------------------------------------------
    def reenter(self, key: str, holder: int) -> bool:
        """If ``holder`` already holds ``key``, count one more level and say so."""
        with self._guard:
            found = self._held.get(key)
            if found is None or found[0] != holder:
                return False
            self._held[key] = (holder, found[1] + 1)
            return True

    def taken(self, key: str, holder: int) -> None:
        with self._guard:
            self._held[key] = (holder, 1)

    def leave(self, key: str, holder: int) -> bool:
        """One level less; True when the holder left its outermost level."""
        with self._guard:
            found = self._held.get(key)
            if found is None or found[0] != holder:
                return False
            if found[1] > 1:
                self._held[key] = (holder, found[1] - 1)
                return False
            del self._held[key]
            return True

    # -- the folder ------------------------------------------------------------------
    def ensure_folder(self) -> None:
        if os.path.islink(self.folder):  # planted: never create lock files elsewhere
            raise OSError(errno.ELOOP, "lock folder is a symbolic link", self.folder)
        if not self._folder_ready or not os.path.isdir(self.folder):
            make_private_dirs(self.folder)
            self._folder_ready = True


class HostLock:
    """One key's lock file; see :class:`~dbp.cache.stores.contract.KeyLock`."""

    __slots__ = ("_file", "_holder", "holder_failed", "key", "locks", "path")

    def __init__(self, locks: HostLocks, key: str, path: str) -> None:
        self.locks = locks
        self.key = key
        self.path = path
        self._file: filelock.FileLock | None = None
        self._holder = 0
        #: Set by acquire: this caller waited and the holder it waited for failed.
        self.holder_failed = False

    @property
    def fence(self) -> object | None:
        return None  # a flock cannot lapse while its holder lives

    @property
    def found(self) -> Miss:
        return MISS  # a host lock never looks up: local reads cost no round trip

    def acquire(self, timeout: float) -> bool | None:
        """Hold the lock within ``timeout`` seconds: True, False (busy) or None (unusable)."""
        self._holder, self.holder_failed = current_holder(), False
        if self.locks.reenter(self.key, self._holder):
            return True
        mark = self._failure_mark()
        taken = self._try(0)
        if taken is False:  # busy: wait for the holder, then see how it ended
            taken = self._try(timeout)
            self.holder_failed = bool(taken) and self._failure_mark() != mark
        return self._settle(taken)

    async def acquire_async(self, timeout: float) -> bool | None:
        """:meth:`acquire` for coroutines: polls instead of blocking the event loop."""
        import asyncio

        self._holder, self.holder_failed = current_holder(), False
        if self.locks.reenter(self.key, self._holder):
            return True
        mark = self._failure_mark()
        deadline = time.monotonic() + timeout
        waited = False
        while (taken := self._try(0)) is False and time.monotonic() < deadline:
            waited = True
            await asyncio.sleep(_POLL)
        self.holder_failed = waited and bool(taken) and self._failure_mark() != mark
        return self._settle(taken)

    def release(self, *, failed: bool = False) -> None:
        """Let go; ``failed``: the holder's call raised (its waiters call at once)."""
        if not self.locks.leave(self.key, self._holder) or self._file is None:
            return
        try:
            if failed:
                self._mark_failure()
            self._file.release()
        finally:
            self._file = None

    async def release_async(self, *, failed: bool = False) -> None:
        """:meth:`release` (a lock file's release never blocks)."""
        self.release(failed=failed)

    def _settle(self, taken: bool | None) -> bool | None:
        if taken:
            self.locks.taken(self.key, self._holder)
        return taken

    # -- the failure mark: ``<hash>.failed`` beside the lock file ------------------
    def _failure_mark(self) -> bytes | None:
        try:
            fd = os.open(self.path[: -len(".lock")] + ".failed", os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            return os.read(fd, 64)
        except OSError:
            return None
        finally:
            os.close(fd)

    def _mark_failure(self) -> None:
        import secrets  # here: hashlib and OpenSSL cost every importer ~2 ms of start-up

        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        try:
            fd = os.open(self.path[: -len(".lock")] + ".failed", flags, 0o600)
        except OSError:
            return  # its waiters then take the lock in turn, as before
        try:
            os.write(fd, secrets.token_hex(8).encode())
        except OSError:
            pass
        finally:
            os.close(fd)

    def _try(self, timeout: float) -> bool | None:
        import filelock

        try:
            self.locks.ensure_folder()
            if self._file is None:
                self._file = filelock.FileLock(self.path, mode=0o600, thread_local=False)
            try:
                self._file.acquire(timeout=timeout, poll_interval=_POLL)
            except FileNotFoundError:  # the folder was removed meanwhile
                self.locks._folder_ready = False
                self.locks.ensure_folder()
                self._file.acquire(timeout=timeout, poll_interval=_POLL)
        except filelock.Timeout:
            return False
        except OSError as exc:
            cache_folder = os.path.dirname(self.locks.folder)
            if not os.path.isdir(cache_folder):  # the cache folder itself is unusable
                self.locks.faults.report_folder(cache_folder, exc)
            else:
                self.locks.faults.report(
                    "lock", self.path, exc, "computing without a cross-process lock"
                )
            return None
        self.locks.faults.recovered("lock")
        return True
