"""What the sync and async halves of the Redis store share: every step that does not await.

Validation, key names, value packing (envelope + optional tag), script arguments,
decoding, and the fail-open guard's bookkeeping. :mod:`.store` adds the blocking
calls, :mod:`.aio` the asyncio ones.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from redis.exceptions import RedisClusterException, RedisError

from ... import codec, envelope
from ...budget import Allowance, allowance
from ...clock import Clock
from ...entry import Entry
from ...faults import FaultLog
from ...sentinel import MISS, Miss
from ..cleared import Cleared
from .breaker import CircuitBreaker
from .client import ClientOptions, redact
from .connection import text
from .generation import Follower
from .integrity import Signer, check_secret
from .keys import Namer
from .lease import Acquired, Busy, Fence, Taken
from .tls import explain

__all__ = [
    "FAILED",
    "REDIS_ERRORS",
    "SCAN_BATCH",
    "RedisCore",
    "RedisEntryInfo",
    "check_owner",
]

#: What a guarded call returns when Redis failed or the breaker is open.
FAILED: Any = object()
#: Everything redis-py raises for a fault of the server or the network.
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    RedisError,
    RedisClusterException,
    OSError,
    asyncio.TimeoutError,
)


class RedisEntryInfo(NamedTuple):
    """What ``scan`` tells about one Redis entry (``key`` None: corrupt, foreign or forged)."""

    key: str | None
    owner: str | None
    created: float
    expires: float
    stale_until: float
    size: int
    redis_key: str


class _UntrustedValue(Exception):
    """A value whose integrity tag is missing or wrong."""


def _number(name: str, value: object, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"RedisStore {name} must be a number of seconds, not {value!r}")
    if not value > minimum or math.isinf(value):
        raise ValueError(f"RedisStore {name} must be finite and > {minimum:g}, got {value!r}")
    return float(value)


class RedisCore:
    """Configuration and the pure steps of :class:`~.store.RedisStore`."""

    name = "redis"
    remote = True

    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        logger: logging.Logger,
        default_ttl: float,
        data_version: Callable[[], int | str],
        prefix: str = "dbp:",
        socket_timeout: float = 0.05,
        connect_timeout: float = 0.05,
        retries: int = 1,
        health_check_interval: float = 0.0,
        secret: str | bytes | None = None,
        lease_seconds: float = 30.0,
        budget: float | None = None,
        breaker_threshold: int = 2,
        breaker_backoff: float = 1.0,
        breaker_max_backoff: float = 30.0,
        ssl_ca_certs: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        credential_provider: object = None,
    ) -> None:
        self.options = ClientOptions.build(
            url,
            socket_timeout=socket_timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            health_check_interval=health_check_interval,
            tls={"ca_certs": ssl_ca_certs, "certfile": ssl_certfile, "keyfile": ssl_keyfile},
            credential_provider=credential_provider,
        )
        if not callable(data_version):
            raise TypeError(
                f"RedisStore data_version must be a callable returning the data version, "
                f"not {data_version!r}"
            )
        if not isinstance(logger, logging.Logger):
            raise TypeError(f"RedisStore logger must be a logging.Logger, not {logger!r}")
        self.url = redact(url)
        self.default_ttl = _number("default_ttl", default_ttl)
        self.lease_seconds = _number("lease_seconds", lease_seconds, 0.001)
        # One call's total wait on Redis: by default two socket time-outs (100 ms).
        self.budget = _number("budget", 2 * socket_timeout if budget is None else budget)
        self._clock = clock
        self._logger = logger
        self._data_version = data_version
        self.namer = Namer(prefix)
        self.prefix = prefix
        self.signer = Signer(check_secret(secret))
        self.breaker = CircuitBreaker(
            logger,
            what=f"Redis at {self.url}",
            threshold=breaker_threshold,
            backoff=breaker_backoff,
            max_backoff=breaker_max_backoff,
        )
        self.faults = FaultLog(logger)
        self.source = secrets.token_hex(8)  # this store's id in invalidation messages
        self._follower: Follower | None = None  # set by RedisStore.listen

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, prefix={self.prefix!r})"

    # -- health (the breaker's view of Redis; also the subscriber's) -------------
    def success(self) -> None:
        self.breaker.success()

    def failure(self, exc: BaseException) -> None:
        """A fault of Redis: a failed certificate check is named as such."""
        self.breaker.failure(explain(exc, self.options.tls))

    # -- the fail-open guard's bookkeeping (per call: :mod:`dbp.cache.budget`) --------
    def opening(self) -> Allowance | Literal[False] | None:
        """Before an operation: False to skip Redis, else this call's allowance (or None).

        Skipped: the breaker is open, or this call timed out on Redis or spent its budget.
        """
        budget = allowance(self, self.budget)
        if (budget is not None and budget.closed) or not self.breaker.allow():
            return False
        return budget

    def limit(self, budget: Allowance | None, charge: bool) -> float | None:
        """The operation's time-out when the budget left is below the socket time-out."""
        if budget is None or not charge or budget.left >= self.options.socket_timeout:
            return None
        return max(budget.left, 0.001)

    def closing(
        self, budget: Allowance | None, started: float, exc: BaseException | None, charge: bool
    ) -> None:
        """After an operation: charge its wait; after a fault the call skips Redis."""
        if exc is not None:
            if budget is not None:
                budget.closed = True
            self.failure(exc)
            return
        if budget is not None and charge:
            budget.charge(time.monotonic() - started)
        self.breaker.success()

    def data_version(self) -> envelope.DataVersion:
        return envelope.check_data_version(self._data_version())

    # -- values ------------------------------------------------------------
    def pack(self, key: str, entry: Entry, body: bytes | None) -> tuple[bytes, int] | None:
        """(stored value, PX ms) for ``entry``; None if it is already past its stale window.

        Raises ``TypeError``/``ValueError`` for an unstorable value (the caller's error).
        """
        if body is None:
            body = codec.encode(key, entry.value)
        elif not isinstance(body, bytes):
            raise TypeError(f"body for key {key!r} must be bytes from codec.encode, not {body!r}")
        end = entry.stale_until - self._clock.time()
        if math.isinf(end):
            end = self.default_ttl
        if not end > 0:
            return None
        record = envelope.encode(key, entry, body, self.data_version())
        return self.signer.sign(key, record), max(1, math.ceil(end * 1000))

    def unpack(self, key: str, raw: object, stale: bool) -> Entry | Miss:
        """The entry in ``raw`` if it is a trusted, sound, live record of ``key``; else MISS."""
        if not isinstance(raw, bytes):
            return MISS
        record = self.signer.verify(key, raw)
        if record is None:
            self.faults.report(
                "trust a value from",
                f"Redis at {self.url} (key {key!r})",
                _UntrustedValue("integrity tag missing or wrong"),
                "ignoring it; was it written without the secret, or planted?",
            )
            return MISS
        now = self._clock.time()
        try:
            entry = envelope.decode(key, record, now, self.data_version())
        except envelope.Corrupt as exc:
            self._logger.debug("dbp cache: ignoring Redis value for key %r: %s", key, exc)
            return MISS
        if (entry.stale_until if stale else entry.expires) <= now:
            return MISS
        return entry

    def write_call(
        self, key: str, packed: tuple[bytes, int], created: float, fence: object | None
    ) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of the write script."""
        if fence is not None and not isinstance(fence, Fence):
            raise TypeError(
                f"fence for key {key!r} must come from RedisStore.lock(), not {fence!r}"
            )
        names = self.namer.names(key)
        value, ms = packed
        token, gen, ogen, owner = fence[:4] if fence is not None else ("", "", "", None)
        owner_gen = self.namer.owner_generation(names.shard, owner)
        keys = [names.entry, names.lease, names.generation, owner_gen]
        args = [value, ms, repr(created), token, gen, ogen, self.signer.offset + 1]
        return keys, args

    @staticmethod
    def wrote(fence: object | None, result: object) -> None:
        """After a fenced write ran: its script released the lease (landed or not)."""
        if isinstance(fence, Fence) and result is not FAILED and fence.lease is not None:
            fence.lease.written()

    @staticmethod
    def fresh_generation() -> str:
        """A new random generation token (never a counter: an evicted one could repeat)."""
        return secrets.token_hex(16)

    # -- leases ------------------------------------------------------------
    def acquire_call(
        self, key: str, token: str, owner: str | None, ms: int, find: bool
    ) -> tuple[list[str], list[Any]]:
        names = self.namer.names(key)
        owner_gen = self.namer.owner_generation(names.shard, owner)
        keys = [names.lease, names.generation, owner_gen, names.lease + ":failed", names.entry]
        args = [
            token,
            ms,
            self.fresh_generation(),
            self.fresh_generation(),
            "0" if owner is None else "1",
            "1" if find else "0",
            repr(self._clock.time()),
            self.signer.offset + 1,
        ]
        return keys, args

    def acquire_result(self, key: str, reply: object) -> Acquired:
        """Taken (leased), Busy, a fresh entry found, or None (Redis unusable).

        A found value that is not a trusted, current record of ``key`` (another data
        version, say) is ``MISS``: the caller asks again without ``find``.
        """
        if reply is FAILED or not isinstance(reply, (list, tuple)):
            return None  # not what the script returns: treat Redis as unusable
        if len(reply) == 4:
            return self.unpack(key, reply[3], False)
        if len(reply) == 2 and reply[0] == 0:
            return Busy(text(reply[1]))
        if len(reply) != 3:
            return None
        return Taken(text(reply[0]), text(reply[1]), text(reply[2]))

    def release_call(
        self, key: str, token: str, failed: bool, ms: int
    ) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of the release script (``failed``: change the failure mark)."""
        lease = self.namer.names(key).lease
        mark = self.fresh_generation() if failed else ""
        return [lease, lease + ":failed"], [token, mark, ms]

    # -- listing -----------------------------------------------------------
    def info(self, redis_key: str, raw: object) -> RedisEntryInfo:
        """Facts from a stored value's header; ``key`` None if it is not a trusted record."""
        size = len(raw) if isinstance(raw, bytes) else 0
        broken = RedisEntryInfo(None, None, 0.0, 0.0, 0.0, size, redis_key)
        if not isinstance(raw, bytes):
            return broken
        record = memoryview(raw)[self.signer.offset :]
        newline = bytes(record[:4096]).find(b"\n")
        if newline < 0:
            return broken
        try:
            key, owner, created, expires, stale_until, length = envelope.parse_header(
                record[:newline], self.data_version()
            )
        except envelope.Corrupt:
            return broken
        if (
            self.namer.names(key).entry != redis_key
            or len(record) != newline + 1 + length
            or self.signer.verify(key, raw) is None
        ):
            return broken
        return RedisEntryInfo(key, owner, created, expires, stale_until, size, redis_key)

    def chosen(self, redis_keys: list[str], values: list[Any], cleared: Cleared) -> list[str]:
        """The keys among ``redis_keys`` whose trusted record ``cleared`` names (owner, glob)."""
        import fnmatch

        infos = map(self.info, redis_keys, values)
        return [
            i.redis_key
            for i in infos
            if i.key is not None
            and (cleared.owner is None or i.owner == cleared.owner)
            and (cleared.match is None or fnmatch.fnmatchcase(i.key, cleared.match))
        ]

    # -- clears reach every host (see .generation) ----------------------------------
    def generation_call(self) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of the generation scripts (read-or-create, and replace)."""
        return [self.namer.fleet_generation], [self.fresh_generation()]

    def sync_due(self) -> bool:
        """Whether the fleet generation must be checked (listening, and none checked yet)."""
        return self._follower is not None and self._follower.pending

    def synced(self, generation: object) -> bool:
        """Hand a generation read from Redis to the follower; False if the read failed."""
        if generation is FAILED or self._follower is None:
            return False
        self._follower.connected(text(generation))
        return True

    def announced(self, cleared: Cleared, replaced: object, generation: str) -> None:
        """Our own clear replaced ``replaced`` by ``generation``: keep our follower in step.

        The clearing cache dropped its own copies of ``cleared`` already.
        """
        if replaced is not FAILED and self._follower is not None:
            self._follower.cleared(
                cleared, None if replaced is None else text(replaced), generation, here=True
            )

    def message(self, cleared: Cleared, replaced: object, generation: str) -> bytes:
        from .invalidation import encode_message

        return encode_message(
            self.signer,
            self.namer.channel,
            self.source,
            cleared,
            None if replaced is None else text(replaced),
            generation,
        )


def check_owner(owner: object) -> str | None:
    if owner is not None and not isinstance(owner, str):
        raise TypeError(f"owner must be a str or None, not {owner!r}")
    return owner


SCAN_BATCH = 500
