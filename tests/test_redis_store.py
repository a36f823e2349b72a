"""The Redis store against a real redis-server: values, envelope checks, integrity, bad input."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys

import pytest

from dbp.cache import MISS, ManualClock
from dbp.cache.entry import Entry
from redis_server import LOGGER_NAME, RedisServer, command

SECRET = "0123456789abcdef-test-secret"


def entry(clock: ManualClock, value: object, *, ttl: float = 60, stale: float = 60, owner=None):
    now = clock.time()
    return Entry(value, now, now + ttl, now + ttl + stale, owner)


def raw_get(server: RedisServer, name: str) -> bytes:
    import redis

    return redis.Redis(port=server.port).get(name)


def raw_set(server: RedisServer, name: str, value: bytes) -> None:
    import redis

    redis.Redis(port=server.port).set(name, value)


def test_round_trip_keeps_types(redis_server, make_redis_store, clock):
    from dbp.cache.stores.contract import Store

    store = make_redis_store(redis_server.url)
    assert isinstance(store, Store) and store.name == "redis"
    value = {
        "when": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
        "day": dt.date(2024, 5, 1),
        "pair": (1, ("a", 2.5)),
        "items": [{"id": "m", "at": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)}],
        "none": None,
    }
    stored = entry(clock, value, owner="fn")
    assert store.set("models:us-east-1", stored) is True
    got = store.get("models:us-east-1")
    assert got == stored
    assert got.value == value
    assert type(got.value["pair"]) is tuple and type(got.value["pair"][1]) is tuple
    assert store.set("none", entry(clock, None)) is True
    assert store.get("none").value is None  # a cached None is a value, not a miss


def test_same_bytes_as_the_disk_envelope(redis_server, make_redis_store, clock):
    from dbp.cache import codec, envelope

    store = make_redis_store(redis_server.url, data_version=lambda: "v7")
    stored = entry(clock, [1, 2])
    store.set("k", stored)
    raw = raw_get(redis_server, store.namer.names("k").entry)
    assert raw == envelope.encode("k", stored, codec.encode("k", [1, 2]), "v7")


def test_fresh_stale_and_redis_expiry(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)
    store.set("k", entry(clock, "v", ttl=10, stale=20))
    pttl = int(command(redis_server.port, "PTTL", store.namer.names("k").entry)[1:].strip())
    assert 29_000 < pttl <= 30_000  # Redis's own expiry is the hard end (stale_until)
    clock.advance(15)
    assert store.get("k") is MISS
    assert store.get("k", stale=True).value == "v"
    clock.advance(20)
    assert store.get("k", stale=True) is MISS


def test_an_entry_past_its_stale_window_is_not_written(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)
    dead = Entry("v", clock.time() - 10, clock.time() - 5, clock.time() - 1)
    assert store.set("k", dead) is True
    assert command(redis_server.port, "EXISTS", store.namer.names("k").entry) == b":0\r\n"


def test_foreign_version_corrupt_and_other_key_are_misses(redis_server, make_redis_store, clock):
    old = make_redis_store(redis_server.url, data_version=lambda: 1)
    new = make_redis_store(redis_server.url, data_version=lambda: 2)
    old.set("k", entry(clock, "v1"))
    assert new.get("k") is MISS
    assert old.get("k").value == "v1"

    name = old.namer.names("other").entry
    raw_set(redis_server, name, raw_get(redis_server, old.namer.names("k").entry))
    assert old.get("other") is MISS  # a record of another key

    for garbage in (b"", b"not a record", b'{"v": 3}\nxx', b"\xff" * 40, b"[1]\n[]"):
        raw_set(redis_server, name, garbage)
        assert old.get("other") is MISS
    assert old.cleanup() == 1  # the corrupt one; the sound one stays
    assert old.get("k").value == "v1"


def test_tampered_or_unsigned_values_are_misses_with_one_warning(
    redis_server, make_redis_store, clock, caplog
):
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    plain = make_redis_store(redis_server.url)
    signed = make_redis_store(redis_server.url, secret=SECRET)
    signed.set("k", entry(clock, "good"))
    assert signed.get("k").value == "good"
    assert plain.get("k") is MISS  # a tag in front is not an envelope

    name = signed.namer.names("k").entry
    raw = bytearray(raw_get(redis_server, name))
    raw[-2] ^= 1  # flip one bit of the body
    raw_set(redis_server, name, bytes(raw))
    assert signed.get("k") is MISS
    plain.set("k2", entry(clock, "planted"))  # written by someone without the secret
    assert signed.get("k2") is MISS
    assert signed.get("k2") is MISS
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "integrity tag" in warnings[0].getMessage()


def test_a_signed_value_copied_to_another_key_is_a_miss(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url, secret=SECRET.encode())
    store.set("a", entry(clock, "A"))
    raw_set(
        redis_server,
        store.namer.names("b").entry,
        raw_get(redis_server, store.namer.names("a").entry),
    )
    assert store.get("b") is MISS


def test_wrong_password_warns_and_never_raises(tmp_path, make_redis_store, clock, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    server = RedisServer(tmp_path / "auth", None, "--requirepass", "right-password").start()
    try:
        store = make_redis_store(f"redis://:wrong@127.0.0.1:{server.port}/0")
        assert store.set("k", entry(clock, 1)) is False
        assert store.get("k") is MISS
        assert store.lock("k").acquire(1.0) is None  # at once: no waiting on a broken Redis
        assert store.delete("k") is False
        assert store.clear() == 0
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "wrong" not in warnings[0].replace("WRONGPASS", "")  # the password is not echoed
        good = make_redis_store(f"redis://:right-password@127.0.0.1:{server.port}/0")
        assert good.set("k", entry(clock, 1)) is True
    finally:
        server.close()


def test_delete_clear_by_owner_and_scan(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)
    other_prefix = make_redis_store(redis_server.url, prefix="other:")
    other_prefix.set("x", entry(clock, "kept"))
    for i in range(30):
        store.set(f"f:{i}", entry(clock, i, owner="f"))
    store.set("g:1", entry(clock, "g", owner="g"))
    store.set("plain", entry(clock, "p"))
    infos = {i.key: i for i in store.scan()}
    assert len(infos) == 32 and infos["g:1"].owner == "g" and infos["plain"].owner is None
    assert store.clear(owner="f") == 30
    assert sorted(i.key for i in store.scan()) == ["g:1", "plain"]
    assert store.delete("plain") is True
    assert store.delete("plain") is False
    assert store.clear() == 1
    assert list(store.scan()) == []
    assert other_prefix.get("x").value == "kept"  # another prefix is another cache


def test_bad_input_is_named(redis_server, make_redis_store, clock):
    store = make_redis_store(redis_server.url)
    with pytest.raises(TypeError, match="key 'k'"):
        store.set("k", entry(clock, {1, 2}))
    with pytest.raises(TypeError, match="fence"):
        store.set("k", entry(clock, 1), fence="token")
    with pytest.raises(TypeError, match="owner"):
        store.clear(owner=3)
    with pytest.raises(ValueError, match="prefix"):
        make_redis_store(redis_server.url, prefix="a{b}")
    with pytest.raises(ValueError, match="redis://"):
        make_redis_store("http://127.0.0.1:1/")
    with pytest.raises(ValueError, match="retries"):
        make_redis_store(redis_server.url, retries=5)
    with pytest.raises(ValueError, match="socket_timeout"):
        make_redis_store(redis_server.url, socket_timeout=0)
    with pytest.raises(ValueError, match="secret"):
        make_redis_store(redis_server.url, secret="short")
    with pytest.raises(TypeError, match="data_version"):
        make_redis_store(redis_server.url, data_version=1)
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        store.lock("k").acquire(-1)
    secret_url = "redis://user:hunter2hunter2@127.0.0.1:1/0"
    with pytest.raises(ValueError, match="must start with") as info:
        make_redis_store(secret_url.replace("redis://", "redis-x://"))
    assert "hunter2" not in str(info.value)


def test_importing_the_engine_does_not_import_redis():
    code = "import sys, dbp.cache, dbp.cache.stores.contract; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
