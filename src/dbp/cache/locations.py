"""Where the cache lives by default; resolved when a cache is built, never at import."""

from __future__ import annotations

import os

__all__ = ["APP_NAME", "ENV_CACHE_DIR", "default_base_dir", "make_private_dirs"]

APP_NAME = "dbp"
#: Set this to move every default cache (e.g. to /tmp on AWS Lambda).
ENV_CACHE_DIR = "DBP_CACHE_DIR"


def default_base_dir() -> str:
    """``$DBP_CACHE_DIR`` if set, else the platform's user cache dir for ``dbp``."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return os.path.abspath(os.path.expanduser(override))
    import platformdirs

    return platformdirs.user_cache_dir(APP_NAME, appauthor=False)


def make_private_dirs(directory: str) -> None:
    """Create ``directory`` and missing parents as 0700, whatever the umask."""
    missing: list[str] = []
    path = directory
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            continue
        os.chmod(path, 0o700)
