"""Building redis-py clients with every time-out and retry spelled out.

[Intent]
redis-py's defaults change between versions (8.x: 5 s time-outs and 10 retries
with back-off; 6.x-7.x: no socket time-out at all). A cache tier must answer
within a small budget or not at all, so nothing here is left to a default.

[Design principles]
- URL schemes: ``redis://``, ``rediss://`` (TLS), ``unix://`` for one server;
  ``redis+cluster://`` and ``rediss+cluster://`` for Redis Cluster (the client
  discovers the other nodes from the one named). The password and user go in the
  URL (``redis://user:pass@host:6379/0``) or ``?password=``; errors never echo it.
- At most one retry, immediate, and only for a broken connection (a pooled socket
  the server closed, e.g. after a restart); a time-out is never retried, so a
  frozen server costs one ``socket_timeout``.
- Clients are built lazily (a cluster client connects when built) and never at
  import: importing :mod:`dbp.cache` does not import redis.
- A connection costs no round trip beyond its handshake: RESP2 without
  ``HELLO`` and no ``CLIENT SETINFO`` (a call's Redis budget pays for them).
- A blocking read waits at most :data:`OP_TIMEOUT` when set (the call's Redis
  budget left, when below the socket time-out): redis-py has no per-command
  time-out, so the connection classes set it on the socket for that read.
"""

from __future__ import annotations

import contextvars
import math
import urllib.parse
from dataclasses import dataclass
from typing import Any

from .tls import TLSOptions

__all__ = ["OP_TIMEOUT", "ClientOptions", "build_async", "build_sync", "redact"]

#: The current blocking operation's read time-out, when below the socket time-out.
OP_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "dbp_redis_op_timeout", default=None
)

_SINGLE = {"redis", "rediss", "unix"}
_CLUSTER = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if user else f"***@{host}"
    query = "&".join(
        f"{k}=***" if k.lower() == "password" else f"{k}={v}"
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or math.isnan(value):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ClientOptions:
    """Validated connection settings shared by the sync, async and pub/sub clients."""

    url: str  # as redis-py wants it (cluster scheme mapped back)
    cluster: bool
    socket_timeout: float
    connect_timeout: float
    retries: int
    health_check_interval: float
    tls: TLSOptions | None = None  # for rediss:// URLs
    credential_provider: Any = None  # a redis-py CredentialProvider (e.g. ElastiCache IAM)

    @classmethod
    def build(
        cls,
        url: object,
        *,
        socket_timeout: object,
        connect_timeout: object,
        retries: object,
        health_check_interval: object,
        tls: dict[str, object] | None = None,
        credential_provider: object = None,
    ) -> ClientOptions:
        if not isinstance(url, str):
            raise TypeError(f"redis url must be a str, not {type(url).__name__}")
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme in _CLUSTER:
            cluster, native = True, _CLUSTER[scheme] + url[len(scheme) :]
        elif scheme in _SINGLE:
            cluster, native = False, url
        else:
            raise ValueError(
                f"redis url {redact(url)!r} must start with redis://, rediss://, unix://, "
                "redis+cluster:// or rediss+cluster://"
            )
        if retries not in (0, 1) or isinstance(retries, bool):
            raise ValueError(f"redis retries must be 0 or 1, got {retries!r}")
        if credential_provider is not None and not callable(
            getattr(credential_provider, "get_credentials", None)
        ):
            raise TypeError(
                "redis_credential_provider must be a redis-py CredentialProvider "
                f"(with get_credentials()), not {credential_provider!r}"
            )
        return cls(
            native,
            cluster,
            _positive("socket_timeout", socket_timeout),
            _positive("connect_timeout", connect_timeout),
            int(retries),
            _positive("health_check_interval", health_check_interval, allow_zero=True),
            TLSOptions.build(native, **(tls or {})),
            credential_provider,
        )

    def kwargs(self, *, socket_timeout: float | None = None) -> dict[str, Any]:
        """Keyword arguments for redis-py: every time-out explicit."""
        found: dict[str, Any] = {
            "socket_timeout": self.socket_timeout if socket_timeout is None else socket_timeout,
            "socket_connect_timeout": self.connect_timeout,
            "health_check_interval": self.health_check_interval,
            "socket_keepalive": True,
            "protocol": 2,
            **_NO_SETINFO,
        }
        if self.tls is not None:
            found.update(self.tls.kwargs())
        if self.credential_provider is not None:
            found["credential_provider"] = self.credential_provider
        return found


def _no_setinfo() -> dict[str, Any]:
    """Keyword arguments that turn ``CLIENT SETINFO`` off, in this redis-py's terms."""
    try:
        import redis.driver_info  # noqa: F401  (redis-py 7.1+: lib_name is deprecated)
    except ImportError:
        return {"lib_name": None, "lib_version": None}
    return {"driver_info": None}


_NO_SETINFO = _no_setinfo()


def build_sync(options: ClientOptions, *, socket_timeout: float | None = None) -> Any:
    """A ``redis.Redis`` or ``redis.cluster.RedisCluster`` (the latter connects now)."""
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    retry = Retry(NoBackoff(), options.retries, supported_errors=(RedisConnectionError,))
    kwargs = options.kwargs(socket_timeout=socket_timeout)
    kwargs["connection_class"] = _bounded(options.url)
    kwargs["retry_on_error"] = [RedisConnectionError]  # redis-py 5.x retries only these
    if options.cluster:
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(options.url, retry=retry, **kwargs)
    return Redis.from_url(options.url, retry=retry, **kwargs)


def build_async(options: ClientOptions) -> Any:
    """The ``redis.asyncio`` twin of :func:`build_sync`, for the current event loop."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    retry = Retry(NoBackoff(), options.retries, supported_errors=(RedisConnectionError,))
    if options.cluster:
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(
            options.url, retry=retry, retry_on_error=[RedisConnectionError], **options.kwargs()
        )
    return Redis.from_url(
        options.url, retry=retry, retry_on_error=[RedisConnectionError], **options.kwargs()
    )


def _bounded(url: str) -> Any:
    """redis-py's connection class for ``url``, its reads bounded by :data:`OP_TIMEOUT`."""
    from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection

    scheme = url.split("://", 1)[0].lower()
    base = {"rediss": SSLConnection, "unix": UnixDomainSocketConnection}.get(scheme, Connection)
    return _BOUNDED.get(base) or _BOUNDED.setdefault(base, _make_bounded(base))


_BOUNDED: dict[type, type] = {}


def _make_bounded(base: type) -> type:
    class Bounded(base):  # type: ignore[misc]
        def read_response(self, *args: Any, **kwargs: Any) -> Any:
            limit = OP_TIMEOUT.get()
            sock = getattr(self, "_sock", None)
            if limit is None or sock is None:
                return super().read_response(*args, **kwargs)
            sock.settimeout(limit)
            try:
                return super().read_response(*args, **kwargs)
            finally:
                if self._sock is sock:  # (a failed read disconnects: no socket left)
                    sock.settimeout(self.socket_timeout)

    Bounded.__name__ = Bounded.__qualname__ = f"Bounded{base.__name__}"
    return Bounded
