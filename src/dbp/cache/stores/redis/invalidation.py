"""Fleet-wide invalidation over pub/sub: other hosts drop their memory and disk copies.

[Intent]
``delete``, ``clear`` and glob clears on one host must reach the local tiers of
every other host, or they would keep serving what was removed until their own
TTLs end.

[Design principles]
- One channel, ``<prefix>invalidate``. A message is JSON ``{"src", "key", "owner",
  "match", "replaced", "gen"}`` (what was cleared, see
  :class:`~dbp.cache.stores.cleared.Cleared`; the fleet generation it replaced and
  the new one, see :mod:`.generation`), signed like the values when a secret is
  set; a message that fails its check is ignored (at worst it could only make
  hosts drop copies, never serve a wrong value).
- ``src`` is a random id per store, so a store ignores its own messages.
- Pub/sub is fire-and-forget: messages sent while a subscriber is disconnected
  are lost. So after every (re)subscription the subscriber reads the fleet
  generation and the :class:`~.generation.Follower` drops every local copy if it
  moved meanwhile (and only then).
- Delay bound: a message reaches subscribed hosts in well under a second; while
  a host cannot reach Redis it keeps serving its local copies, at most for their
  local TTL, and drops them when it reconnects (retries every <= 1 s) if a clear
  happened meanwhile.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from ..cleared import Cleared
from .generation import Follower
from .integrity import Signer

__all__ = ["Notice", "Subscriber", "decode_message", "encode_message"]

_POLL = 0.2
_MIN_RETRY, _MAX_RETRY = 0.05, 1.0


class Notice(NamedTuple):
    """A decoded message: who cleared what, and how the fleet generation moved."""

    source: str
    cleared: Cleared
    replaced: str | None
    generation: str | None  # None: from a writer that keeps no generation


def encode_message(
    signer: Signer,
    channel: str,
    source: str,
    cleared: Cleared,
    replaced: str | None,
    generation: str,
) -> bytes:
    import orjson

    fields = {"src": source, **cleared._asdict(), "replaced": replaced, "gen": generation}
    return signer.sign(channel, orjson.dumps(fields))


def decode_message(signer: Signer, channel: str, data: object) -> Notice | None:
    """The notice in a message, or None if it is not one of ours."""
    import orjson

    if not isinstance(data, bytes):
        return None
    record = signer.verify(channel, data)
    if record is None:
        return None
    try:
        fields = orjson.loads(record)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(fields, dict):
        return None
    source = fields.get("src")
    texts = [fields.get(name) for name in ("key", "owner", "match", "replaced", "gen")]
    if not isinstance(source, str) or not all(t is None or isinstance(t, str) for t in texts):
        return None
    key, owner, match, replaced, generation = texts
    return Notice(source, Cleared(key, owner, match), replaced, generation)


class Health(Protocol):
    """Where a connection reports how Redis is doing (the store's circuit breaker)."""

    def success(self) -> None: ...
    def failure(self, exc: BaseException) -> None: ...


class Subscriber:
    """A daemon thread that listens on the channel and re-subscribes after every loss.

    After each subscription it reads the fleet generation (``read_generation``, on
    a plain connection of the same client) and hands it to the follower: a clear
    published before the subscription changed it, one published after is heard.
    """

    def __init__(
        self,
        build_client: Callable[[], Any],
        read_generation: Callable[[Any], str],
        channel: str,
        source: str,
        signer: Signer,
        follower: Follower,
        logger: logging.Logger,
        health: Health,
    ) -> None:
        self._build, self._read_generation = build_client, read_generation
        self._channel, self._source = channel, source
        self._signer, self.follower, self._logger = signer, follower, logger
        # Its failures and recoveries are the store's: one warning per Redis outage.
        self._health = health
        self._stop = threading.Event()
        self.subscribed = threading.Event()  # set while subscribed (for tests and info)
        self._thread = threading.Thread(
            target=self._run, name=f"dbp-redis-invalidation:{channel}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        delay, failed = _MIN_RETRY, False
        while not self._stop.is_set():
            client: Any = None
            pubsub: Any = None
            try:
                client = self._build()
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self._channel)
                pubsub.get_message(timeout=_POLL)  # the confirmation: proves the subscription
                # Subscribed first, then read: no clear falls between the two.
                self.follower.connected(self._read_generation(client))
                self.subscribed.set()
                if failed:  # a working subscription (1 s time-out) says nothing about
                    # commands answering in 50 ms: it ends only an outage it reported
                    self._health.success()
                    failed = False
                delay = _MIN_RETRY
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=_POLL)
                    if message is not None and message.get("type") == "message":
                        self._handle(message.get("data"))
            except Exception as exc:  # redis errors and OSError: reconnect, never die
                self.subscribed.clear()
                self.follower.disconnected()
                failed = True
                self._health.failure(exc)  # other hosts' clears arrive after it reconnects
            finally:
                self.subscribed.clear()
                for closeable in (pubsub, client):
                    try:
                        if closeable is not None:
                            closeable.close()
                    except Exception:  # closing a broken connection
                        pass
            self._stop.wait(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _MAX_RETRY)

    def _handle(self, data: object) -> None:
        notice = decode_message(self._signer, self._channel, data)
        if notice is None:
            self._logger.debug("dbp cache: ignoring an invalid message on %s", self._channel)
            return
        if notice.source != self._source:
            self.follower.cleared(notice.cleared, notice.replaced, notice.generation)
