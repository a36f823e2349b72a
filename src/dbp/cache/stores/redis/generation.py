"""The fleet's clear generation: how a host that missed a clear finds out.

[Intent]
Pub/sub reaches only the hosts listening at that moment. A host that was down,
stopped or cut off from Redis during a clear must still never serve, once it
reaches Redis again, a local copy written before that clear: a CLI run, a cron
job or a restarted service would otherwise answer from its disk for days.

[Design principles]
- Redis holds one generation per prefix, a random token (never a counter: an
  evicted or restarted counter would start again and match an old host's). Every
  clear, delete and glob clear replaces it and announces (what it cleared, the
  token it replaced, the new one) over pub/sub.
- A host remembers the token its local copies are consistent with: in memory,
  and for its disk tier in a marker file beside the entries. When it starts or
  reconnects it reads the token (one round trip, :meth:`Follower.connected`):
  another token means it missed something, and it drops every local copy.
- A message whose replaced token is not the one the host knows means a message
  was missed (or reordered, or Redis lost the token): everything is dropped.
- Redis restarted empty, or the token evicted: the next reader creates a new
  random token, which matches no host, so every host drops its copies once.
  Dropping too much costs a Redis read per key; keeping too much would serve a
  wrong value.
- Cost: no Redis call on any hit. One read per process start (on the first disk
  read or write, :meth:`.store.RedisStore.sync`) and per (re)subscription.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from ..cleared import EVERYTHING, Cleared

__all__ = ["Drop", "Follower", "Marker"]

#: ``drop(cleared)``: remove what ``cleared`` names from this host's local tiers.
Drop = Callable[[Cleared], None]


class Marker(Protocol):
    """Where a host keeps the generation its disk copies are consistent with."""

    def read(self) -> str | None: ...
    def write(self, generation: str) -> None: ...


class Follower:
    """Which generation this process's local copies are consistent with (thread-safe)."""

    def __init__(self, drop: Drop, marker: Marker | None, logger: logging.Logger) -> None:
        self._drop, self._marker, self._logger = drop, marker, logger
        self._lock = threading.Lock()
        self._known: str | None = None
        self._loaded = False  # the marker is read once, at the first event
        #: True until a check against Redis succeeded, and again after a lost connection.
        self.pending = True

    def connected(self, generation: str) -> None:
        """Redis says the generation is ``generation`` now: drop everything if it moved."""
        with self._lock:
            dropped = True
            if self._current() != generation:
                self._logger.debug("dbp cache: missed a fleet clear; dropping local copies")
                dropped = self._deliver(EVERYTHING)
            self._settle(generation if dropped else None)
            self.pending = False

    def cleared(
        self, cleared: Cleared, replaced: str | None, generation: str | None, *, here: bool = False
    ) -> None:
        """A clear happened: drop what it names (unless ``here``: the clearing cache did).

        If it did not replace the generation we know, we missed one: drop everything.
        """
        with self._lock:
            dropped = here or self._deliver(cleared)
            missed = replaced is None or replaced != self._current()
            if dropped and missed and cleared != EVERYTHING:
                dropped = self._deliver(EVERYTHING)
            self._settle(generation if dropped else None)

    def disconnected(self) -> None:
        """The subscription was lost: messages may be missed until the next check."""
        self.pending = True

    @property
    def known(self) -> str | None:
        with self._lock:
            return self._current()

    def _current(self) -> str | None:
        if not self._loaded:
            self._known = self._marker.read() if self._marker is not None else None
            self._loaded = True
        return self._known

    def _settle(self, generation: str | None) -> None:
        """Remember ``generation`` (None: none is trusted, the next check drops everything)."""
        if generation == self._known:
            return
        self._known = generation
        if self._marker is not None:
            self._marker.write(generation or "")  # "" matches no generation

    def _deliver(self, cleared: Cleared) -> bool:
        """Drop ``cleared`` locally; False if that failed (then no generation is trusted)."""
        try:
            self._drop(cleared)
        except Exception:
            self._logger.exception("dbp cache: dropping local copies failed for %r", cleared)
            return False
        return True
