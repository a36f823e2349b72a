"""Fleet-wide invalidation over pub/sub: other hosts drop their memory and disk copies.

[Intent]
``delete`` and ``clear`` on one host must reach the local tiers of every other
host, or they would keep serving what was removed until their own TTLs end.

[Design principles]
- One channel, ``<prefix>invalidate``. A message is JSON ``{"src", "key", "owner"}``
  (``key`` and ``owner`` None: everything), signed like the values when a secret
  is set; a message that fails its check is ignored (at worst it could only make
  hosts drop copies, never serve a wrong value).
- ``src`` is a random id per store, so a store ignores its own messages.
- Pub/sub is fire-and-forget: messages sent while a subscriber is disconnected
  are lost. So after every gap (a lost connection, or a first connection that
  came late) the callback is told to drop everything: ``callback(None, None)``.
- Delay bound: a message reaches subscribed hosts in well under a second; while
  a host cannot reach Redis it keeps serving its local copies, at most for their
  local TTL, and drops them all when it reconnects (retries every <= 1 s).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any, Protocol

from .integrity import Signer

__all__ = ["Invalidation", "Subscriber", "decode_message", "encode_message"]

#: ``callback(key, owner)``: (key, None) one key, (None, owner) one owner, (None, None) all.
Invalidation = Callable[["str | None", "str | None"], None]

_POLL = 0.2
_MIN_RETRY, _MAX_RETRY = 0.05, 1.0


def encode_message(
    signer: Signer, channel: str, source: str, key: str | None, owner: str | None
) -> bytes:
    import orjson

    return signer.sign(channel, orjson.dumps({"src": source, "key": key, "owner": owner}))


def decode_message(
    signer: Signer, channel: str, data: object
) -> tuple[str, str | None, str | None] | None:
    """(source, key, owner) from a message, or None if it is not one of ours."""
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
    source, key, owner = fields.get("src"), fields.get("key"), fields.get("owner")
    if (
        not isinstance(source, str)
        or not (key is None or isinstance(key, str))
        or not (owner is None or isinstance(owner, str))
    ):
        return None
    return source, key, owner


class Health(Protocol):
    """Where a connection reports how Redis is doing (the store's circuit breaker)."""

    def success(self) -> None: ...
    def failure(self, exc: BaseException) -> None: ...


class Subscriber:
    """A daemon thread that listens on the channel and re-subscribes after every loss."""

    def __init__(
        self,
        build_client: Callable[[], Any],
        channel: str,
        source: str,
        signer: Signer,
        callback: Invalidation,
        logger: logging.Logger,
        health: Health,
    ) -> None:
        self._build, self._channel, self._source = build_client, channel, source
        self._signer, self._callback, self._logger = signer, callback, logger
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
        gap = False  # the first subscription follows no gap
        delay = _MIN_RETRY
        while not self._stop.is_set():
            client: Any = None
            pubsub: Any = None
            try:
                client = self._build()
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self._channel)
                pubsub.get_message(timeout=_POLL)  # the confirmation: proves the subscription
                self.subscribed.set()
                delay = _MIN_RETRY
                if gap:
                    # A working subscription (1 s time-out) says nothing about commands
                    # answering in 50 ms: it ends only an outage it reported itself.
                    self._health.success()
                    self._deliver(None, None)  # messages may have been missed meanwhile
                    gap = False
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=_POLL)
                    if message is not None and message.get("type") == "message":
                        self._handle(message.get("data"))
            except Exception as exc:  # redis errors and OSError: reconnect, never die
                gap = True
                self.subscribed.clear()
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
        decoded = decode_message(self._signer, self._channel, data)
        if decoded is None:
            self._logger.debug("dbp cache: ignoring an invalid message on %s", self._channel)
            return
        source, key, owner = decoded
        if source != self._source:
            self._deliver(key, owner)

    def _deliver(self, key: str | None, owner: str | None) -> None:
        try:
            self._callback(key, owner)
        except Exception:
            self._logger.exception("dbp cache: invalidation callback failed for key %r", key)
