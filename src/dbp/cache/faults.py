"""Warn once per fault condition, and say when it clears.

A full disk or a read-only home must not flood the log with one warning per
call, yet a fault that comes back after recovering deserves a new warning.
"""

from __future__ import annotations

import errno as _errno
import logging
import threading

__all__ = ["FaultLog"]


class FaultLog:
    """Tracks active fault conditions, keyed by (action, errno)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._lock = threading.Lock()
        self._active: set[tuple[str, int]] = set()

    def report(self, action: str, path: str, exc: BaseException, consequence: str) -> None:
        """Log ``exc`` at warning level the first time this condition is seen."""
        code = getattr(exc, "errno", None) or 0
        condition = (action, code)
        with self._lock:
            if condition in self._active:
                self._logger.debug("dbp cache: still cannot %s %s: %s", action, path, exc)
                return
            self._active.add(condition)
        name = _errno.errorcode.get(code, type(exc).__name__)
        self._logger.warning(
            "dbp cache: cannot %s %s (%s: %s); %s", action, path, name, exc, consequence
        )

    def recovered(self, action: str) -> None:
        """Forget the conditions of ``action`` after it succeeds again."""
        if not self._active:
            return
        with self._lock:
            cleared = {c for c in self._active if c[0] == action}
            self._active -= cleared
        if cleared:
            self._logger.info("dbp cache: %s works again", action)

    @property
    def active(self) -> frozenset[tuple[str, int]]:
        """Conditions currently reported (for ``cache info`` and tests)."""
        with self._lock:
            return frozenset(self._active)
