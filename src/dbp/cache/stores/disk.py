"""The disk tier: one versioned orjson file per key, written atomically.

[Intent]
Survive restarts and share results between the processes of a host, without a
server and without ever serving a torn, foreign or executable record.

[Design principles]
- A file is ``<blake2b(key)>.dbpc`` holding one record of :mod:`dbp.cache.envelope`
  (a header line, then the orjson body). The header is read alone by ``cleanup``
  and ``scan``.
- Writes go to a uniquely named temp file in the same folder (pid + random), are
  flushed and fsynced, then ``os.replace``-d: readers see the old or the new file.
- Anything unexpected in a file (bad JSON, wrong version, wrong key, wrong
  types, short body, a created time in the future) is a miss, never an error.
- OS errors degrade: reads miss, writes are skipped; each condition is warned
  about once and forgotten when the operation works again.
- Files are opened with ``O_NOFOLLOW``; renames and unlinks act on links
  themselves, so a planted symlink is never followed.
- An entry written for an owner (a decorated function) is listed in the owner
  index (:mod:`.owner_index`) before it is renamed into place, so clearing one
  owner reads only that owner's files, whatever process wrote them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from .. import codec, envelope
from ..clock import Clock
from ..entry import Entry
from ..envelope import FORMAT_VERSION, MAX_CLOCK_SKEW, Corrupt, DataVersion, GarbledBody
from ..faults import FOLDER, FaultLog, folder_unusable
from ..locations import make_private_dirs
from ..locks.host import HostLock, HostLocks
from ..sentinel import MISS, Miss
from .files import (
    CREATE_FLAGS,
    SUFFIX,
    TEMP_SUFFIX,
    abandoned_temps,
    file_name,
    read_file,
    unlink_all,
    unlink_file,
    unlink_quietly,
)
from .headers import CLEANUP_BODY_CHECK, EntryFile, peek
from .owner_index import OwnerIndex

__all__ = ["FORMAT_VERSION", "TEMP_SUFFIX", "DiskStore", "EntryFile", "file_name"]


_PATH_MEMO_SIZE = 4096
_READ = "read cache file"


T = TypeVar("T")


class DiskStore:
    """One folder of ``.dbpc`` files; see the module docstring for the format."""

    name = "disk"
    remote = False

    def __init__(
        self,
        directory: str,
        clock: Clock,
        logger: logging.Logger,
        *,
        durable: bool = True,
        data_version: Callable[[], DataVersion] = lambda: FORMAT_VERSION,
        in_use: Callable[[], bool] = lambda: True,
    ) -> None:
        self.directory = directory
        #: The user's data version (``CACHE_VERSION``), read on every use so that
        #: setting it on a cache instance takes effect at once.
        self.data_version = data_version
        #: Whether the cache writes this folder at all (``disk_ttl_days=0``: no files).
        self.in_use = in_use
        self.durable = durable
        self._clock = clock
        self._logger = logger
        self.faults = FaultLog(logger)
        self.locks = HostLocks(os.path.join(directory, ".locks"), self.faults)
        self.index = OwnerIndex(directory)
        self._paths: dict[str, str] = {}  # key -> file path, saves hashing on every read
        #: Called before each read and write: the fleet tier checks, once per process
        #: start, that no clear happened while the files were written (see fleet.py),
        #: and before the first write, so that the check never drops our own writes.
        self.before_use: Callable[[], object] | None = None

    # -- paths -------------------------------------------------------------
    def path_for(self, key: str) -> str:
        path = self._paths.get(key)
        if path is None:
            path = os.path.join(self.directory, file_name(key))
            if len(self._paths) >= _PATH_MEMO_SIZE:
                self._paths.clear()
            self._paths[key] = path
        return path

    def ensure_directory(self) -> None:
        make_private_dirs(self.directory)

    def lock(self, key: str, owner: str | None = None, *, find: bool = False) -> HostLock:
        """The host lock of ``key``: a lock file beside the entries (``find``: no use, reads
        of local files cost no round trip)."""
        return self.locks.lock(key, file_name(key)[: -len(SUFFIX)])

    def _report(self, action: str, path: str, exc: OSError, consequence: str) -> None:
        """Warn once: about the folder when it is unusable as a whole, else about the file."""
        if folder_unusable(exc):
            self.faults.report_folder(self.directory, exc)
        else:
            self.faults.report(action, path, exc, consequence)

    # -- reading -----------------------------------------------------------
    def get(self, key: str, *, stale: bool = False) -> Entry | Miss:
        """The fresh entry for ``key`` (with ``stale``: within its stale window), or ``MISS``.

        A disk hit: one read and one decode, in this frame (a helper frame is a
        measurable share of a small entry's hit).
        """
        if self.before_use is not None:
            self.before_use()
        now = self._clock.time()
        path = self._paths.get(key) or self.path_for(key)
        try:
            data = read_file(path)
        except FileNotFoundError:
            return MISS
        except OSError as exc:
            self._report(_READ, path, exc, "treating it as a miss")
            return MISS
        self.faults.recovered(_READ, FOLDER)
        try:
            entry = envelope.decode(key, data, now, self.data_version())
        except Corrupt as exc:
            self._logger.debug("dbp cache: ignoring %s for key %r: %s", path, key, exc)
            if isinstance(exc, GarbledBody):
                self._remove_garbled(path, data)
            return MISS
        if (entry.stale_until if stale else entry.expires) <= now:
            return MISS
        return entry

    def _remove_garbled(self, path: str, data: bytes) -> None:
        """Remove a damaged file ``get`` found, unless a writer has replaced it since."""
        try:
            if read_file(path) == data:
                os.unlink(path)
        except OSError:
            pass  # gone already, or a read-only folder: it stays a miss

    # -- writing -----------------------------------------------------------
    def encode(self, key: str, entry: Entry, body: bytes | None = None) -> bytes:
        """The complete file for ``entry``; raises ``TypeError`` for unstorable values."""
        if body is None:
            body = codec.encode(key, entry.value)
        return envelope.encode(key, entry, body, self.data_version())

    def set(
        self, key: str, entry: Entry, *, fence: object | None = None, body: bytes | None = None
    ) -> bool:
        """Write ``entry`` atomically; on an OS error warn (once) and return False.

        ``body`` is ``codec.encode`` of the value when the caller already made it
        (it validates the value once for every tier). ``fence`` is unused: a host
        lock cannot lapse while its holder lives.
        """
        data = self.encode(key, entry, body)
        if self.before_use is not None:
            self.before_use()
        path = self.path_for(key)
        try:
            try:
                self._write_atomic(path, data, entry.owner)
            except FileNotFoundError:  # first write, or the folder was deleted
                try:
                    self.ensure_directory()
                except OSError as exc:
                    self.faults.report_folder(self.directory, exc)
                    return False
                self._write_atomic(path, data, entry.owner)
        except OSError as exc:
            self._report(
                "write cache file", path, exc, "keeping results in memory only until it works"
            )
            # The file on disk now holds a superseded value: other processes and
            # later runs must not be served it. (Unlinking works on a full disk.)
            unlink_quietly(path)
            return False
        self.faults.recovered("write cache file")
        self.faults.recovered(FOLDER)
        return True

    def _write_atomic(self, path: str, data: bytes, owner: str | None = None) -> None:
        """Temp file, then the owner's marker, then the rename: see :mod:`.owner_index`."""
        temp = os.path.join(
            self.directory,
            f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(6).hex()}{TEMP_SUFFIX}",
        )
        fd = os.open(temp, CREATE_FLAGS, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if owner is not None:
                self.index.mark(owner, os.path.basename(path))
            os.replace(temp, path)
        except BaseException:
            unlink_quietly(temp)
            raise

    # -- removing ----------------------------------------------------------
    def delete(self, key: str) -> bool:
        return self._unlink(self.path_for(key))

    def _unlink(self, path: str) -> bool:
        removed = self._attempt("remove cache file", path, "it stays on disk", unlink_file)
        return removed is True

    def _attempt(
        self, action: str, path: str, consequence: str, op: Callable[[str], T]
    ) -> T | None:
        """``op(path)``, or ``None`` when the file is missing or (warned once) the OS refuses."""
        try:
            result = op(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._report(action, path, exc, consequence)
            return None
        self.faults.recovered(action, FOLDER)
        return result

    def _unlink_unchanged(self, found: EntryFile) -> bool:
        """Remove ``found`` unless another process has renamed a new file over it since."""
        try:
            if os.lstat(found.path).st_ino != found.inode:
                return False
        except OSError:
            return False
        return self._unlink(found.path)

    def clear(self, owner: str | None = None) -> int:
        """Remove every entry file, or those whose header names ``owner``.

        By owner, only the files the owner index lists are read (after one full
        sweep of a folder written before the index existed); a file renamed into
        place after its header was read is never removed.
        """
        if owner is not None:
            return self._clear_owner(owner)
        removed = unlink_all(self.directory, SUFFIX, self.faults)
        self._prune_markers()
        return removed

    def _clear_owner(self, owner: str) -> int:
        listed = self.index.entries(owner) if self.index.is_complete() else None
        if listed is None:  # not indexed yet, or the index is unreadable: read every header
            return self._sweep(owner)
        removed = 0
        folder = self.index.folder(owner)
        for entry, markers in listed.items():
            path = os.path.join(self.directory, entry)
            found = self._peek(path)
            if found.key is not None and found.owner == owner:
                removed += self._unlink_unchanged(found)
            if (found.key is not None and found.owner != owner) or not os.path.lexists(path):
                for marker in markers:  # only old ones go: see OwnerIndex.prune
                    self.index.prune(folder, marker)
        return removed

    def _sweep(self, owner: str) -> int:
        """Clear ``owner`` by reading every header, indexing every other owner's entry.

        A cache without a disk tier (``in_use()`` false) removes but writes no index.
        """
        removed = 0
        indexed = self.in_use() and os.path.isdir(self.directory)
        for found in self.scan():
            if found.key is None or found.owner is None:
                continue
            if found.owner == owner and self._unlink_unchanged(found):
                removed += 1
                continue
            if not indexed:
                continue
            try:  # another owner's entry, or one of ours that stays: index it
                self.index.mark(found.owner, os.path.basename(found.path))
            except OSError as exc:
                self.faults.report("index cache file", found.path, exc, "clears scan the folder")
                indexed = False
        if indexed:
            try:
                self.index.set_complete()
            except OSError as exc:
                self.faults.report("index cache folder", self.directory, exc, "clears scan it")
        return removed

    def _prune_markers(self) -> None:
        """Drop old markers whose entry file is not on disk."""
        now = time.time()
        for folder, marker, entry in self.index.all_markers():
            if not os.path.lexists(os.path.join(self.directory, entry)):
                self.index.prune(folder, marker, now)

    @staticmethod
    def unservable(found: EntryFile, now: float) -> bool:
        """Unreadable, foreign, past its stale window, from the future or misnamed."""
        return (
            found.key is None
            or found.stale_until <= now
            or found.created > now + MAX_CLOCK_SKEW
            or os.path.basename(found.path) != file_name(found.key)
        )

    def cleanup(self) -> int:
        """Remove expired (past stale window), corrupt and foreign files and stale temps."""
        now = self._clock.time()
        removed = 0
        for found in self.scan(bodies_up_to=CLEANUP_BODY_CHECK):
            if self.unservable(found, now) and self._unlink_unchanged(found):
                removed += 1
                if found.owner is not None:  # its marker goes too, once old
                    marker = os.path.basename(found.path)
                    self.index.prune(self.index.folder(found.owner), marker)
        return removed + self._remove_abandoned_temps()

    def _remove_abandoned_temps(self) -> int:
        return sum(self._unlink(path) for path in abandoned_temps(self.directory))

    # -- listing -----------------------------------------------------------
    def scan(self, *, read_headers: bool = True, bodies_up_to: float = 0) -> Iterator[EntryFile]:
        """Every ``.dbpc`` file, with its header when ``read_headers`` (else key None).

        A file of at most ``bodies_up_to`` bytes whose body does not decode counts as
        unreadable (key None), as ``get`` finds it: ``cache ls`` and ``cleanup()``
        want that (see :mod:`.headers`); clears only need the owner.
        """
        try:
            with os.scandir(self.directory) as it:
                names = [(e.name, e.path) for e in it if e.name.endswith(SUFFIX)]
        except FileNotFoundError:
            return
        except OSError as exc:
            self._report("list cache folder", self.directory, exc, "skipping it")
            return
        self.faults.recovered("list cache folder")
        for _, path in names:
            if bodies_up_to:
                yield peek(path, self.data_version(), bodies_up_to=bodies_up_to)
            elif read_headers:
                yield self._peek(path)
            else:
                yield EntryFile(path, 0, None, None, 0, 0, 0)

    def _peek(self, path: str) -> EntryFile:
        """The header of ``path`` alone (see :func:`.headers.peek`)."""
        return peek(path, self.data_version())
