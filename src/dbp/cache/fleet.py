"""The optional fleet tier: its options, and how it joins a tiered cache.

[Intent]
``TieredCache(redis_url=...)`` adds a shared Redis (Valkey, ElastiCache, Redis
Cluster) store after memory and disk, so a fleet of hosts computes each key once.
redis-py is imported only when a URL is given.

[Design principles]
- Every redis-py timeout and retry is set explicitly (its defaults changed
  between 6.x, 7.x and 8.x; 8.x retries 10 times with 5 s timeouts).
- Another host's ``cache_clear()``/``invalidate()`` arrives over pub/sub and drops
  this host's memory and disk copies; a fill in flight here does not write back
  (the cache's epoch moves), so a clear is never undone by a slow fill.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from .ttl import TTLArg, ttl_seconds

if TYPE_CHECKING:
    from .tiered import TieredCache

__all__ = ["ENV_REDIS_URL", "ENV_TLS", "FleetOptions", "connect_fleet", "env_options"]

#: The default cache and the CLI use this Redis URL when set.
ENV_REDIS_URL = "DBP_REDIS_URL"


class FleetOptions(NamedTuple):
    """How to reach and use the shared tier (checked when the cache is built)."""

    url: str
    prefix: str = "dbp:"
    ttl_seconds: float | None = None  # None: the disk tier's default lifetime
    socket_timeout: float = 0.05
    connect_timeout: float = 0.05
    secret: str | bytes | None = None
    lease_seconds: float = 30.0
    ssl_ca_certs: str | os.PathLike[str] | None = None
    ssl_certfile: str | os.PathLike[str] | None = None
    ssl_keyfile: str | os.PathLike[str] | None = None
    credential_provider: object = None
    budget: float | None = None  # one call's total Redis wait (None: 2 socket time-outs)

    @classmethod
    def of(
        cls,
        url: str | None,
        prefix: str,
        ttl: TTLArg,
        socket_timeout: float,
        connect_timeout: float,
        secret: str | bytes | None,
        lease_seconds: float,
        ssl_ca_certs: str | os.PathLike[str] | None = None,
        ssl_certfile: str | os.PathLike[str] | None = None,
        ssl_keyfile: str | os.PathLike[str] | None = None,
        credential_provider: object = None,
        budget: float | None = None,
    ) -> FleetOptions | None:
        """The options, or ``None`` without a URL; bad values raise naming them."""
        if url is None or url == "":
            return None
        if not isinstance(url, str):
            raise TypeError(f"redis_url must be a str such as 'redis://host:6379/0', not {url!r}")
        seconds = None if ttl is None else ttl_seconds(ttl, "redis_ttl_seconds", default=0)
        for name, value in (
            ("redis_socket_timeout", socket_timeout),
            ("redis_connect_timeout", connect_timeout),
            ("redis_lease_seconds", lease_seconds),
            *((("redis_budget", budget),) if budget is not None else ()),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
        return cls(
            url, prefix, seconds, socket_timeout, connect_timeout, secret, lease_seconds,
            ssl_ca_certs, ssl_certfile, ssl_keyfile, credential_provider, budget,
        )  # fmt: skip

    @staticmethod
    def lifetime(options: FleetOptions | None, default_days: float) -> float:
        """The Redis tier's lifetime in seconds (default: the disk tier's default)."""
        if options is None or options.ttl_seconds is None:
            return default_days * 86_400.0
        return options.ttl_seconds


def default_url() -> str | None:
    """``$DBP_REDIS_URL`` if set (for the default cache and the CLI)."""
    return os.environ.get(ENV_REDIS_URL) or None


#: TLS files from the environment: ``TieredCache`` option -> variable.
ENV_TLS = {
    "redis_ssl_ca_certs": "DBP_REDIS_SSL_CA_CERTS",
    "redis_ssl_certfile": "DBP_REDIS_SSL_CERTFILE",
    "redis_ssl_keyfile": "DBP_REDIS_SSL_KEYFILE",
}


def env_options() -> dict[str, Any]:
    """The fleet options set in the environment (``$DBP_REDIS_URL``, the TLS files)."""
    url = default_url()
    if url is None:
        return {}
    found: dict[str, Any] = {"redis_url": url}
    for option, variable in ENV_TLS.items():
        if os.environ.get(variable):
            found[option] = os.environ[variable]
    return found


def connect_fleet(cache: TieredCache, options: FleetOptions) -> Any:
    """Build the Redis store for ``cache`` and subscribe it to other hosts' clears."""
    try:
        from .stores.redis import RedisStore
    except ImportError as exc:  # redis-py missing: say how to get it
        raise ImportError(
            "redis_url needs redis-py: pip install 'dbp-discovery-cache[redis]'"
        ) from exc
    store = RedisStore(
        options.url,
        clock=cache.clock,
        logger=cache.logger,
        default_ttl=cache.disk_ttl_seconds or 3 * 86_400.0,
        data_version=cache.data_version,
        prefix=options.prefix,
        socket_timeout=options.socket_timeout,
        connect_timeout=options.connect_timeout,
        secret=options.secret,
        lease_seconds=options.lease_seconds,
        ssl_ca_certs=options.ssl_ca_certs,
        ssl_certfile=options.ssl_certfile,
        ssl_keyfile=options.ssl_keyfile,
        credential_provider=options.credential_provider,
        budget=options.budget,
    )
    store.listen(cache.drop_local)
    return store
