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
- A host that was away during a clear finds out from the fleet generation
  (:mod:`.stores.redis.generation`): the generation its disk copies are consistent
  with is kept in a marker file beside them, checked against Redis once, before
  the first disk read or write of a process, and after every reconnection.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from .ttl import TTLArg, ttl_seconds

if TYPE_CHECKING:
    from .tiered import TieredCache

__all__ = [
    "ENV_REDIS_URL",
    "ENV_TLS",
    "FleetOptions",
    "check_fleet_url",
    "connect_fleet",
    "env_options",
    "url_from_environment",
]

#: The default cache and the CLI use this Redis URL when set.
ENV_REDIS_URL = "DBP_REDIS_URL"
#: How to get redis-py, in every message that needs it.
INSTALL_HINT = "pip install 'dbp-discovery-cache[redis]'"
_warned_env_urls: set[str] = set()


def check_fleet_url(url: object, name: str) -> None:
    """Raise, naming ``name`` (``redis_url``, ``DBP_REDIS_URL``), unless ``url`` can work.

    ``ImportError`` with the fix when redis-py is missing; ``BadRedisURL`` (a
    ``ValueError``) for a scheme or an option redis-py would refuse when connecting.
    """
    try:
        from .stores.redis.client import check_url
    except ImportError as exc:  # redis-py missing: say how to get it
        raise ImportError(f"{name} needs redis-py: {INSTALL_HINT}") from exc
    check_url(url, name=name)


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
        check_fleet_url(url, "redis_url")  # the whole URL, options included, now
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


def url_from_environment(logger: logging.Logger) -> str | None:
    """``$DBP_REDIS_URL`` if set and usable (for the default cache and the CLI).

    A configuration error in the environment must not break calls that work
    without the fleet tier: an unusable URL (or a missing redis-py) is warned
    about once, naming the variable and the fix, and the cache runs without it.
    """
    url = os.environ.get(ENV_REDIS_URL) or None
    if url is None:
        return None
    try:
        check_fleet_url(url, ENV_REDIS_URL)
    except (ImportError, ValueError) as exc:
        if url not in _warned_env_urls:
            _warned_env_urls.add(url)
            logger.warning(
                "dbp cache: %s; running without the Redis tier (fix or unset %s)",
                exc,
                ENV_REDIS_URL,
            )
        return None
    return url


class GenerationFile:
    """The fleet generation a host's disk copies are consistent with, in one small file.

    Named after the server and prefix (another Redis is another fleet). A file that
    cannot be read is no generation (the next check drops the copies); one that
    cannot be written is skipped with a debug line (the same, one start later).
    """

    def __init__(self, directory: str, fleet: str, logger: logging.Logger) -> None:
        digest = hashlib.blake2b(fleet.encode(), digest_size=8).hexdigest()
        self.directory = directory
        self.path = os.path.join(directory, f".fleet-generation-{digest}")
        self._logger = logger

    def read(self) -> str | None:
        try:
            with open(self.path, encoding="ascii") as f:
                return f.read(256).strip() or None
        except (OSError, ValueError):
            return None

    def write(self, generation: str) -> None:
        from .locations import make_private_dirs
        from .stores.files import CREATE_FLAGS, unlink_quietly

        temp = f"{self.path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            make_private_dirs(self.directory)
            fd = os.open(temp, CREATE_FLAGS, 0o600)
            try:
                os.write(fd, generation.encode("ascii"))
            finally:
                os.close(fd)
            os.replace(temp, self.path)
        except OSError as exc:
            self._logger.debug("dbp cache: cannot record the fleet generation: %s", exc)
            unlink_quietly(temp)


#: TLS files from the environment: ``TieredCache`` option -> variable.
ENV_TLS = {
    "redis_ssl_ca_certs": "DBP_REDIS_SSL_CA_CERTS",
    "redis_ssl_certfile": "DBP_REDIS_SSL_CERTFILE",
    "redis_ssl_keyfile": "DBP_REDIS_SSL_KEYFILE",
}


def env_options(logger: logging.Logger, url: str | None = None) -> dict[str, Any]:
    """The fleet options set in the environment (``$DBP_REDIS_URL``, the TLS files).

    ``url``: one given otherwise (the CLI's ``--redis-url``), with the environment's
    TLS files. As for the URL, a TLS file that is not there is warned about once,
    naming the variable, and the cache runs without the Redis tier, never failing calls.
    """
    url = url or url_from_environment(logger)
    if url is None:
        return {}
    found: dict[str, Any] = {"redis_url": url}
    for option, variable in ENV_TLS.items():
        path = os.environ.get(variable)
        if not path:
            continue
        if not os.path.isfile(path):
            if path not in _warned_env_urls:
                _warned_env_urls.add(path)
                logger.warning(
                    "dbp cache: %s=%r is not a readable file; running without the Redis tier",
                    variable,
                    path,
                )
            return {}
        found[option] = path
    return found


def connect_fleet(cache: TieredCache, options: FleetOptions) -> Any:
    """Build the Redis store for ``cache`` and keep its local tiers in step with the fleet."""
    from .stores.redis import RedisStore  # importable: FleetOptions.of checked

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
    marker = (
        GenerationFile(cache.cache_dir, f"{store.url} {store.prefix}", cache.logger)
        if cache.disk_ttl_seconds > 0
        else None  # no files: nothing outlives the process
    )
    store.listen(cache.drop_local, marker)
    cache.disk.before_use = store.sync  # a no-op once a check has succeeded
    return store
