"""The disk tier's owner index: which entry files each owner (a decorated function) wrote.

[Intent]
``cache_clear()`` removes one function's entries, whichever process wrote them.
Finding them by reading every header costs time in proportion to the folder; the
index makes it cost in proportion to that function's entries.

[Design principles]
- A hint that may list too much, never too little. A writer puts the marker
  ``.owners/<blake2b(owner)>/<entry file name>`` in place *before* it renames the
  entry into place, so a writer killed at any point leaves at worst a marker
  without an entry, which costs one failed open. A clear confirms the owner from
  the entry's header before removing anything, so a stale or planted marker never
  removes another owner's entry.
- Every write puts a new marker file in place (a fresh mtime); markers are removed
  only when older than ``MARKER_GRACE`` (a writer is milliseconds, not an hour,
  from its marker to its entry), by renaming them aside first and restoring them
  if they turn out fresh, so a writer between its marker and its entry never
  loses its marker. Leftover temp and aside files count as markers too.
- Entries written before the index existed have no markers: until one full sweep
  has indexed the folder (``.owners/.complete``), a clear reads every header.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator

from ..locations import make_private_dirs
from .files import CREATE_FLAGS, SUFFIX

__all__ = ["MARKER_GRACE", "OwnerIndex"]

#: A marker younger than this may belong to a writer still renaming its entry.
MARKER_GRACE = 3600.0


def _entry_name(file: str) -> str | None:
    """The entry file a marker, marker temp or aside file refers to."""
    stem = file.lstrip(".").split(".", 1)[0]
    return stem + SUFFIX if stem else None


class OwnerIndex:
    """The ``.owners`` folder of one cache folder; see the module docstring."""

    def __init__(self, directory: str) -> None:
        self.root = os.path.join(directory, ".owners")
        self._complete = os.path.join(self.root, ".complete")
        self._folders: dict[str, str] = {}  # owner -> its marker folder (hashing once)

    def folder(self, owner: str) -> str:
        found = self._folders.get(owner)
        if found is None:
            import hashlib

            digest = hashlib.blake2b(owner.encode("utf-8", "surrogatepass"), digest_size=20)
            found = self._folders[owner] = os.path.join(self.root, digest.hexdigest())
        return found

    # -- writing -----------------------------------------------------------
    def mark(self, owner: str, entry: str) -> None:
        """Put a fresh marker for ``entry`` in ``owner``'s folder; ``OSError`` if impossible."""
        folder = self.folder(owner)
        if os.path.islink(self.root) or os.path.islink(folder):  # planted: never write elsewhere
            raise OSError(errno.ELOOP, "owner index folder is a symbolic link", folder)
        temp = os.path.join(folder, f".{entry}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(temp, CREATE_FLAGS, 0o600)
        except FileNotFoundError:
            make_private_dirs(folder)
            fd = os.open(temp, CREATE_FLAGS, 0o600)
        os.close(fd)
        try:
            os.replace(temp, os.path.join(folder, entry))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def is_complete(self) -> bool:
        """Whether every owned entry in the folder has a marker (a sweep has run)."""
        return os.path.lexists(self._complete)

    def set_complete(self) -> None:
        make_private_dirs(self.root)
        os.close(os.open(self._complete, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))

    # -- reading -----------------------------------------------------------
    def entries(self, owner: str) -> dict[str, list[str]] | None:
        """Entry file name -> the marker files naming it, for ``owner``; None if unreadable."""
        try:
            files = os.listdir(self.folder(owner))
        except FileNotFoundError:
            return {}
        except OSError:
            return None
        found: dict[str, list[str]] = {}
        for file in files:
            entry = _entry_name(file)
            if entry is not None:
                found.setdefault(entry, []).append(file)
        return found

    def all_markers(self) -> Iterator[tuple[str, str, str]]:
        """(owner folder, marker file, entry file name) for every marker of every owner."""
        try:
            folders = [e.path for e in os.scandir(self.root) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return
        for folder in folders:
            try:
                files = os.listdir(folder)
            except OSError:
                continue
            for file in files:
                entry = _entry_name(file)
                if entry is not None:
                    yield folder, file, entry

    # -- pruning -----------------------------------------------------------
    def prune(self, folder: str, file: str, now: float | None = None) -> None:
        """Remove the marker ``file`` unless it is younger than ``MARKER_GRACE``.

        Call it only when its entry is gone or not this owner's. It is renamed aside
        before its age is judged, so a writer that put a fresh marker in place
        meanwhile either replaced it after the rename (a new marker) or had it
        renamed aside (seen fresh, restored).
        """
        now = time.time() if now is None else now  # file mtimes are real time
        path = os.path.join(folder, file)
        try:
            if now - os.lstat(path).st_mtime < MARKER_GRACE:
                return
        except OSError:
            return
        entry = _entry_name(file)
        aside = os.path.join(folder, f".{entry}.{os.getpid()}.{os.urandom(6).hex()}.prune")
        try:
            os.rename(path, aside)
            fresh = now - os.lstat(aside).st_mtime < MARKER_GRACE
        except OSError:
            return
        if fresh and entry is not None:
            try:
                os.link(aside, os.path.join(folder, entry))
            except FileExistsError:
                pass  # a writer put a newer marker in place
            except OSError:
                return  # keep the aside file: it still counts as a marker
        with contextlib.suppress(OSError):
            os.unlink(aside)
