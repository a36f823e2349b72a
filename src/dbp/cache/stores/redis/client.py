"""Building redis-py clients with every time-out and retry spelled out.

[Intent]
redis-py's defaults change between versions (8.x: 5 s time-outs and 10 retries
with back-off; 6.x-7.x: no socket time-out at all). A cache tier must answer
within a small budget or not at all, so nothing here is left to a default.

[Design principles]
- URL schemes: ``redis://``, ``rediss://`` (TLS), ``unix://`` for one server;
  ``redis+cluster://`` and ``rediss+cluster://`` for Redis Cluster (the client
  discovers the other nodes from the one named). The password and user go in the
  URL (``redis://user:pass@host:6379/0``) or ``?password=``; messages and reprs
  never echo a credential (:func:`redact`).
- The whole URL, its options included, is checked when the cache is built
  (:func:`check_url`): redis-py itself only rejects an unknown option when it
  opens a connection, which would fail every call instead of the constructor.
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
from dataclasses import dataclass, field
from typing import Any

from .tls import TLSOptions

__all__ = [
    "OP_TIMEOUT",
    "BadRedisURL",
    "ClientOptions",
    "build_async",
    "build_sync",
    "check_url",
    "redact",
]

#: The current blocking operation's read time-out, when below the socket time-out.
OP_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "dbp_redis_op_timeout", default=None
)

_SINGLE = {"redis", "rediss", "unix"}
_CLUSTER = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
#: A query parameter whose name holds one of these carries a credential.
_SECRET_WORDS = ("password", "secret", "token")
#: Options redis-py accepts that would break the cache: it needs replies as bytes.
_REFUSED_OPTIONS = {"decode_responses": "the cache needs replies as bytes"}


class BadRedisURL(ValueError):
    """A Redis URL that can never work; the message names where it came from."""


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact(url: str) -> str:
    """``url`` without any credential, for messages and reprs.

    Hides the user info's password, and the value of every query parameter whose
    name holds ``password``, ``secret`` or ``token`` (``password``, ``ssl_password``,
    ``auth_token`` ...), however it is spelled or percent-encoded. A fragment is
    dropped; an unparsable URL is shown as ``<unparsable url>``.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if user else f"***@{host}"
    query = "&".join(
        f"{urllib.parse.quote(k)}=***"
        if _secret_name(k)
        else f"{urllib.parse.quote(k)}={urllib.parse.quote(v, safe='/:,')}"
        for k, v in pairs
    )
    if "://" not in url:
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or math.isnan(value):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ClientOptions:
    """Validated connection settings shared by the sync, async and pub/sub clients."""

    url: str = field(repr=False)  # as redis-py wants it (cluster scheme mapped back)
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
        cluster, native = _split_scheme(url, "redis url")
        if retries not in (0, 1) or isinstance(retries, bool):
            raise ValueError(f"redis retries must be 0 or 1, got {retries!r}")
        if credential_provider is not None and not callable(
            getattr(credential_provider, "get_credentials", None)
        ):
            raise TypeError(
                "redis_credential_provider must be a redis-py CredentialProvider "
                f"(with get_credentials()), not {credential_provider!r}"
            )
        options = cls(
            native,
            cluster,
            _positive("socket_timeout", socket_timeout),
            _positive("connect_timeout", connect_timeout),
            int(retries),
            _positive("health_check_interval", health_check_interval, allow_zero=True),
            TLSOptions.build(native, **(tls or {})),
            credential_provider,
        )
        _check_options(options, str(url), "redis url")
        return options

    def kwargs(self, *, socket_timeout: float | None = None) -> dict[str, Any]:
        """Keyword arguments for redis-py: every time-out explicit."""
        found: dict[str, Any] = {
            "socket_timeout": self.socket_timeout if socket_timeout is None else socket_timeout,
            "socket_connect_timeout": self.connect_timeout,
            "health_check_interval": self.health_check_interval,
            "protocol": 2,
        }
        if self.tls is None:
            # A TLS connection keeps redis-py's CLIENT SETINFO: its reply also reads the
            # TLS 1.3 session tickets the server sends after the handshake; left unread,
            # hiredis's parser sees "data" on the new connection and the pool refuses it
            # ("Connection not ready"), so with hiredis installed no rediss:// call worked.
            found.update(_NO_SETINFO)
        if not self.url.startswith("unix:"):  # a Unix socket connection takes no keepalive
            found["socket_keepalive"] = True
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


def _split_scheme(url: object, name: str) -> tuple[bool, str]:
    """(cluster?, the URL as redis-py wants it); a scheme we cannot use raises."""
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a str such as 'redis://host:6379/0', not {url!r}")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in _CLUSTER:
        return True, _CLUSTER[scheme] + url[len(scheme) :]
    if scheme in _SINGLE:
        return False, url
    raise BadRedisURL(
        f"{name} {redact(url)!r} must start with redis://, rediss://, unix://, "
        "redis+cluster:// or rediss+cluster://"
    )


def _check_options(options: ClientOptions, url: str, name: str) -> None:
    """Let redis-py parse the URL and build (not open) a connection from it, now.

    redis-py turns every query parameter into a connection argument and rejects an
    unknown one (``?auth_token=``, ``?ssl_password=`` without TLS) only when it
    connects: on every call, long after the cache was built.
    """
    from redis import ConnectionPool

    try:
        pool = ConnectionPool.from_url(options.url, **options.kwargs())
        pool.make_connection()
    except Exception as exc:  # nothing is opened here: any error is the URL's
        raise BadRedisURL(f"{name} {redact(url)!r} is not usable: {_explain(exc)}") from None
    for option, why in _REFUSED_OPTIONS.items():
        if option in pool.connection_kwargs:
            raise BadRedisURL(f"{name} {redact(url)!r}: option {option!r} is refused ({why})")


def _explain(exc: BaseException) -> str:
    """redis-py's complaint in a user's words (it never holds an option's value)."""
    text = str(exc)
    marker = "unexpected keyword argument "
    if marker in text:
        option = text.split(marker, 1)[1]
        hint = " (TLS options need rediss://)" if option.startswith("'ssl_") else ""
        return f"redis-py has no option {option} for this kind of connection{hint}"
    return text


def check_url(url: object, *, name: str) -> None:
    """Raise :class:`BadRedisURL` (or ``TypeError``) naming ``name`` if ``url`` cannot work.

    Checks the scheme and every option the way redis-py will use them when it
    connects (without connecting). Needs redis-py (``ImportError`` otherwise).
    """
    cluster, native = _split_scheme(url, name)
    _check_options(ClientOptions(native, cluster, 1.0, 1.0, 0, 0.0), str(url), name)


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
