"""The process-wide default cache, used by ``@discovery_cached`` without ``cache=``.

Created on first use (so importing creates nothing). A layer above may register
what to build (the Bedrock layer registers its ``DiscoveryCache``).
"""

from __future__ import annotations

import _thread  # not threading: that costs about 3 ms at start-up

# typing.TYPE_CHECKING without importing typing (about 7 ms at start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .tiered import TieredCache

__all__ = ["default_cache", "set_default_cache", "set_default_factory"]


def _tiered_cache(**kwargs: Any) -> TieredCache:
    """Build a plain :class:`TieredCache` (imported here: importing this module stays cheap)."""
    from .tiered import TieredCache

    return TieredCache(**kwargs)


_default_lock = _thread.allocate_lock()
_default_factory: Callable[..., TieredCache] = _tiered_cache
_default: TieredCache | None = None


def default_cache() -> TieredCache:
    """The process-wide cache used by ``@discovery_cached`` without ``cache=``.

    Created on first use (so importing creates nothing) from ``$DBP_CACHE_DIR``
    or the platform cache folder.
    """
    global _default
    cache = _default
    if cache is None:
        with _default_lock:
            if _default is None:
                import logging

                from .fleet import env_options
                from .tiered import TieredCache

                # $DBP_REDIS_URL (and its TLS files): the fleet tier for the default
                # cache, if usable
                name = getattr(
                    _default_factory, "DEFAULT_LOGGER_NAME", TieredCache.DEFAULT_LOGGER_NAME
                )
                _default = _default_factory(**env_options(logging.getLogger(name)))
            cache = _default
    return cache


def set_default_cache(cache: TieredCache | None) -> None:
    """Replace the process-wide default cache (``None``: build a new one on next use)."""
    global _default
    with _default_lock:
        _default = cache


def set_default_factory(factory: Callable[..., TieredCache]) -> None:
    """What :func:`default_cache` builds on first use (a layer above may register a subclass)."""
    global _default_factory
    _default_factory = factory
