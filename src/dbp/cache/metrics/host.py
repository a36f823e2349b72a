"""This host's statistics: one small file per process in the cache folder, merged on read.

[Intent]
Show what every process of the host did without a write per hit and without a
lock on the hit path: each process rewrites its own file (its hourly buckets)
every few seconds, atomically, and readers add the files up.

[Design principles]
- A file belongs to one process (host name, pid and a random token in its name),
  so writers never contend and never need a lock; a reader sees each file whole
  (written to a temp file, then renamed).
- Private: the folder is 0700, the files 0600.
- A killed process leaves its file as of its last flush: it loses at most one
  interval of counts.
- A process's first write takes over the files of this host's dead processes
  (claimed by a rename, so only one process can take each; removed once their
  buckets are in its own file): the folder holds about one file per live process
  however many have come and gone, and nothing is counted twice.
"""

from __future__ import annotations

import contextlib
import os
import time

from ..stores.files import CREATE_FLAGS, pid_alive, read_file, unlink_quietly
from .counts import KEEP_SECONDS, Counts, Hours, add_hours

__all__ = ["STATS_FOLDER", "HostFile", "read_host"]

STATS_FOLDER = ".stats"
_SUFFIX = ".json"


class HostFile:
    """This process's statistics file under ``cache_dir``."""

    def __init__(self, cache_dir: str) -> None:
        self.folder = os.path.join(cache_dir, STATS_FOLDER)
        self.host = os.uname().nodename.replace(os.sep, "_").replace("-", "_") or "host"
        name = f"{self.host}-{os.getpid()}-{os.urandom(4).hex()}{_SUFFIX}"
        self.path = os.path.join(self.folder, name)
        self._swept = False
        self._claims: list[str] = []

    def adopt_dead(self) -> Hours:
        """The buckets in this host's dead processes' files, claimed for our next write."""
        adopted: Hours = {}
        try:
            names = os.listdir(self.folder)
        except OSError:
            return adopted
        for name in names:
            host, _, rest = name.removesuffix(_SUFFIX).partition("-")
            pid = rest.partition("-")[0]
            if not name.endswith(_SUFFIX) or host != self.host or not pid.isdigit():
                continue
            path = os.path.join(self.folder, name)
            if path == self.path or pid_alive(int(pid)):
                continue
            claim = f"{path}.{os.getpid()}.claimed"
            try:
                os.rename(path, claim)  # only one process wins a file
                add_hours(adopted, _load(claim))
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                unlink_quietly(claim)  # already taken, or unreadable
                continue
            self._claims.append(claim)
        return adopted

    def write(self, hours: Hours) -> None:
        """Replace the file with ``hours`` (raises ``OSError``; the caller logs it)."""
        import json  # not at import time: only a process that flushes needs it

        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        data = json.dumps({"version": 1, "pid": os.getpid(), "hours": hours}).encode()
        temp = f"{self.path}.{os.urandom(4).hex()}.tmp"
        fd = os.open(temp, CREATE_FLAGS, 0o600)
        try:
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            os.replace(temp, self.path)
        except BaseException:
            unlink_quietly(temp)
            raise
        for claim in self._claims:  # their buckets are in our file now
            unlink_quietly(claim)
        self._claims = []
        if not self._swept:
            self._swept = True
            _remove_old(self.folder, time.time() - KEEP_SECONDS)


def _remove_old(folder: str, before: float) -> None:
    with contextlib.suppress(OSError), os.scandir(folder) as found:
        for item in found:
            with contextlib.suppress(OSError):
                if item.stat(follow_symlinks=False).st_mtime < before:
                    os.unlink(item.path)


def read_host(cache_dir: str) -> Hours:
    """Every process's buckets under ``cache_dir``, added up (unreadable files skipped)."""
    merged: Hours = {}
    folder = os.path.join(cache_dir, STATS_FOLDER)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(_SUFFIX))
    except OSError:
        return merged
    for name in names:
        try:
            add_hours(merged, _load(os.path.join(folder, name)))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # a file being removed, or not ours
    return merged


def _load(path: str) -> Hours:
    import json

    raw = json.loads(read_file(path))
    return {int(hour): _counts(counts) for hour, counts in raw["hours"].items()}


def _counts(raw: object) -> Counts:
    if not isinstance(raw, dict):
        raise TypeError("not a mapping")
    return {
        str(function): {str(k): int(v) for k, v in fields.items() if isinstance(v, int)}
        for function, fields in raw.items()
    }
