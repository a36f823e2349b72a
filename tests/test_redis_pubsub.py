"""Fleet-wide invalidation over pub/sub, with a real second process and a real restart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time


def run_other_process(url: str, code: str) -> float:
    """Run ``code`` with a RedisStore ``store`` in another process; when it published."""
    script = textwrap.dedent(
        f"""
        import logging, time
        from dbp.cache.clock import SYSTEM_CLOCK
        from dbp.cache.stores.redis import RedisStore
        store = RedisStore({url!r}, clock=SYSTEM_CLOCK, logger=logging.getLogger("x"),
                           default_ttl=60, data_version=lambda: 1, socket_timeout=1.0,
                           connect_timeout=1.0)
        store.get("warm-up")  # connect first: time only the publishing
        started = time.time()
        {code}
        print(started)
        store.close()
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


class Received:
    def __init__(self) -> None:
        self.events: list[tuple[str | None, str | None, float]] = []
        self.changed = threading.Condition()

    def __call__(self, cleared) -> None:
        with self.changed:
            self.events.append((cleared.key, cleared.owner, time.time()))
            self.changed.notify_all()

    def listening(self, store) -> object:
        """Subscribe; the first subscription of a process drops everything (no generation
        known yet, see test_fleet_generation.py): check that, then start afresh."""
        subscriber = store.listen(self)
        assert subscriber.subscribed.wait(5)
        assert [(k, o) for k, o, _ in self.events] == [(None, None)]
        self.events.clear()
        return subscriber

    def wait_for(self, count: int, timeout: float) -> list[tuple[str | None, str | None, float]]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)


def test_deletes_and_clears_reach_another_process_within_a_second(redis_server, make_redis_store):
    store = make_redis_store(redis_server.url)
    received = Received()
    received.listening(store)
    published = run_other_process(
        redis_server.url, "store.delete('models:us-east-1'); store.clear(owner='fn'); store.clear()"
    )
    events = received.wait_for(3, 5)
    assert [(k, o) for k, o, _ in events] == [
        ("models:us-east-1", None),
        (None, "fn"),
        (None, None),
    ]
    assert events[0][2] - published < 1.0


def test_own_messages_are_not_delivered(redis_server, make_redis_store):
    store = make_redis_store(redis_server.url)
    peer = make_redis_store(redis_server.url)
    received = Received()
    received.listening(store)
    store.delete("mine")
    peer.delete("theirs")
    events = received.wait_for(1, 5)
    time.sleep(0.1)
    assert [(k, o) for k, o, _ in received.events] == [("theirs", None)]
    assert events


def test_messages_need_the_secret_when_one_is_set(redis_server, make_redis_store):
    secret = "a-secret-of-enough-length"
    store = make_redis_store(redis_server.url, secret=secret)
    received = Received()
    received.listening(store)
    make_redis_store(redis_server.url).delete("forged")  # no secret: ignored
    make_redis_store(redis_server.url, secret=secret).delete("signed")
    events = received.wait_for(2, 5)
    time.sleep(0.1)
    # The unsigned delete's message is ignored; the generation it replaced in Redis
    # shows that a clear went unheard, so everything is dropped after "signed".
    assert [(k, o) for k, o, _ in events] == [("signed", None), (None, None)]


def test_a_gap_in_the_subscription_drops_everything(redis_server, make_redis_store):
    store = make_redis_store(redis_server.url)
    received = Received()
    subscriber = received.listening(store)
    redis_server.restart()  # messages published meanwhile would be lost
    events = received.wait_for(1, 5)
    assert [(k, o) for k, o, _ in events] == [(None, None)]
    assert subscriber.subscribed.wait(5)
    make_redis_store(redis_server.url).delete("after")
    assert [(k, o) for k, o, _ in received.wait_for(2, 5)][-1] == ("after", None)


def test_close_stops_the_subscriber_and_a_failing_callback_does_not(redis_server, make_redis_store):
    store = make_redis_store(redis_server.url)
    calls = []

    def callback(cleared):
        calls.append(cleared.key)
        raise RuntimeError("callback bug")

    subscriber = store.listen(callback)
    assert subscriber.subscribed.wait(5)
    peer = make_redis_store(redis_server.url)
    peer.delete("a")
    peer.delete("b")
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == [None, "a", "b"]  # None: the first subscription's drop
    store.close()
    assert not subscriber.alive
