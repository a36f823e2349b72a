"""Judging an entry file by its header (and, when asked, its body) without serving it.

``scan``, ``cleanup``, clears and ``cache ls`` need to know whose a file is and
whether it can still be served; reading only the header line keeps that cheap.
``cache ls`` also checks that every body decodes, and ``cleanup`` those of files
up to :data:`CLEANUP_BODY_CHECK` bytes (a bigger garbled body is removed by the
``get`` that finds it), so a garbled body is listed as unreadable and removed.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from .. import codec, envelope
from ..envelope import Corrupt, DataVersion
from .files import READ_FLAGS

__all__ = ["CLEANUP_BODY_CHECK", "EntryFile", "peek"]

_HEADER_PEEK = 4096
#: ``cleanup`` checks the bodies of files up to this size (a typical entry).
CLEANUP_BODY_CHECK = 65536


class EntryFile(NamedTuple):
    """What ``scan`` learns from a header: enough to list, clear or clean up."""

    path: str
    size: int
    key: str | None  # None: unreadable, corrupt or of another version
    owner: str | None
    created: float
    expires: float
    stale_until: float
    inode: int = 0  # of the file read, so a replacement written since is not removed


def peek(path: str, data_version: DataVersion, *, bodies_up_to: float = 0) -> EntryFile:
    """Read the header line of ``path``; if it is at most ``bodies_up_to`` bytes long,
    check that its body decodes too.

    The result carries the inode of the file judged, so that removing it later
    cannot remove a newer file another process renamed into place meanwhile.
    """
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:  # unreadable, or a planted symlink: judged by its own entry
        try:
            inode = os.lstat(path).st_ino
        except OSError:
            inode = 0
        return EntryFile(path, 0, None, None, 0.0, 0.0, 0.0, inode)
    inode = 0
    try:
        status = os.fstat(fd)
        inode, size = status.st_ino, status.st_size
        broken = EntryFile(path, size, None, None, 0.0, 0.0, 0.0, inode)
        whole = size <= bodies_up_to
        chunk = os.read(fd, _HEADER_PEEK)
        head = bytearray(chunk)
        while (whole or b"\n" not in chunk) and chunk:
            chunk = os.read(fd, 65536)
            head += chunk
    except OSError:
        return EntryFile(path, 0, None, None, 0.0, 0.0, 0.0, inode)
    finally:
        os.close(fd)
    newline = head.find(b"\n")
    if newline < 0:
        return broken
    try:
        key, owner, created, expires, stale_until, length = envelope.parse_header(
            bytes(head[:newline]), data_version
        )
    except Corrupt:
        return broken
    if size != newline + 1 + length or (whole and not _body_decodes(head, newline)):
        return broken
    return broken._replace(
        key=key, owner=owner, created=created, expires=expires, stale_until=stale_until
    )


def _body_decodes(data: bytearray, newline: int) -> bool:
    """Whether the body after the header decodes (a newer version's types count as sound)."""
    try:
        codec.decode(memoryview(data)[newline + 1 :])
    except codec.NewerFormat:
        return True  # another version can read it: not ours to judge or remove
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False
    return True
