"""Warn once per fault condition, and say when it clears.

A full disk or a read-only home must not flood the log with one warning per
call, yet a fault that comes back after recovering deserves a new warning.
"""

from __future__ import annotations

import errno as _errno
import logging
import threading

__all__ = ["FOLDER", "FaultLog", "OnceLog", "folder_unusable"]

#: The condition of a cache folder that can't be used at all (one warning for it).
FOLDER = "use cache folder"
_FOLDER_ERRNOS = frozenset((_errno.ENOTDIR,))


def folder_unusable(exc: BaseException) -> bool:
    """An error that says the folder itself is unusable, not one file (ENOTDIR ...)."""
    return getattr(exc, "errno", None) in _FOLDER_ERRNOS


class FaultLog:
    """Tracks active fault conditions, keyed by (action, errno)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._lock = threading.Lock()
        self._active: set[tuple[str, int]] = set()

    def report(
        self,
        action: str,
        path: str,
        exc: BaseException,
        consequence: str,
        *,
        by_errno: bool = True,
        detail: str | None = None,
    ) -> None:
        """Log ``exc`` at warning level the first time this condition is seen.

        A condition is the action and the error number (``by_errno=False``: the
        action alone, whatever the error). ``detail`` replaces the exception's text.
        """
        code = (getattr(exc, "errno", None) or 0) if by_errno else 0
        condition = (action, code)
        with self._lock:
            if condition in self._active:
                self._logger.debug("dbp cache: still cannot %s %s: %s", action, path, exc)
                return
            self._active.add(condition)
        number = getattr(exc, "errno", None) or 0
        name = _errno.errorcode.get(number, type(exc).__name__)
        self._logger.warning(
            "dbp cache: cannot %s %s (%s: %s); %s",
            action,
            path,
            name,
            exc if detail is None else detail,
            consequence,
        )

    def report_folder(self, folder: str, exc: BaseException) -> None:
        """One warning for an unusable cache folder, naming it and what to do."""
        self.report(
            FOLDER,
            folder,
            exc,
            "keeping results in memory only until it works; set DBP_CACHE_DIR to a "
            "writable folder to keep them on disk",
            by_errno=False,
            detail=getattr(exc, "strerror", None) or str(exc),  # the folder, not a file in it
        )

    def recovered(self, *actions: str) -> None:
        """Forget the conditions of ``actions`` after they succeed again."""
        if not self._active:  # the usual case, on every disk hit: no lock, no loop
            return
        for action in actions:
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


class OnceLog:
    """Warn the first time per subject, then log at debug level (not a flood)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def log(self, subject: str, message: str, *args: object) -> None:
        with self._lock:
            first = subject not in self._seen
            self._seen.add(subject)
        if first:
            self._logger.warning(message + "; further ones are logged at debug level", *args)
        else:
            self._logger.debug(message, *args)
